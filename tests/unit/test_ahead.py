"""Reading the original while the model answers: when the work starts and how the verdict
meets it (`engine.ahead`), and that what it leaves in the caches is the original's own and
changes nothing the checks decide (`pipeline.checks.context.read_original`)."""

from __future__ import annotations

import ast
import asyncio
import threading
import time

import pytest

import ladder_lsp.engine.verdict as verdict_module
from ladder_lsp.analysis.python import findings, names, parse, surface
from ladder_lsp.analysis.text import split_lines
from ladder_lsp.backends.base import Completion, StreamEvent, Tier, Usage
from ladder_lsp.engine.actions import find_action
from ladder_lsp.engine.ahead import Ahead, EarlyVerdict
from ladder_lsp.engine.run_types import RunInput
from ladder_lsp.engine.verdict import Verdict
from ladder_lsp.pipeline.checks.context import CheckContext, read_original
from ladder_lsp.pipeline.checks.runner import run_checks
from ladder_lsp.pipeline.target import Target, make_target
from ladder_lsp.settings import parse_settings

DOC = """\
import os
import sys


def total(items):
    t = 0
    for i in items:
        t = t + i
    return t


def where():
    return os.getcwd()
"""


def target(doc: str = DOC, version: int = 1) -> Target:
    lines = split_lines(doc)
    start = lines.index("def total(items):\n")
    return make_target("file:///p/m.py", version, lines, (start, 0), (start + 5, 0))


def verdict(t: Target, new_block: str) -> list[str]:
    new_doc = "".join((*t.lines[: t.start_line], new_block, *t.lines[t.end_line :]))
    return run_checks(CheckContext("refactor", "python", t.text, new_doc, t.block_text, new_block))


def forget() -> None:
    parse._parse_small.cache_clear()
    parse.compile_error.cache_clear()
    findings.pyflakes_findings.cache_clear()
    surface.flow.cache_clear()
    names.loaded_names.cache_clear()


async def test_the_work_starts_on_the_first_token_and_only_once() -> None:
    calls: list[int] = []
    ahead = Ahead(lambda: calls.append(1), in_thread=False)
    seen: list[StreamEvent] = []
    on_event = ahead.around(seen.append)
    on_event(StreamEvent(status="waiting for the model"))
    await asyncio.sleep(0)
    assert calls == []  # the request may not be sent yet
    on_event(StreamEvent(reasoning="hm"))
    on_event(StreamEvent(text="x"))
    await asyncio.sleep(0)
    assert calls == [1]
    assert len(seen) == 3  # every event still reaches the meter


async def test_work_not_begun_when_the_stream_ends_is_left_to_the_verdict() -> None:
    calls: list[int] = []
    ahead = Ahead(lambda: calls.append(1), in_thread=False)
    ahead.around(lambda _e: None)(StreamEvent(text="all at once"))
    await ahead.settle()
    await asyncio.sleep(0)
    assert calls == []


async def test_a_thread_still_reading_is_waited_for() -> None:
    calls: list[int] = []

    def slow() -> None:
        time.sleep(0.05)
        calls.append(1)

    ahead = Ahead(slow, in_thread=True)
    ahead.start()
    assert not ahead.read
    await ahead.settle()
    assert calls == [1] and ahead.read


async def test_read_says_whether_the_work_ran_to_its_end() -> None:
    on_loop = Ahead(lambda: None, in_thread=False)
    on_loop.start()
    assert not on_loop.read  # scheduled, not run
    await asyncio.sleep(0)
    await on_loop.settle()
    assert on_loop.read
    dropped = Ahead(lambda: None, in_thread=False)
    dropped.start()
    await dropped.settle()  # before it began: the verdict does the work itself
    await asyncio.sleep(0)
    assert not dropped.read


BIG = DOC + "".join(f"\n\ndef filler_{i}(x):\n    return x + {i}\n" for i in range(4000))


