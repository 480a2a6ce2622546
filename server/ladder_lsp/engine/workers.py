"""Parallel local workers: fan one action out over the top-level definitions of a range.

Each chunk is an ordinary run (routing, checks, retry, escalation of its own), so a failing
chunk costs only itself; up to `local.maxParallel` run at once (the backend's semaphore), and
the successful chunks' edits — whole lines, never overlapping — merge into one edit against
the one document version they were all computed from. Cancelling cancels every chunk.
"""

from __future__ import annotations

import asyncio
import logging

import attrs

from ladder_lsp.backends.base import Tier
from ladder_lsp.engine.engine import Engine
from ladder_lsp.engine.fanout import split_chunks
from ladder_lsp.engine.run_types import Attempt, Report, RunInput, RunOutcome, Status
from ladder_lsp.pipeline.edits import LineEdit
from ladder_lsp.pipeline.target import make_target

log = logging.getLogger(__name__)


async def run_workers(engine: Engine, inp: RunInput, report: Report) -> RunOutcome:
    """Fan out: each top-level definition in the target runs (and is checked, retried,
    escalated) on its own, up to `local.maxParallel` at once; the successful chunks merge
    into one set of edits against the same document version."""
    target = inp.target
    spans = await asyncio.to_thread(
        split_chunks, inp.language, target.lines, target.start_line, target.end_line
    )
    if len(spans) < 2:
        return await engine.run(inp, report)
    total = len(spans)
    done = 0
    latest = ""

    def chunk_report(message: str) -> None:
        nonlocal latest
        latest = message
        report(f"{done}/{total} done · {message}")

    async def one(span: tuple[int, int]) -> RunOutcome:
        nonlocal done
        sub = make_target(target.uri, target.version, target.lines, (span[0], 0), (span[1], 0))
        outcome = await engine.run(attrs.evolve(inp, target=sub), chunk_report)
        done += 1
        report(f"{done}/{total} done" + (f" · {latest}" if latest else ""))
        return outcome

    report(f"0/{total} done · {total} definitions")
    results = await asyncio.gather(*(one(span) for span in spans), return_exceptions=True)
    return _merge(inp, spans, results)


def _merge(
    inp: RunInput, spans: list[tuple[int, int]], results: list[RunOutcome | BaseException]
) -> RunOutcome:
    """One outcome for a fanned-out run: all successful chunks' edits, and what failed."""
    for result in results:
        if isinstance(result, asyncio.CancelledError):
            raise result
    edits: list[LineEdit] = []
    failures: list[str] = []
    steps: list[str] = []
    attempts: list[Attempt] = []
    tiers: set[Tier] = set()
    models: list[str] = []
    for (start, _end), result in zip(spans, results, strict=True):
        if isinstance(result, BaseException):
            log.error("chunk at line %d crashed", start + 1, exc_info=result)
            failures.append(f"line {start + 1}: internal error")
            continue
        steps.extend(f"line {start + 1}: {step}" for step in result.steps)
        attempts.extend(result.attempts)
        if result.status == "edit":
            edits.extend(result.edits)
            if result.tier:
                tiers.add(result.tier)
            models.append(result.model)
        elif result.status != "no-change":
            failures.append(f"line {start + 1}: {result.message}")
    edits.sort(key=lambda e: e.start_line)
    n, ok = len(spans), len(spans) - len(failures)
    tier = Tier.CLAUDE if Tier.CLAUDE in tiers else (Tier.LOCAL if tiers else None)
    model = ", ".join(sorted(set(models)))
    if not edits:
        status: Status = "failed" if failures else "no-change"
        detail = "; ".join(failures) if failures else "the model changed nothing"
        message = f"No edit: {ok} of {n} definitions passed, none changed. {detail}"
        return RunOutcome(
            status, message, tier, model, steps=tuple(steps), attempts=tuple(attempts)
        )
    by = " and ".join(t.label for t in sorted(tiers, key=lambda t: t.value))
    message = f"{inp.spec.verb} by {by} workers: {ok} of {n} definitions done"
    if failures:
        message += f"; left unchanged: {'; '.join(failures)}"
    return RunOutcome(
        "edit",
        message + ".",
        tier,
        model,
        edits=tuple(edits),
        steps=tuple(steps),
        attempts=tuple(attempts),
    )
