"""Ladder against a real llama.cpp server running a real (tiny) model.

SmolLM2-135M is often wrong, so these tests assert Ladder's invariants, not the model's
wisdom: every run ends either with one applied edit whose document still parses and that
changed only lines of the target, or with no edit and exactly one clear warning. Never broken
code, never a partial edit. What the model did and what Ladder made of it is recorded in the
outcome table printed at the end of the run (`report`).

Cancellation is verified from llama.cpp's side: its log shows the client hung up, the
cancelled generation never ran to its end (llama.cpp prints timings only for finished
generations), and the next request is the one that completes.
"""

from __future__ import annotations

import ast
import asyncio
import difflib
import os
import re
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from lsprotocol import types

from tests.e2e.editor import Editor
from tests.integration.peers import (
    ACCESS,
    DISCONNECTED,
    EVAL_DONE,
    MODEL_ALIAS,
    LlamaServer,
    TeeProxy,
    wait_for,
)

pytestmark = pytest.mark.integration

SECTION = "llama.cpp server · SmolLM2-135M-Instruct Q4_1"
URI = "file:///work/project/shapes.py"
RUN_TIMEOUT = 240.0  # one generation of at most ~512 tokens on 2 busy cores, generously

SOURCE = """\
import math


def area(r): return 3.14159*r*r


class Cart:
    def __init__(self):
        self.items = []

    def total(self, items):
        t = 0
        for i in items:
            t = t + i.price * i.qty
        return t
"""


