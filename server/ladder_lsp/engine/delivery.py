"""The one path from a run's outcome to the user: last checks, hand-over, the ledger row.

The editor (lsp/run.py) and the shell (cli.py) differ only in how an edit reaches the file — a
`workspace/applyEdit` request or a write to disk — so each supplies a `Sink` for that, and
everything else happens here, once: the answer may not plant an API key the file did not
hold, what the editor or the CLI did with the edit is recorded as it happened (applied,
refused, no answer, cancelled, ...), with the run's real duration and the secrets redacted.
A check added here holds for every face of Ladder. A workspace job's units go the same way
(`deliver_job`): the same secret check per unit, one change per file handed to a `JobSink`
(one WorkspaceEdit, or files written), one ledger row per unit.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import attrs

from ladder_lsp.backends.base import Tier
from ladder_lsp.engine.confirm import (
    Confirmation,
    ConfirmMode,
    changed_lines,
    confirmation_for,
    job_confirmation,
)
from ladder_lsp.engine.jobs.merge import FileChange, FileText, merge
from ladder_lsp.engine.jobs.plan import Resolved
from ladder_lsp.engine.jobs.runner import UnitResult, unit_edits, unit_input
from ladder_lsp.engine.run_types import Attempt, RunInput, RunOutcome
from ladder_lsp.pipeline.edits import LineEdit
from ladder_lsp.settings import Settings
from ladder_lsp.store.ledger import AttemptRecord, Ledger, RunRecord

log = logging.getLogger(__name__)
SECRET_REFUSAL = "the answer contains one of your API keys, so nothing was applied."


class Disposition(str, enum.Enum):
    """What became of a run's result."""

    APPLIED = "applied"  # the edit is in the file
    SHOWN = "shown"  # an explanation reached the user
    PRINTED = "printed"  # the CLI printed the diff it was asked for (no --apply)
    REFUSED = "refused"  # the editor answered applied: false (or with an error)
    NO_ANSWER = "no-answer"  # the editor never answered workspace/applyEdit
    RETURNED = "returned"  # the client cannot apply edits: the edit went back in the result
    STALE = "stale"  # the user changed the code under work meanwhile: nothing applied
    BLOCKED = "blocked"  # Ladder's last check refused it (an API key in the answer, ...)
    CANCELLED = "cancelled"  # the user cancelled the run
    NONE = "none"  # nothing to deliver: the run failed, was rejected or changed nothing

    @property
    def reached_user(self) -> bool:
        """The result is in the user's hands: only then do local runs count as savings."""
        return self in (Disposition.APPLIED, Disposition.SHOWN, Disposition.PRINTED)


@attrs.frozen
class Delivery:
    disposition: Disposition
    message: str  # one line for the user
    extra: dict[str, Any] = attrs.field(factory=dict)  # more for a command's result

    @property
    def applied(self) -> bool:
        return self.disposition in (Disposition.APPLIED, Disposition.SHOWN)


class Sink(Protocol):
    """How one face of Ladder puts a result in front of the user."""

    async def edit(
        self,
        inp: RunInput,
        outcome: RunOutcome,
        edits: tuple[LineEdit, ...],
        confirm: Confirmation | None,
    ) -> Delivery:
        """Apply line edits to the run's document; with `confirm`, only after the user's yes."""

    async def new_file(
        self, inp: RunInput, outcome: RunOutcome, confirm: Confirmation | None
    ) -> Delivery:
        """Create or extend the test file in `outcome.new_file` (`confirm`: as for edits)."""

    async def explanation(self, inp: RunInput, outcome: RunOutcome) -> Delivery:
        """Show `outcome.markdown`."""


class JobSink(Protocol):
    """How one face of Ladder puts a job's changes in front of the user."""

    async def files(
        self, changes: Sequence[FileChange], confirm: Confirmation | None
    ) -> dict[Path, Delivery]:
        """Apply every file's change (in one edit where the face can; with `confirm`, only
        after the user's yes); what became of each."""


@attrs.frozen
class JobDelivery:
    files: dict[Path, Delivery]  # per changed file
    units: dict[str, Disposition]  # per unit


async def deliver_job(
    units: Sequence[Resolved],
    files: Mapping[Path, FileText],
    results: Mapping[str, UnitResult],
    sink: JobSink,
    *,
    settings: Settings,
    secrets: Iterable[str],
    ledger: Ledger | None,
) -> JobDelivery:
    """The job's successful units as one change per file, after each unit's last check (no
    API key planted) and the user's yes where `edits.confirm` wants one; a ledger row per unit
    with what became of it."""
    keys = tuple(secrets)
    dispositions: dict[str, Disposition] = {}
    done = []
    tiers: set[Tier] = set()  # who wrote the edits that go in (edits.confirm asks by them)
    for r in units:
        result = results[r.unit.id]
        outcome = result.outcome
        if outcome.status != "edit":
            continue
        new_text = "".join(text for e in outcome.edits for text in e.new_lines)
        if echoes_secret(new_text, files[r.path].text, keys):
            dispositions[r.unit.id] = Disposition.BLOCKED
            continue
        done.append((r.path, unit_edits(r, result)))
        if outcome.tier is not None:
            tiers.add(outcome.tier)
    changes = merge(files, done)
    ask = job_confirmation(
        settings.edits.confirm,
        tiers,
        lines=sum(changed_lines(c.edits) for c in changes),
        files=len(changes),
    )
    delivered = await sink.files(changes, ask) if changes else {}
    for r in units:
        result = results[r.unit.id]
        if r.unit.id not in dispositions:
            file = delivered.get(r.path)
            edited = result.outcome.status == "edit" and file is not None
            dispositions[r.unit.id] = file.disposition if edited and file else Disposition.NONE
        inp = unit_input(r, files[r.path], settings)
        await record(ledger, inp, result.outcome, dispositions[r.unit.id], result.seconds, keys)
    return JobDelivery(delivered, dispositions)


