"""A workspace job from start to its results, for both faces (CLI and editor): the plan
(given, built-in or from a planner), validated against the files as they are now, the
journal row, and the run of the units that are left.

Resuming re-reads every file of the plan: a unit finished earlier is kept only when it
succeeded and its file still has the text the job read (its edits are against that text);
failed units and the units of a changed file run again.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import attrs

from ladder_lsp.engine.engine import Engine
from ladder_lsp.engine.jobs.merge import FileText
from ladder_lsp.engine.jobs.plan import Plan, PlanError, Resolved, parse_plan, resolve
from ladder_lsp.engine.jobs.planners import make_plan
from ladder_lsp.engine.jobs.runner import (
    JobRun,
    UnitResult,
    all_claude_cost,
    claude_cost,
    job_slots,
)
from ladder_lsp.engine.jobs.scope import ScopeError, files_in_scope
from ladder_lsp.engine.run_types import Attempt, Report
from ladder_lsp.store.jobs import JobJournal, text_hash

log = logging.getLogger(__name__)


class JobError(Exception):
    """The job cannot start; nothing ran and nothing changed."""


@attrs.frozen
class Job:
    id: str
    root: Path
    plan: Plan
    units: tuple[Resolved, ...]
    files: dict[Path, FileText]
    finished: dict[str, UnitResult]  # from an earlier run of the same job (resume)
    plan_usd: float = 0.0  # what the planner's model call cost (Claude's; a local one is free)
    plan_all_claude_usd: float = 0.0  # what it would have cost on Claude

    def relative(self, path: Path) -> str:
        return str(path.relative_to(self.root))


Load = Callable[[Path], FileText | None]


async def prepare(
    engine: Engine,
    journal: JobJournal | None,
    *,
    root: Path,
    load: Load,
    report: Report,
    instruction: str = "",
    patterns: Sequence[str] = (),
    plan_data: object = None,
    resume: str = "",
) -> Job:
    """The job, validated and journalled (not yet run); JobError says why not."""
    root = Path(await asyncio.to_thread(os.path.realpath, root))
    cache: dict[Path, FileText | None] = {}

    def read(path: Path) -> str | None:
        if path not in cache:
            cache[path] = load(path)
        found = cache[path]
        return found.text if found is not None else None

    finished: dict[str, UnitResult] = {}
    planner: tuple[Attempt, ...] = ()  # the planner's model call, when a model planned
    try:
        if resume:
            plan, finished, root = await _resumed(journal, resume, root)
        elif plan_data is not None:
            plan = parse_plan(plan_data)
        elif instruction.strip():
            scope = await asyncio.to_thread(files_in_scope, root, patterns)
            planned = await make_plan(engine, instruction, root, scope, read, report)
            plan, planner = planned.plan, planned.attempts
        else:
            raise JobError("a job needs an instruction or a plan")
        units = await asyncio.to_thread(resolve, plan, root, read)
    except (PlanError, ScopeError) as exc:
        raise JobError(str(exc)) from None
    files = {r.path: f for r in units if (f := cache.get(r.path)) is not None}
    hashes = {str(p.relative_to(root)): text_hash(f.text) for p, f in files.items()}
    job_id = resume or uuid.uuid4().hex[:8]
    if resume and journal is not None:
        record = await asyncio.to_thread(journal.load, resume)
        assert record is not None
        stale = [uid for uid in finished if _path_of(plan, uid) not in _same(record.hashes, hashes)]
        for uid in stale:
            finished.pop(uid)
        await _quietly(journal.forget_units, job_id, stale)
        await _quietly(journal.set_hashes, job_id, hashes)
        await _quietly(journal.set_state, job_id, "running")
    elif journal is not None:
        await _quietly(journal.create, job_id, str(root), plan.goal, plan.to_json(), hashes)
    claude_model = engine.settings.claude.model
    return Job(job_id, root, plan, tuple(units), files, finished,
               claude_cost(planner), all_claude_cost(planner, claude_model))  # fmt: skip


def _same(old: dict[str, str], new: dict[str, str]) -> set[str]:
    return {path for path, digest in new.items() if old.get(path) == digest}


def _path_of(plan: Plan, unit_id: str) -> str:
    unit = next((u for u in plan.units if u.id == unit_id), None)
    return str(Path(unit.path)) if unit else ""


async def _resumed(
    journal: JobJournal | None, job_id: str, root: Path
) -> tuple[Plan, dict[str, UnitResult], Path]:
    if journal is None:
        raise JobError("the job journal is unavailable, so no job can be resumed")
    record = await asyncio.to_thread(journal.load, job_id)
    if record is None:
        raise JobError(f"no job {job_id!r} in the journal {journal.path}")
    if record.state == "applied":
        raise JobError(f"job {job_id} was applied already")
    plan = parse_plan(record.plan)
    journalled = (UnitResult.from_json(data) for data in record.units.values())
    finished = {r.id: r for r in journalled if r.ok}  # a failed unit gets another chance
    return plan, finished, Path(record.root)


async def run(
    engine: Engine,
    journal: JobJournal | None,
    job: Job,
    report: Report,
    read_file: Callable[[Path], str | None] = lambda _p: None,
) -> dict[str, UnitResult]:
    """Run what is left of the job; every finished unit is journalled as it finishes."""

    async def journal_unit(result: UnitResult) -> None:
        if journal is not None:
            await _quietly(journal.save_unit, job.id, result.id, result.to_json())

    runner = JobRun(
        engine,
        job.units,
        job.files,
        slots=job_slots(engine),
        report=report,
        finished=job.finished,
        on_finished=journal_unit,
        read_file=read_file,
    )
    return await runner.run()


async def set_state(journal: JobJournal | None, job: Job, state: str) -> None:
    if journal is not None:
        await _quietly(journal.set_state, job.id, state)


async def _quietly(write: Callable[..., None], *args: Any) -> None:
    """A journal write off the loop; bookkeeping never fails the job (only its resume)."""
    try:
        await asyncio.to_thread(write, *args)
    except sqlite3.Error:
        log.exception("the job journal could not record %s", write.__name__)


def plan_summary(job: Job) -> dict[str, Any]:
    files = sorted({u.unit.path for u in job.units})
    return {"job": job.id, "units": len(job.units), "files": files}