def line_range(text: str, first: str, last: str) -> types.Range:
    """Whole lines from the line containing `first` to the one containing `last` (inclusive),
    the way editors send a line selection: ending at column 0 of the next line."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if first in line)
    end = next(i for i, line in enumerate(lines) if i >= start and last in line)
    return types.Range(types.Position(start, 0), types.Position(end + 1, 0))


AREA = line_range(SOURCE, "def area", "def area")
TOTAL = line_range(SOURCE, "def total", "return t")
CART = line_range(SOURCE, "class Cart", "return t")
TARGETS = {"area(r) one-liner": AREA, "Cart.total(self, items) method": TOTAL}
TITLES = {
    "docstring": "Add docstring with local model",
    "refactor": "Refactor with local model",
    "explain": "Explain with local model",
}


# -- observing one run ------------------------------------------------------------------------


@dataclass
class Run:
    """Everything one `ladder.run` produced, as the editor saw it."""

    result: dict[str, Any]
    before: str
    after: str
    applied: list[types.ApplyWorkspaceEditParams]
    messages: list[types.ShowMessageParams]
    progress: list[Any]
    shown: list[types.ShowDocumentParams]
    llama_log: str
    answer: str = ""
    tokens: int = 0
    rate: float = 0.0
    progress_messages: list[str] = field(default_factory=list)


TOK = re.compile(r"(\d+) tok(?!/)")
RATE = re.compile(r"(\d+(?:\.\d+)?) tok/s")


def by_title(actions: list[types.CodeAction], title: str) -> types.CodeAction:
    match = [a for a in actions if a.title == title]
    assert match, f"{title!r} not in {[a.title for a in actions]}"
    return match[0]


async def run_action(
    lsp: Editor,
    llama: LlamaServer,
    tee: TeeProxy,
    action_id: str,
    rng: types.Range,
    text: str = SOURCE,
) -> Run:
    if URI not in lsp.docs:
        lsp.open(URI, text)
    before = lsp.docs[URI].text
    seen_messages = len(lsp.client.messages)
    seen_applied = len(lsp.applied)
    seen_tokens = set(lsp.client.progress_reports)
    seen_shown = len(lsp.client.shown_documents)
    offset = llama.log_size()
    mark = tee.mark()
    action = by_title(await lsp.actions(URI, rng), TITLES[action_id])
    result = await asyncio.wait_for(lsp.execute(action), RUN_TIMEOUT)
    new_tokens = [t for t in lsp.client.progress_reports if t not in seen_tokens]
    progress: list[Any] = [r for t in new_tokens for r in lsp.client.progress_reports[t]]
    run = Run(
        result=result,
        before=before,
        after=lsp.docs[URI].text,
        applied=lsp.applied[seen_applied:],
        messages=lsp.client.messages[seen_messages:],
        progress=progress,
        shown=lsp.client.shown_documents[seen_shown:],
        llama_log=llama.log_since(offset),
        answer=tee.answer_since(mark),
    )
    run.progress_messages = [
        r.message or "" for r in progress if isinstance(r, types.WorkDoneProgressReport)
    ]
    counts = [int(m.group(1)) for msg in run.progress_messages if (m := TOK.search(msg))]
    rates = [float(m.group(1)) for msg in run.progress_messages if (m := RATE.search(msg))]
    run.tokens = max(counts, default=0)
    run.rate = rates[-1] if rates else 0.0
    return run


# -- the invariants ---------------------------------------------------------------------------


def target_lines(rng: types.Range) -> tuple[int, int]:
    """[start, end) of the lines a range covers (an end at column 0 excludes that line)."""
    end = (
        rng.end.line
        if rng.end.character == 0 and rng.end.line > rng.start.line
        else (rng.end.line + 1)
    )
    return rng.start.line, end


def assert_progress(run: Run) -> None:
    """Cancellable work-done progress: begin, reports with live token counts, end."""
    assert run.progress, "no work-done progress at all"
    begin, end = run.progress[0], run.progress[-1]
    assert isinstance(begin, types.WorkDoneProgressBegin), run.progress
    assert begin.cancellable is True
    assert isinstance(end, types.WorkDoneProgressEnd), run.progress
    streamed = [m for m in run.progress_messages if TOK.search(m)]
    assert streamed, f"no token counts in the progress messages: {run.progress_messages}"
    assert all("local model" in m for m in streamed), streamed
    counts = [int(m.group(1)) for msg in streamed if (m := TOK.search(msg))]
    assert counts == sorted(counts), f"token counts must only grow: {counts}"
    if run.tokens >= 3:
        assert run.rate > 0, f"a real stream of {run.tokens} tokens but no rate: {streamed}"


def assert_invariants(run: Run, rng: types.Range) -> None:
    """An applied edit that parses and stays in the target, or no edit and one warning."""
    assert_progress(run)
    shown = [(m.type, m.message) for m in run.messages]
    assert len(run.messages) == 1, f"exactly one message per run, got {shown}"
    (message,) = run.messages
    assert message.message.startswith("Ladder: ") and len(message.message) > len("Ladder: ")
    if run.result["applied"]:
        assert message.type == types.MessageType.Info, shown
        assert len(run.applied) == 1, "one workspace/applyEdit per run"
        assert run.after != run.before
        ast.parse(run.after)  # never broken code
        start, end = target_lines(rng)
        old, new = run.before.splitlines(True), run.after.splitlines(True)
        suffix = old[end:]
        assert new[:start] == old[:start], "lines above the target changed"
        assert len(new) - len(suffix) >= start
        assert new[len(new) - len(suffix) :] == suffix, "lines below the target changed"
        assert run.result["tier"] == "local" and run.result["model"] == MODEL_ALIAS, run.result
    else:
        assert message.type == types.MessageType.Warning, shown
        assert run.applied == [], "a rejected run must not send an edit"
        assert run.after == run.before
        assert run.result.get("reason"), run.result


# -- describing what happened (for the outcome table) ---------------------------------------


def speed(run: Run) -> str:
    finished = [(int(m.group(2)), float(m.group(3))) for m in EVAL_DONE.finditer(run.llama_log)]
    own = (
        f"llama.cpp: {finished[-1][0]} tok at {finished[-1][1]:.0f} tok/s"
        if finished
        else ("llama.cpp: generation not finished")
    )
    last = next((m for m in reversed(run.progress_messages) if TOK.search(m)), "")
    return f'{run.tokens} tok streamed, last progress "{last}"; {own}'


def _strip_docstrings(tree: ast.AST) -> str:
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Module)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            node.body = body[1:] or [ast.Pass()]
    return ast.dump(tree)


def changed_lines(before: str, after: str, limit: int = 3) -> str:
    diff = [
        line
        for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    shown = "; ".join(d.strip()[:70] for d in diff[:limit])
    more = f" (+{len(diff) - limit} more)" if len(diff) > limit else ""
    return f"{shown}{more}"


def quote(answer: str, limit: int = 110) -> str:
    flat = " ".join(answer.replace("```", "`").split())
    return f'answered "{flat[:limit]}{"…" if len(flat) > limit else ""}" ({len(answer)} chars)'


def describe_edit(action_id: str, run: Run) -> str:
    if not run.result["applied"]:
        return quote(run.answer)
    before, after = ast.parse(run.before), ast.parse(run.after)
    same_code = _strip_docstrings(before) == _strip_docstrings(after)
    if action_id == "docstring":
        docs = [
            doc
            for n in ast.walk(after)
            if isinstance(n, ast.FunctionDef | ast.ClassDef) and (doc := ast.get_docstring(n))
        ]
        first = f'"{docs[0].splitlines()[0][:60]}"' if docs else "no docstring"
        code = (
            "code unchanged"
            if same_code
            else f"code also changed: {changed_lines(run.before, run.after)}"
        )
        return f"added docstring {first}; {code}"
    if same_code:
        return f"changed only docstrings/comments/format: {changed_lines(run.before, run.after)}"
    return f"rewrote: {changed_lines(run.before, run.after)}"


def describe_ladder(run: Run) -> str:
    (message,) = run.messages
    verdict = "APPLIED" if run.result["applied"] else "NOT APPLIED"
    return f"{verdict}: {message.message.removeprefix('Ladder: ')}"


# -- the tests --------------------------------------------------------------------------------


@pytest.mark.direct_llama
async def test_model_discovery_and_status(
    lsp: Editor, llama: LlamaServer, report: Callable[..., None]
) -> None:
    seen = llama.log_size()  # the server is shared: earlier tests' requests are in its log
    models = await lsp.command("ladder.models")
    assert [m["id"] for m in models] == [MODEL_ALIAS], models
    status = await lsp.command("ladder.status")
    local = status["local"]
    assert local["reachable"] is True, status
    assert local["baseUrl"] == llama.base_url
    assert local["model"] == MODEL_ALIAS and local["models"] == [MODEL_ALIAS], status
    assert lsp.status and lsp.status[0]["local"]["reachable"] is True, lsp.status
    # offered before any model call, with the local tier in the titles
    lsp.open(URI, SOURCE)
    titles = [a.title for a in await lsp.actions(URI, TOTAL)]
    assert {TITLES["refactor"], TITLES["docstring"], TITLES["explain"]} <= set(titles), titles
    assert "POST /v1/chat/completions" not in llama.log_since(seen)
    report(
        SECTION,
        "discovery: ladder.models, ladder.status",
        f"/v1/models lists {[m['id'] for m in models]} (no /api/v0: state unknown)",
        f"reachable, model {local['model']!r} resolved; {len(titles)} actions offered",
    )


async def test_doctor_sees_the_model(llama: LlamaServer, tmp_path: Path) -> None:
    proc = await asyncio.create_subprocess_exec(
        *[sys.executable, "-m", "ladder_lsp", "doctor", "--base-url", llama.base_url],
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "XDG_STATE_HOME": str(tmp_path)},
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    text = out.decode()
    assert proc.returncode == 0, text
    assert MODEL_ALIAS in text, text


@pytest.mark.parametrize("target", list(TARGETS))
@pytest.mark.parametrize("action_id", ["docstring", "refactor"])
async def test_edit_action_keeps_the_invariants(
    action_id: str,
    target: str,
    lsp: Editor,
    llama: LlamaServer,
    tee: TeeProxy,
    report: Callable[..., None],
) -> None:
    rng = TARGETS[target]
    run = await run_action(lsp, llama, tee, action_id, rng)
    report(
        SECTION,
        f"{action_id} on {target}",
        f"{speed(run)}; {describe_edit(action_id, run)}",
        describe_ladder(run),
    )
    assert ACCESS.search(run.llama_log), "llama.cpp never got the chat request"
    assert_invariants(run, rng)
    if action_id == "docstring" and run.result["applied"]:
        # the docstring action promises to change nothing but docstrings
        assert _strip_docstrings(ast.parse(run.before)) == _strip_docstrings(
            ast.parse(run.after)
        ), f"'Add docstring' changed code:\n{changed_lines(run.before, run.after, 10)}"
    # Ladder still serves after whatever the model did
    assert await lsp.actions(URI, rng)


async def test_explain_edits_nothing_and_shows_markdown(
    lsp: Editor, llama: LlamaServer, tee: TeeProxy, report: Callable[..., None]
) -> None:
    run = await run_action(lsp, llama, tee, "explain", AREA)
    assert_progress(run)
    assert run.applied == [] and run.after == run.before
    assert len(run.messages) == 1, [m.message for m in run.messages]
    peer = speed(run)
    if run.result["applied"]:
        (doc,) = run.shown
        path = Path(doc.uri.removeprefix("file://"))
        markdown = path.read_text(encoding="utf-8")
        assert markdown.startswith("# shapes"), markdown[:200]
        assert MODEL_ALIAS in markdown, markdown[:300]
        body = markdown.split("\n\n", 2)[-1].strip()
        assert body, "an empty explanation"
        assert run.messages[0].type == types.MessageType.Info
        peer += f'; explained: "{" ".join(body.split())[:90]}…"'
    else:
        assert run.messages[0].type == types.MessageType.Warning
    report(SECTION, "explain on area(r) one-liner", peer, describe_ladder(run))


@pytest.mark.direct_llama
@pytest.mark.parametrize("how", ["progress-cancel", "cancel-request"])
async def test_cancel_mid_generation_stops_llama_cpp(
    how: str, lsp: Editor, llama: LlamaServer, report: Callable[..., None]
) -> None:
    lsp.open(URI, SOURCE)
    action = by_title(await lsp.actions(URI, CART), TITLES["explain"])
    assert action.command is not None
    offset = llama.log_size()
    msg_id = f"run-{uuid.uuid4().hex}"
    future = asyncio.ensure_future(
        lsp.client.protocol.send_request_async(
            types.WORKSPACE_EXECUTE_COMMAND,
            types.ExecuteCommandParams(command="ladder.run", arguments=action.command.arguments),
            msg_id=msg_id,
        )
    )

    def streaming() -> tuple[str, int] | None:
        """(token, tokens so far) once the model has streamed a few tokens."""
        for token, reports in lsp.client.progress_reports.items():
            counts = [
                int(m.group(1))
                for r in reports
                if isinstance(r, types.WorkDoneProgressReport)
                and (m := TOK.search(r.message or ""))
            ]
            if counts and counts[-1] >= 5:
                return str(token), counts[-1]
        return None

    token, at_cancel = await wait_for(streaming, RUN_TIMEOUT, "the model to stream 5 tokens")
    assert not llama.generations_since(offset), "the generation finished before the cancel"
    if how == "progress-cancel":
        lsp.client.window_work_done_progress_cancel(types.WorkDoneProgressCancelParams(token))
        result = await asyncio.wait_for(future, 30)
        assert result["applied"] is False and result["reason"] == "cancelled", result
    else:
        lsp.client.cancel_request(types.CancelParams(id=msg_id))
        with pytest.raises(Exception, match="(?i)cancel"):
            await asyncio.wait_for(future, 30)
    # llama.cpp's side: the client hung up on the request that was generating…
    gone = await asyncio.to_thread(llama.wait_for_log, DISCONNECTED, offset, 30)
    log = llama.log_since(offset)
    assert gone, f"llama.cpp never saw the client go away:\n{log[-3000:]}"
    posts = ACCESS.findall(log)
    assert [port for port, _ in posts] == [gone.group(1)], (posts, gone.group(0))
    # …and that generation never ran to its end (llama.cpp prints timings only then)
    assert llama.generations_since(offset) == [], log[-3000:]
    # The next request is served, and it is the first generation to finish since.
    follow = await asyncio.to_thread(llama.chat, "Say hello.", 8)
    assert follow["choices"][0]["finish_reason"] in ("stop", "length"), follow
    finished = llama.generations_since(offset)
    # (llama.cpp counts its eval runs: the token that hit max_tokens can add one)
    assert len(finished) == 1 and finished[0].tokens <= 8 + 1, finished
    # Ladder: nothing changed, one message, progress ended, still serving.
    assert lsp.applied == [] and lsp.docs[URI].text == SOURCE
    texts = [m.message for m in lsp.client.messages]
    assert texts == ["Ladder: cancelled; nothing was changed."], texts
    reports = lsp.client.progress_reports[token]
    assert isinstance(reports[-1], types.WorkDoneProgressEnd), reports[-1]
    assert await lsp.actions(URI, CART)
    report(
        SECTION,
        f"cancel explain of class Cart mid-generation via {how}",
        f"streamed {at_cancel}+ tokens, then llama.cpp logged the disconnect of port "
        f"{gone.group(1)} and never finished that generation; the follow-up request "
        f"finished ({finished[0].tokens} tok)",
        f"NOT APPLIED: {texts[0].removeprefix('Ladder: ')}",
    )


@pytest.mark.direct_llama
async def test_models_probe_during_generation(
    lsp: Editor, llama: LlamaServer, report: Callable[..., None]
) -> None:
    """llama-cpp-python's server cuts a running stream when any other request arrives
    (`--interrupt_requests`, on by default). A status probe during a run must end that run
    cleanly: no edit, one warning, Ladder still serving."""
    lsp.open(URI, SOURCE)
    action = by_title(await lsp.actions(URI, TOTAL), TITLES["refactor"])
    seen = len(lsp.client.messages)
    offset = llama.log_size()
    run = asyncio.ensure_future(lsp.execute(action))

    def streaming() -> bool:
        return any(
            isinstance(r, types.WorkDoneProgressReport) and TOK.search(r.message or "")
            for reports in lsp.client.progress_reports.values()
            for r in reports
        )

    await wait_for(streaming, RUN_TIMEOUT, "the model to start streaming")
    async with httpx.AsyncClient() as http:  # what a second editor's status bar would do
        probe = await http.get(f"{llama.base_url}/models", timeout=60)
    assert probe.status_code == 200
    result = await asyncio.wait_for(run, RUN_TIMEOUT)
    messages = lsp.client.messages[seen:]
    assert len(messages) == 1, [m.message for m in messages]
    finished = llama.generations_since(offset)
    if result["applied"]:  # the model had already finished: nothing was interrupted
        ast.parse(lsp.docs[URI].text)
        peer = "finished before the probe arrived"
    else:
        assert messages[0].type == types.MessageType.Warning
        assert lsp.applied == [] and lsp.docs[URI].text == SOURCE
        peer = (
            "stream cut by the probe ([DONE] without finish_reason)"
            if not finished
            else "answer finished, then rejected"
        )
    assert await lsp.actions(URI, TOTAL)
    report(
        SECTION,
        "GET /v1/models while a refactor streams",
        peer,
        describe_ladder_msgs(result, messages),
    )


def describe_ladder_msgs(result: dict[str, Any], messages: list[types.ShowMessageParams]) -> str:
    verdict = "APPLIED" if result["applied"] else "NOT APPLIED"
    return f"{verdict}: {messages[0].message.removeprefix('Ladder: ')}"