async def deliver(
    inp: RunInput,
    outcome: RunOutcome,
    sink: Sink,
    *,
    secrets: Iterable[str],
    ledger: Ledger | None,
    elapsed: Callable[[], float],
    confirm: str = ConfirmMode.NEVER.value,
) -> Delivery:
    """Hand the outcome to the sink (after the last checks; asking first when `confirm`, the
    `edits.confirm` setting, says so) and record what happened."""
    keys = tuple(secrets)
    try:
        delivery = await _hand_over(inp, outcome, sink, keys, confirm)
    except asyncio.CancelledError:
        await asyncio.shield(record(ledger, inp, outcome, Disposition.CANCELLED, elapsed(), keys))
        raise
    await record(ledger, inp, outcome, delivery.disposition, elapsed(), keys)
    return attrs.evolve(delivery, message=redact(delivery.message, keys))


async def _hand_over(
    inp: RunInput, outcome: RunOutcome, sink: Sink, keys: tuple[str, ...], confirm: str
) -> Delivery:
    if outcome.status == "explained":
        return await sink.explanation(inp, outcome)
    if outcome.status == "cancelled":
        return Delivery(Disposition.CANCELLED, outcome.message)
    if outcome.status != "edit":
        return Delivery(Disposition.NONE, outcome.message)
    if outcome.new_file is not None:
        existing = inp.read_file(outcome.new_file.path) or ""
        if echoes_secret(outcome.new_file.insert_text, existing, keys):
            return Delivery(Disposition.BLOCKED, SECRET_REFUSAL)
        added = outcome.new_file.insert_text.count("\n") or 1
        name = outcome.new_file.path.name
        ask = confirmation_for(confirm, outcome, lines=added, file_name=name)
        return await sink.new_file(inp, outcome, ask)
    new_text = "".join(text for e in outcome.edits for text in e.new_lines)
    if echoes_secret(new_text, inp.target.text, keys):
        return Delivery(Disposition.BLOCKED, SECRET_REFUSAL)
    ask = confirmation_for(confirm, outcome, lines=changed_lines(outcome.edits))
    return await sink.edit(inp, outcome, outcome.edits, ask)


def echoes_secret(new_text: str, old_text: str, keys: Iterable[str]) -> bool:
    """The answer would put an API key into a file (a model or proxy echoing what it saw);
    keys already in the file are the user's business."""
    return any(key in new_text and key not in old_text for key in keys)


def redact(text: str, keys: Iterable[str]) -> str:
    for key in keys:
        text = text.replace(key, "***")
    return text


async def record(
    ledger: Ledger | None,
    inp: RunInput,
    outcome: RunOutcome,
    disposition: Disposition,
    seconds: float,
    keys: tuple[str, ...] = (),
) -> None:
    """One ledger row for the run; bookkeeping never fails the user's run."""
    if ledger is not None:
        await _write(ledger, record_of(inp, outcome, disposition, seconds, keys))


async def record_plan(ledger: Ledger | None, attempt: Attempt, root: str, seconds: float) -> None:
    """A workspace job's planning call as a row of its own (action "plan"): what it cost
    counts today, and nothing of it was delivered (no savings)."""
    if ledger is None:
        return
    row = RunRecord(action="plan", path=root, status="planned",
                    delivery=Disposition.NONE.value, reached_user=False, tier=attempt.tier.value,
                    model=attempt.model, attempts=(attempt_record(attempt),),
                    message="planned a workspace job", seconds=seconds)  # fmt: skip
    await _write(ledger, row)


async def _write(ledger: Ledger, row: RunRecord) -> None:
    """Bookkeeping never fails the user's run."""
    try:
        await asyncio.to_thread(ledger.record, row)
    except Exception:
        log.exception("could not record the run in the ledger")


def attempt_record(a: Attempt) -> AttemptRecord:
    """One model call as the ledger stores it."""
    return AttemptRecord(
        tier=a.tier.value,
        model=a.model,
        input_tokens=a.usage.input_tokens,
        output_tokens=a.usage.output_tokens,
        cache_read_tokens=a.usage.cache_read_tokens,
        cache_write_tokens=a.usage.cache_write_tokens,
        endpoint=a.endpoint,
        spend_key=a.spend_key,
    )


def record_of(
    inp: RunInput,
    outcome: RunOutcome,
    disposition: Disposition,
    seconds: float,
    keys: tuple[str, ...] = (),
) -> RunRecord:
    """The engine's outcome as the ledger's plain record."""
    return RunRecord(
        action=inp.spec.id,
        path=inp.path,
        status=outcome.status,
        delivery=disposition.value,
        reached_user=disposition.reached_user,
        tier=outcome.tier.value if outcome.tier else None,
        model=outcome.model,
        attempts=tuple(attempt_record(a) for a in outcome.attempts),
        message=redact(outcome.message, keys),
        seconds=seconds,
    )