async def test_a_big_files_checks_stay_on_the_loop_only_when_it_was_read_ahead(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Read ahead, what is left is the answer's own work; cold, the file is read in a thread
    so listing keeps answering."""
    where: list[str] = []

    def spying(ctx: CheckContext) -> list[str]:
        where.append(threading.current_thread().name)
        return run_checks(ctx)

    monkeypatch.setattr(verdict_module, "run_checks", spying)
    t = target(BIG)
    assert len(t.text) > verdict_module.OFFLOAD_CHARS
    settings, _ = parse_settings({})
    inp = RunInput(
        spec=find_action("refactor", settings), target=t, language="python", path="/p/m.py"
    )
    answer = finished("```python\ndef total(items):\n    return sum(items)\n```")
    for read_ahead in (False, True):
        forget()
        if read_ahead:
            read_original(t, "python")
        got = await verdict_module.judge(
            inp, Tier.LOCAL, answer, settings.checks, read_ahead=read_ahead
        )
        assert got.outcome is not None and got.outcome.status == "edit", got
    loop_thread = threading.current_thread().name
    assert where[0] != loop_thread and where[1] == loop_thread, where


def test_the_checks_reuse_what_was_read_ahead() -> None:
    forget()
    t = target()
    read_original(t, "python")
    before = findings.pyflakes_findings.cache_info()
    verdict(t, "def total(items):\n    return sum(items)\n")
    after = findings.pyflakes_findings.cache_info()
    assert after.misses - before.misses == 1  # the new unit only
    assert after.hits > before.hits
    assert surface.flow.cache_info().hits >= 1  # the original `total`, walked ahead
    assert names.loaded_names.cache_info().hits >= 1


def test_a_function_parsed_again_is_walked_again() -> None:
    """`flow` is cached by node: a new version's tree is new nodes, read afresh."""
    forget()
    first = parse.parse("def f():\n    return 1\n")
    assert first is not None
    node = first.body[0]
    assert isinstance(node, ast.FunctionDef)
    assert surface.flow(node) is surface.flow(node)
    parse._parse_small.cache_clear()
    second = parse.parse("def f():\n    yield 1\n")
    assert second is not None and isinstance(second.body[0], ast.FunctionDef)
    assert surface.flow(second.body[0]).generator and not surface.flow(node).generator


def test_reading_ahead_changes_no_verdict() -> None:
    answers = [
        "def total(items):\n    return sum(items)\n",
        "def total(items):\n    return sum(items\n",  # a syntax error
        "def total(items):\n    return sys.maxsize\n",
        "def total(things):\n    return sum(things)\n",  # a renamed parameter
    ]
    for answer in answers:
        forget()
        cold = verdict(target(), answer)
        forget()
        read_original(target(), "python")
        assert verdict(target(), answer) == cold, answer


def test_a_new_version_of_the_document_is_read_afresh() -> None:
    """The caches hold texts, not versions: the next version's original is its own."""
    forget()
    read_original(target(), "python")
    second = DOC.replace("import sys\n", "")  # `sys` is no longer imported
    answer = "def total(items):\n    return sys.maxsize\n"
    read_original(target(second, version=2), "python")
    assert verdict(target(second, version=2), answer) == ["new undefined name `sys`"]
    assert verdict(target(), answer) == []  # with `import sys` the name is defined


def test_other_languages_are_not_read() -> None:
    forget()
    read_original(target(), "rust")
    assert findings.pyflakes_findings.cache_info().currsize == 0


# -- the early verdict ------------------------------------------------------------------------


class Judge:
    """Records what it was asked to judge; the verdict names the text it judged."""

    def __init__(self) -> None:
        self.judged: list[Completion] = []

    async def __call__(self, completion: Completion) -> Verdict:
        self.judged.append(completion)
        return Verdict(None, f"judged {completion.text!r}")


def stream(early: EarlyVerdict, *pieces: str | StreamEvent) -> None:
    on_event = early.around(lambda _event: None)
    for piece in pieces:
        on_event(piece if isinstance(piece, StreamEvent) else StreamEvent(text=piece))


def finished(text: str, finish: str = "stop", model: str = "m") -> Completion:
    return Completion(text=text, finish_reason=finish, model=model, usage=Usage())


ANSWER = ["Here:\n``", "`python\ndef f():\n", "    return 1\n``", "`"]


async def test_an_answer_is_judged_at_its_closing_fence_and_that_verdict_is_taken() -> None:
    judge = Judge()
    early = EarlyVerdict(judge, "m", active=True)
    stream(early, *ANSWER[:-1])
    await asyncio.sleep(0)
    assert judge.judged == [], "the code is not complete before the closing fence"
    stream(early, ANSWER[-1])
    await asyncio.sleep(0)
    assert [c.text for c in judge.judged] == ["".join(ANSWER)]
    verdict = await early.take(finished("".join(ANSWER)))
    assert verdict is not None and verdict.failure == f"judged {''.join(ANSWER)!r}"
    assert len(judge.judged) == 1, "not judged again"


async def test_an_early_verdict_on_another_answer_than_the_finished_one_is_dropped() -> None:
    """More text after the fence, a cut-off, another model: judged at the end."""
    text = "".join(ANSWER)
    for pieces, final in [
        ((*ANSWER, "\nIt returns 1."), finished(text + "\nIt returns 1.")),
        (ANSWER, finished(text, finish="length")),
        (ANSWER, finished(text, model="other")),
    ]:
        judge = Judge()
        early = EarlyVerdict(judge, "m", active=True)
        stream(early, *pieces)
        await asyncio.sleep(0)
        assert await early.take(final) is None, final


async def test_an_answer_restarted_on_another_server_is_judged_from_its_new_start() -> None:
    judge = Judge()
    early = EarlyVerdict(judge, "m", active=True)
    again = "```python\nx = 1\n```"
    stream(early, *ANSWER, StreamEvent(restart=True), again)
    await asyncio.sleep(0)
    verdict = await early.take(finished(again))
    assert verdict is not None and verdict.failure == f"judged {again!r}"


async def test_no_early_verdict_for_actions_that_do_not_edit_code() -> None:
    judge = Judge()
    early = EarlyVerdict(judge, "m", active=False)
    stream(early, *ANSWER)
    await asyncio.sleep(0)
    assert judge.judged == [] and await early.take(finished("".join(ANSWER))) is None
