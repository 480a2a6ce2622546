"""Running a job's units: each an ordinary `Engine.run` (prompts, checks, guards, one local
retry, escalation of that unit alone within the budget; a local-only file never escalates),
as many at once as there are local slots, a unit starting only after the units it depends
on. A unit that depends on others of its file sees their edits; its own edits are mapped back
onto the text the job read, so every unit's edits merge into one change per file.

One progress line for the whole job (`7/12 units · 3 running · 1 escalated · $0.004`); each
finished unit goes to `on_finished` (the journal) at once, so a crash loses none. Cancelling
cancels every unit.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from ladder_lsp.backends.base import Tier, Usage
from ladder_lsp.engine.actions import REFACTOR_REWRITE, ActionSpec, find_action
from ladder_lsp.engine.engine import Engine
from ladder_lsp.engine.jobs.merge import FileText, UnitEdits
from ladder_lsp.engine.jobs.plan import Resolved
from ladder_lsp.engine.run_types import Attempt, Report, RunInput, RunOutcome
from ladder_lsp.pipeline.edits import LineEdit, apply_line_edits
from ladder_lsp.pipeline.target import make_target
from ladder_lsp.settings import Settings
from ladder_lsp.store.pricing import cost

log = logging.getLogger(__name__)
ESCALATING = "escalating to Claude"  # the Engine's progress line when a unit escalates


def claude_cost(attempts: Sequence[Attempt]) -> float:
    """What the calls cost: Claude's, at their model's price (local calls are free)."""
    return sum(cost(a.model, a.usage) for a in attempts if a.tier is Tier.CLAUDE)


def all_claude_cost(attempts: Sequence[Attempt], claude_model: str) -> float:
    """What the same calls would have cost on Claude alone (local tokens at Claude's price)."""
    return sum(cost(a.model if a.tier is Tier.CLAUDE else claude_model, a.usage) for a in attempts)


@attrs.frozen
class UnitResult:
    """What one unit came to; its edits are against the text the job read."""

    id: str
    outcome: RunOutcome
    seconds: float
    escalated: bool = False

    @property
    def ok(self) -> bool:
        return self.outcome.status in ("edit", "no-change")

    @property
    def cost(self) -> float:
        return claude_cost(self.outcome.attempts)

    def to_json(self) -> dict[str, Any]:
        o = self.outcome
        return {
            "id": self.id,
            "status": o.status,
            "message": o.message,
            "tier": o.tier.value if o.tier else None,
            "model": o.model,
            "edits": [[e.start_line, e.end_line, list(e.new_lines)] for e in o.edits],
            "attempts": [
                [a.tier.value, a.model, *attrs.astuple(a.usage), a.endpoint] for a in o.attempts
            ],
            "steps": list(o.steps),
            "seconds": self.seconds,
            "escalated": self.escalated,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> UnitResult:
        outcome = RunOutcome(
            status=data["status"],
            message=data["message"],
            tier=Tier(data["tier"]) if data["tier"] else None,
            model=data["model"],
            edits=tuple(LineEdit(s, e, tuple(lines)) for s, e, lines in data["edits"]),
            attempts=tuple(
                Attempt(Tier(a[0]), a[1], Usage(*a[2:6]), *a[6:7]) for a in data["attempts"]
            ),
            steps=tuple(data["steps"]),
        )
        return cls(data["id"], outcome, data["seconds"], data["escalated"])


def spec_for(action: str, instruction: str, settings: Settings) -> ActionSpec:
    """The catalogue's action, told the unit's instruction; `edit` is the instruction alone
    (checked like a custom action)."""
    if action == "edit":
        return ActionSpec("edit", "Edit", REFACTOR_REWRITE, "", custom_prompt=instruction)
    spec = find_action(action, settings)
    assert spec is not None, action
    if instruction and action != "fix":
        spec = attrs.evolve(spec, task=f"{spec.task} {instruction}")
    return spec


def unit_input(
    r: Resolved, file: FileText, settings: Settings, lines: Sequence[str] | None = None,
    shift: int = 0, read_file: Callable[[Path], str | None] = lambda _p: None,
) -> RunInput:  # fmt: skip
    """The ordinary run for a unit: its lines of the file (optionally with its dependencies'
    edits applied, `shift` lines further down)."""
    unit = r.unit
    target = make_target(
        file.uri, file.version, tuple(lines if lines is not None else file.lines),
        (r.start + shift, 0), (r.end + shift, 0),
    )  # fmt: skip
    return RunInput(
        spec=spec_for(unit.action, unit.instruction, settings),
        target=target,
        language=r.language,
        path=str(r.path),
        diagnostics=(unit.instruction,) if unit.action == "fix" and unit.instruction else (),
        read_file=read_file,
    )


def tier_label(result: UnitResult) -> str:
    tier = result.outcome.tier
    return tier.value if tier else "none"


def unit_edits(r: Resolved, result: UnitResult) -> UnitEdits:
    label = f"{r.unit.where} · {r.unit.action} · {tier_label(result)}"
    return UnitEdits(r.unit.id, label, result.outcome.edits)


class JobRun:
    """One pass over a job's units (those not `finished` already)."""

    def __init__(
        self,
        engine: Engine,
        units: Sequence[Resolved],
        files: Mapping[Path, FileText],
        *,
        slots: int,
        report: Report,
        finished: Mapping[str, UnitResult] | None = None,
        on_finished: Callable[[UnitResult], Awaitable[None]] | None = None,
        read_file: Callable[[Path], str | None] = lambda _p: None,
    ) -> None:
        self._engine = engine
        self._units = list(units)
        self._by_id = {r.unit.id: r for r in units}
        self._files = files
        self._slots = asyncio.Semaphore(max(1, slots))
        self._report = report
        self.results: dict[str, UnitResult] = dict(finished or {})
        self._on_finished = on_finished
        self._read_file = read_file
        self._done_events = {r.unit.id: asyncio.Event() for r in units}
        for uid in self.results:
            if uid in self._done_events:
                self._done_events[uid].set()
        self._running = 0
        self._escalated = {uid for uid, res in self.results.items() if res.escalated}

    def progress(self) -> str:
        spent = sum(r.cost for r in self.results.values())
        return (
            f"{len(self.results)}/{len(self._units)} units · {self._running} running · "
            f"{len(self._escalated)} escalated · ${spent:.3f}"
        )

    async def run(self) -> dict[str, UnitResult]:
        pending = [r for r in self._units if r.unit.id not in self.results]
        self._report(self.progress())
        tasks = [asyncio.ensure_future(self._one(r)) for r in pending]
        try:
            await asyncio.gather(*tasks)
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        return self.results

    async def _one(self, r: Resolved) -> None:
        uid = r.unit.id
        for dep in r.unit.depends_on:
            await self._done_events[dep].wait()
        failed = [d for d in r.unit.depends_on if not self.results[d].ok]
        if failed:
            outcome = RunOutcome(
                "failed", f"not run: it depends on {', '.join(failed)}, which failed"
            )
            await self._finish(UnitResult(uid, outcome, 0.0))
            return
        async with self._slots:
            self._running += 1
            self._report(self.progress())
            started = time.monotonic()
            try:
                result = await self._run_unit(r)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("unit %s crashed", uid)
                result = UnitResult(uid, RunOutcome("failed", "internal error"), 0.0)
            finally:
                self._running -= 1
            result = attrs.evolve(result, seconds=round(time.monotonic() - started, 3))
        await self._finish(result)

    async def _finish(self, result: UnitResult) -> None:
        self.results[result.id] = result
        if self._on_finished is not None:
            await asyncio.shield(self._on_finished(result))
        self._done_events[result.id].set()
        self._report(self.progress())

    async def _run_unit(self, r: Resolved) -> UnitResult:
        uid = r.unit.id
        file = self._files[r.path]
        before = self._dependency_edits(r)
        lines = apply_line_edits(file.lines, before) if before else None
        shift = sum(
            len(e.new_lines) - (e.end_line - e.start_line) for e in before if e.end_line <= r.start
        )
        inp = unit_input(r, file, self._engine.settings, lines, shift, self._read_file)
        escalated = False

        def report(message: str) -> None:
            nonlocal escalated
            if message.startswith(ESCALATING) and not escalated:
                escalated = True
                self._escalated.add(uid)
                self._report(self.progress())

        outcome = await self._engine.run(inp, report)
        if outcome.status == "cancelled":
            raise asyncio.CancelledError
        if outcome.new_file is not None:
            outcome = RunOutcome("failed", "a job unit may not write another file", outcome.tier)
        edits = tuple(
            LineEdit(e.start_line - shift, e.end_line - shift, e.new_lines) for e in outcome.edits
        )
        if any(e.start_line < r.start or e.end_line > r.end for e in edits):
            outcome = attrs.evolve(
                outcome, status="failed", edits=(), message="the edit reached outside its unit"
            )
        else:
            outcome = attrs.evolve(outcome, edits=edits)
        return UnitResult(uid, outcome, 0.0, escalated)

    def _dependency_edits(self, r: Resolved) -> list[LineEdit]:
        """The edits of the units `r` depends on (transitively) in its own file."""
        seen: set[str] = set()
        stack = list(r.unit.depends_on)
        edits: list[LineEdit] = []
        while stack:
            uid = stack.pop()
            if uid in seen:
                continue
            seen.add(uid)
            dep = self._by_id[uid]
            stack.extend(dep.unit.depends_on)
            if dep.path == r.path:
                edits.extend(self.results[uid].outcome.edits)
        return sorted(edits, key=lambda e: e.start_line)


def job_slots(engine: Engine) -> int:
    """How many units run at once: the local tier's slots (every member's of the pool)."""
    return max(1, engine.local.slots)
