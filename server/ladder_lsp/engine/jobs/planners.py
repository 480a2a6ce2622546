"""Planners: an instruction and a scope in, a validated `Plan` out.

A built-in verb needs no model ("add docstrings to every public function without one" is one
docstring unit per such function, from the outline). Anything else goes to a model with the
scope's outline (never whole files; local-only files by path only): Claude when it may be
used without asking (routing not `local`, a key, budget left), else the local model. The
answer is the plan as JSON, parsed and validated like a plan file; a model that cannot plan
is a clear message, never a partial plan.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from ladder_lsp.analysis.languages import language_from_path
from ladder_lsp.analysis.python.outline import outline
from ladder_lsp.analysis.text import split_lines
from ladder_lsp.backends.base import AnswerTool, BackendError, ChatRequest, StreamEvent, Tier
from ladder_lsp.engine.delivery import record_plan
from ladder_lsp.engine.jobs.plan import (
    ACTIONS,
    PLAN_SCHEMA,
    RUNNABLE,
    Plan,
    PlanError,
    Unit,
    parse_plan,
)
from ladder_lsp.engine.jobs.scope import outline_of
from ladder_lsp.engine.run_types import Attempt, Report
from ladder_lsp.pipeline.fences import fenced_blocks

if TYPE_CHECKING:
    from ladder_lsp.engine.engine import Engine

_DOCSTRINGS = re.compile(r"^\s*(add|write|generate)\b.*\bdocstrings?\b", re.I)
PLAN_SYSTEM = (
    "You split a refactoring job over a codebase into independent units of work for small "
    "local models. Answer with one JSON object only, no prose: "
    '{"goal": str, "units": [{"id": str, "path": str, "symbol": str (a definition from the '
    'outline, e.g. "Cart.total") or "lines": [first, last], "action": one of '
    + ", ".join(RUNNABLE)
    + ', "instruction": str (what to do, for this unit), "dependsOn": [ids]}]}. '
    "Units of one file must not overlap. Prefer one unit per function or method. Use only "
    "paths and definitions from the outline; a file marked localOnly gets whole-file units."
)

PLAN_TOOL = AnswerTool("plan", "The job's plan: its units of work.", json.dumps(PLAN_SCHEMA))


def builtin_plan(
    instruction: str, root: Path, files: Sequence[Path], read: Callable[[Path], str | None]
) -> Plan | None:
    """The plan for a built-in verb, or None when the instruction is not one."""
    if not _DOCSTRINGS.search(instruction):
        return None
    classes = bool(re.search(r"\bclass(es)?\b", instruction, re.I))
    units: list[Unit] = []
    for path in files:
        if language_from_path(str(path)) != "python":
            continue
        text = read(path)
        symbols = outline(text) if text is not None else None
        rel = str(path.relative_to(root))
        for s in symbols or ():
            if s.public and not s.has_docstring and (s.kind == "function" or classes):
                units.append(
                    Unit(id=f"{rel}:{s.name}", path=rel, action="docstring", symbol=s.name)
                )
    # a class unit covers its methods: keep the methods, drop the class (no overlap)
    if classes:
        units = [u for u in units if not any(o.symbol and o is not u and o.path == u.path and
                 o.symbol.startswith(f"{u.symbol}.") for o in units)]  # fmt: skip
    return Plan(instruction, tuple(units))


@attrs.frozen
class Planned:
    plan: Plan
    attempts: tuple[Attempt, ...] = ()  # the planner's model call (none for a built-in verb)


async def make_plan(
    engine: Engine,
    instruction: str,
    root: Path,
    files: Sequence[Path],
    read: Callable[[Path], str | None],
    report: Report,
) -> Planned:
    """Built-in verb, else Claude when it may be used (within the budget, reserved like any
    Claude call), else the local model. A model's call is a ledger row of its own."""
    plan = await asyncio.to_thread(builtin_plan, instruction, root, files, read)  # parses
    if plan is not None:
        if not plan.units:
            raise PlanError(f"nothing to do: no unit in scope needs it ({instruction!r})")
        return Planned(plan)
    settings = engine.settings
    scope = await asyncio.to_thread(outline_of, root, files, read, settings.privacy.local_only)
    request = ChatRequest(
        system=PLAN_SYSTEM,
        user=f"Job: {instruction}\n\nOutline of the scope (JSON):\n{json.dumps(scope)}",
        max_tokens=4096,
        temperature=0.0,
        tool=PLAN_TOOL,  # Claude answers through tool use; the local model as JSON text
    )
    tier, spend_key = Tier.LOCAL, ""
    if _claude_may_plan(engine):
        key = uuid.uuid4().hex
        if not await engine.reserve_budget(request, key, explicit=False):
            tier, spend_key = Tier.CLAUDE, key
    backend = engine.claude() if tier is Tier.CLAUDE else engine.local_backend()
    if backend is None:
        raise PlanError("no model can plan this job: Claude is not configured")
    report(f"planning with {tier.label}")

    def on_event(_event: StreamEvent) -> None:
        return None

    started = time.monotonic()
    try:
        completion = await engine.complete(backend, request, on_event, spend_key)
    except BackendError as exc:
        raise PlanError(f"{tier.label} could not plan the job: {exc.message}") from None
    attempt = Attempt(tier, completion.model, completion.usage, completion.endpoint, spend_key)
    await record_plan(engine.ledger, attempt, str(root), time.monotonic() - started)
    return Planned(plan_from_answer(completion.text, instruction), (attempt,))


def _claude_may_plan(engine: Engine) -> bool:
    """Claude may be used without asking (the budget is checked when the call is reserved)."""
    settings = engine.settings
    if settings.routing.mode == "local" or not engine.claude_key():
        return False
    return settings.budget.daily_usd > 0


def plan_from_answer(text: str, instruction: str) -> Plan:
    """A model's answer as a plan: the JSON object in it (fenced or bare), validated."""
    blocks = fenced_blocks(split_lines(text), "json")
    candidates = ["".join(b.lines) for b in blocks] + [text]
    for candidate in candidates:
        start, end = candidate.find("{"), candidate.rfind("}")
        if start < 0 or end <= start:
            continue
        try:
            data = json.loads(candidate[start : end + 1])
        except json.JSONDecodeError:
            continue
        if isinstance(data, dict) and not data.get("goal"):
            data["goal"] = instruction
        return parse_plan(data)
    raise PlanError(
        f"the planner's answer is not a plan (a JSON object with units of {', '.join(ACTIONS)})"
    )
