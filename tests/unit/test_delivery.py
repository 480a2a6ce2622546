"""The one delivery path (editor and CLI): last checks, hand-over to a sink, the ledger row."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from ladder_lsp.backends.base import Tier, Usage
from ladder_lsp.cli import ShellSink
from ladder_lsp.engine.actions import BUILTIN
from ladder_lsp.engine.confirm import DISCARDED, Confirmation
from ladder_lsp.engine.delivery import SECRET_REFUSAL, Delivery, Disposition, deliver
from ladder_lsp.engine.run_types import Attempt, NewFileEdit, RunInput, RunOutcome
from ladder_lsp.pipeline.edits import LineEdit
from ladder_lsp.pipeline.target import Target
from ladder_lsp.store.ledger import Ledger
from tests.unit.conftest import rows

KEY = "sk-ant-api03-never-in-a-file-0123456789"
REFACTOR = next(a for a in BUILTIN if a.id == "refactor")
LINES = ("def f():\n", "    return 1\n")
EDIT = LineEdit(1, 2, ("    return 2\n",))
LOCAL = Attempt(Tier.LOCAL, "qwen", Usage(1000, 200))


def run_input(lines: tuple[str, ...] = LINES, path: str = "/p/f.py") -> RunInput:
    target = Target(uri="file://" + path, version=1, lines=lines, start_line=0, end_line=2)
    return RunInput(spec=REFACTOR, target=target, language="python", path=path)


def edit_outcome(edit: LineEdit = EDIT) -> RunOutcome:
    return RunOutcome("edit", "Refactor done.", Tier.LOCAL, "qwen", (edit,), attempts=(LOCAL,))


class RecordingSink:
    def __init__(self, answer: Disposition = Disposition.APPLIED) -> None:
        self.calls: list[str] = []
        self.asked: list[Confirmation | None] = []
        self.answer = answer
        self.hang = False
        self.entered = asyncio.Event()

    async def edit(
        self,
        inp: RunInput,
        outcome: RunOutcome,
        edits: tuple[LineEdit, ...],
        confirm: Confirmation | None,
    ) -> Delivery:
        self.calls.append("edit")
        self.asked.append(confirm)
        self.entered.set()
        if self.hang:
            await asyncio.Event().wait()
        return Delivery(self.answer, outcome.message)

    async def new_file(
        self, inp: RunInput, outcome: RunOutcome, confirm: Confirmation | None
    ) -> Delivery:
        self.calls.append("new_file")
        self.asked.append(confirm)
        return Delivery(self.answer, outcome.message)

    async def explanation(self, inp: RunInput, outcome: RunOutcome) -> Delivery:
        self.calls.append("explanation")
        return Delivery(Disposition.SHOWN, outcome.message)


async def run(
    outcome: RunOutcome,
    sink: RecordingSink,
    ledger: Ledger,
    inp: RunInput | None = None,
    confirm: str = "never",
) -> Delivery:
    return await deliver(
        inp or run_input(),
        outcome,
        sink,
        secrets=(KEY,),
        ledger=ledger,
        elapsed=lambda: 2.5,
        confirm=confirm,
    )


async def test_an_applied_edit_is_recorded_with_its_time_and_savings(ledger: Ledger) -> None:
    delivery = await run(edit_outcome(), RecordingSink(), ledger)
    assert delivery.applied and delivery.disposition is Disposition.APPLIED
    [row] = rows(ledger)
    assert (row["delivery"], row["outcome"], row["duration_s"]) == ("applied", "applied", 2.5)
    assert row["saved_usd"] > 0


@pytest.mark.parametrize("answer", [Disposition.REFUSED, Disposition.NO_ANSWER])
async def test_what_the_editor_said_is_recorded_and_saves_nothing(
    ledger: Ledger, answer: Disposition
) -> None:
    delivery = await run(edit_outcome(), RecordingSink(answer), ledger)
    assert not delivery.applied
    [row] = rows(ledger)
    assert row["delivery"] == answer.value and row["saved_usd"] == 0.0


async def test_an_answer_planting_a_key_never_reaches_the_sink(ledger: Ledger) -> None:
    sink = RecordingSink()
    planted = LineEdit(1, 2, (f"    return '{KEY}'\n",))
    delivery = await run(edit_outcome(planted), sink, ledger)
    assert delivery.disposition is Disposition.BLOCKED and delivery.message == SECRET_REFUSAL
    assert sink.calls == []
    assert rows(ledger)[0]["delivery"] == "blocked"


async def test_a_key_already_in_the_file_is_the_users_business(ledger: Ledger) -> None:
    inp = run_input((f"KEY = '{KEY}'\n", "    return 1\n"))
    same = LineEdit(1, 2, (f"    return '{KEY}'\n",))
    delivery = await run(edit_outcome(same), RecordingSink(), ledger, inp)
    assert delivery.disposition is Disposition.APPLIED


async def test_a_test_file_planting_a_key_is_blocked(ledger: Ledger, tmp_path: Path) -> None:
    sink = RecordingSink()
    new_file = NewFileEdit(tmp_path / "test_f.py", False, f"K = '{KEY}'\n", 0)
    outcome = RunOutcome("edit", "Created.", Tier.LOCAL, "qwen", new_file=new_file)
    assert (await run(outcome, sink, ledger)).disposition is Disposition.BLOCKED
    assert sink.calls == []


async def test_cancelling_during_delivery_is_recorded_as_cancelled(ledger: Ledger) -> None:
    sink = RecordingSink()
    sink.hang = True
    task = asyncio.ensure_future(run(edit_outcome(), sink, ledger))
    await sink.entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    [row] = rows(ledger)
    assert row["delivery"] == "cancelled" and row["saved_usd"] == 0.0


async def test_messages_are_redacted_in_the_result_and_the_ledger(ledger: Ledger) -> None:
    outcome = RunOutcome("failed", f"the server said {KEY}", Tier.LOCAL, "qwen")
    delivery = await run(outcome, RecordingSink(), ledger)
    assert KEY not in delivery.message and delivery.disposition is Disposition.NONE
    assert KEY not in rows(ledger)[0]["reason"]


async def test_the_shell_never_writes_over_a_file_changed_on_disk(
    ledger: Ledger, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, read = shell_file(tmp_path)
    path.write_text("def f():\n    return 42\n")  # an editor saved meanwhile
    delivery = await shell_run(ledger, path, ShellSink(path, read, apply=True), confirm="never")
    assert delivery.disposition is Disposition.STALE and "changed on disk" in delivery.message
    assert path.read_text() == "def f():\n    return 42\n"
    assert "+    return 2" in capsys.readouterr().out  # the diff was still shown


async def test_the_sink_is_told_when_a_yes_is_due_and_a_no_is_recorded_as_refused(
    ledger: Ledger,
) -> None:
    sink = RecordingSink(Disposition.REFUSED)
    delivery = await run(edit_outcome(), sink, ledger, confirm="always")
    [asked] = sink.asked
    assert asked is not None and asked.question == "Apply 1 changed line from qwen?"
    assert not delivery.applied
    [row] = rows(ledger)
    assert row["delivery"] == "refused" and row["saved_usd"] == 0.0


async def test_local_edits_go_unasked_when_only_claudes_need_a_yes(ledger: Ledger) -> None:
    sink = RecordingSink()
    await run(edit_outcome(), sink, ledger, confirm="claude")
    assert sink.asked == [None]


async def test_a_new_test_file_is_asked_about_with_its_name(ledger: Ledger, tmp_path: Path) -> None:
    sink = RecordingSink()
    new_file = NewFileEdit(tmp_path / "test_f.py", False, "def test_f():\n    assert f()\n", 0)
    outcome = RunOutcome("edit", "Created.", Tier.CLAUDE, "claude-x", new_file=new_file)
    await run(outcome, sink, ledger, confirm="claude")
    [asked] = sink.asked
    assert asked is not None and asked.question == "Add 2 lines to test_f.py from claude-x?"


def shell_file(tmp_path: Path) -> tuple[Path, bytes]:
    path = tmp_path / "f.py"
    path.write_text("".join(LINES))
    return path, path.read_bytes()


async def shell_run(
    ledger: Ledger, path: Path, sink: ShellSink, confirm: str = "always"
) -> Delivery:
    return await deliver(
        run_input(path=str(path)),
        edit_outcome(),
        sink,
        secrets=(),
        ledger=ledger,
        elapsed=lambda: 1.0,
        confirm=confirm,
    )


class Terminal:
    """The user at the terminal: answers each question with the next of `answers`."""

    def __init__(self, *answers: bool) -> None:
        self.answers = list(answers)
        self.questions: list[str] = []

    async def __call__(self, question: str) -> bool:
        self.questions.append(question)
        return self.answers.pop(0)


@pytest.mark.parametrize("yes", [True, False])
async def test_the_shell_writes_only_after_a_yes_on_the_terminal(
    ledger: Ledger, tmp_path: Path, capsys: pytest.CaptureFixture[str], yes: bool
) -> None:
    path, read = shell_file(tmp_path)
    terminal = Terminal(yes)
    delivery = await shell_run(ledger, path, ShellSink(path, read, apply=False, ask=terminal))
    assert terminal.questions == ["Apply 1 changed line from qwen?"]
    assert "+    return 2" in capsys.readouterr().out  # the diff comes before the question
    if yes:
        assert delivery.disposition is Disposition.APPLIED
        assert path.read_text() == "def f():\n    return 2\n"
    else:
        assert (delivery.disposition, delivery.message) == (Disposition.REFUSED, DISCARDED)
        assert path.read_bytes() == read
        assert rows(ledger)[0]["delivery"] == "refused"


async def test_the_shell_asks_nothing_with_apply_and_writes_nothing_without_a_terminal(
    ledger: Ledger, tmp_path: Path
) -> None:
    path, read = shell_file(tmp_path)
    terminal = Terminal()
    printed = await shell_run(ledger, path, ShellSink(path, read, apply=False, ask=None))
    assert printed.disposition is Disposition.PRINTED and path.read_bytes() == read
    written = await shell_run(ledger, path, ShellSink(path, read, apply=True, ask=terminal))
    assert written.disposition is Disposition.APPLIED and terminal.questions == []
