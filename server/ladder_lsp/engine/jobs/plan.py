"""A job's plan: units of work, each one action on one definition or line range of one file.

The plan is what users, scripts and planners write (JSON, `Plan.to_json` round-trips), so it
is validated before anything runs: its shape (`parse_plan`), then against the workspace
(`resolve`): paths inside the workspace and readable, symbols that exist, line ranges inside
the file, no two units of one file overlapping (their edits merge into one edit), `dependsOn`
naming known units without cycles. Every refusal names the unit.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import attrs

from ladder_lsp.analysis.languages import language_from_path
from ladder_lsp.analysis.python.outline import outline
from ladder_lsp.analysis.text import split_lines

ACTIONS = ("refactor", "docstring", "fix", "tests", "edit")
RUNNABLE = ("refactor", "docstring", "fix", "edit")  # `tests` writes another file: not yet


# The plan file's shape as JSON Schema: what a planner with tool use must answer (the checks
# below hold for every plan, however it was made).
PLAN_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "goal": {"type": "string"},
        "units": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "id": {"type": "string"},
                    "path": {"type": "string", "description": "workspace-relative"},
                    "symbol": {"type": "string", "description": "a definition, e.g. Cart.total"},
                    "lines": {"type": "array", "items": {"type": "integer"}, "minItems": 2,
                              "maxItems": 2, "description": "[first, last], 1-based"},
                    "action": {"type": "string", "enum": list(RUNNABLE)},
                    "instruction": {"type": "string"},
                    "dependsOn": {"type": "array", "items": {"type": "string"}},
                },
                "required": ["id", "path", "action"],
            },
        },
    },
    "required": ["goal", "units"],
}  # fmt: skip


class PlanError(Exception):
    """The plan cannot run; the message says which unit and why."""


@attrs.frozen
class Unit:
    id: str
    path: str  # workspace-relative, as written in the plan
    action: str
    symbol: str | None = None  # `Cart.total`
    lines: tuple[int, int] | None = None  # 1-based, inclusive
    instruction: str = ""
    depends_on: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "path": self.path}
        if self.symbol is not None:
            out["symbol"] = self.symbol
        if self.lines is not None:
            out["lines"] = list(self.lines)
        out["action"] = self.action
        if self.instruction:
            out["instruction"] = self.instruction
        if self.depends_on:
            out["dependsOn"] = list(self.depends_on)
        return out

    @property
    def where(self) -> str:
        """`Cart.total`, or `lines 3-9`: for labels and messages."""
        if self.symbol:
            return self.symbol
        if self.lines:
            return f"lines {self.lines[0]}-{self.lines[1]}"
        return "whole file"


@attrs.frozen
class Plan:
    goal: str
    units: tuple[Unit, ...]

    def to_json(self) -> dict[str, Any]:
        return {"goal": self.goal, "units": [u.to_json() for u in self.units]}


@attrs.frozen
class Resolved:
    """A unit placed in its file: what the runner needs."""

    unit: Unit
    path: Path  # absolute
    language: str
    start: int  # 0-based first line
    end: int  # exclusive


def parse_plan(data: object) -> Plan:
    """A plan from decoded JSON; PlanError says what is wrong and where."""
    if not isinstance(data, dict):
        raise PlanError('a plan is a JSON object: {"goal": ..., "units": [...]}')
    goal = data.get("goal", "")
    if not isinstance(goal, str):
        raise PlanError("the plan's goal must be a string")
    raw_units = data.get("units")
    if not isinstance(raw_units, list) or not raw_units:
        raise PlanError('the plan needs a non-empty list "units"')
    units = [_unit(i, raw) for i, raw in enumerate(raw_units, 1)]
    seen: set[str] = set()
    for unit in units:
        if unit.id in seen:
            raise PlanError(f"unit {unit.id!r}: the id is used twice")
        seen.add(unit.id)
    return Plan(goal, tuple(units))


def _unit(index: int, raw: object) -> Unit:
    if not isinstance(raw, dict):
        raise PlanError(f"unit {index}: each unit is an object")
    uid = raw.get("id")
    if not isinstance(uid, str) or not uid.strip():
        raise PlanError(f"unit {index}: needs a string id")
    name = f"unit {uid!r}"
    path = raw.get("path")
    if not isinstance(path, str) or not path.strip():
        raise PlanError(f"{name}: needs a path (workspace-relative)")
    action = raw.get("action")
    if action not in ACTIONS:
        raise PlanError(f"{name}: action must be one of {', '.join(ACTIONS)} (got {action!r})")
    symbol = raw.get("symbol")
    if symbol is not None and (not isinstance(symbol, str) or not symbol):
        raise PlanError(f"{name}: symbol must be a name such as Cart.total")
    lines = raw.get("lines")
    if lines is not None:
        ok = (
            isinstance(lines, list)
            and len(lines) == 2
            and all(isinstance(n, int) and not isinstance(n, bool) for n in lines)
            and 1 <= lines[0] <= lines[1]
        )
        if not ok:
            raise PlanError(f"{name}: lines must be [first, last], 1-based, first <= last")
    if symbol is not None and lines is not None:
        raise PlanError(f"{name}: give symbol or lines, not both")
    instruction = raw.get("instruction", "")
    if not isinstance(instruction, str):
        raise PlanError(f"{name}: instruction must be a string")
    if action == "edit" and not instruction.strip():
        raise PlanError(f"{name}: an edit unit needs an instruction")
    depends = raw.get("dependsOn", [])
    if not isinstance(depends, list) or not all(isinstance(d, str) for d in depends):
        raise PlanError(f"{name}: dependsOn must be a list of unit ids")
    return Unit(
        id=uid,
        path=path,
        action=action,
        symbol=symbol,
        lines=(lines[0], lines[1]) if lines is not None else None,
        instruction=instruction,
        depends_on=tuple(depends),
    )


def resolve(plan: Plan, root: Path, read: Callable[[Path], str | None]) -> list[Resolved]:
    """Every unit placed in its file, or PlanError naming the first unit that cannot be."""
    root = Path(os.path.realpath(root))
    texts: dict[Path, str] = {}
    placed: list[Resolved] = []
    for unit in plan.units:
        name = f"unit {unit.id!r}"
        if unit.action not in RUNNABLE:
            raise PlanError(f"{name}: {unit.action} units are not supported in jobs yet")
        path = _inside(root, unit.path, name)
        if path not in texts:
            text = read(path)
            if text is None:
                raise PlanError(f"{name}: {unit.path} does not exist or is not UTF-8 text")
            texts[path] = text
        text = texts[path]
        start, end = _span(unit, text, name)
        placed.append(Resolved(unit, path, language_from_path(str(path)), start, end))
    _no_overlaps(placed)
    _dependencies_sound(plan.units)
    return placed


def _inside(root: Path, relative: str, name: str) -> Path:
    if os.path.isabs(relative):
        raise PlanError(f"{name}: path {relative!r} must be relative to the workspace")
    path = Path(os.path.realpath(root / relative))
    if not path.is_relative_to(root):
        raise PlanError(f"{name}: path {relative!r} is outside the workspace {root}")
    return path


def _span(unit: Unit, text: str, name: str) -> tuple[int, int]:
    lines = split_lines(text)
    if unit.lines is not None:
        first, last = unit.lines
        if last > len(lines):
            raise PlanError(
                f"{name}: lines {first}-{last} are outside {unit.path} (1-{len(lines)})"
            )
        return first - 1, last
    if unit.symbol is None:
        return 0, len(lines)
    if language_from_path(unit.path) != "python":
        raise PlanError(f"{name}: symbols are found in Python files; give lines for {unit.path}")
    symbols = outline(text)
    if symbols is None:
        raise PlanError(f"{name}: {unit.path} does not parse, so {unit.symbol} cannot be found")
    found = next((s for s in symbols if s.name == unit.symbol), None)
    if found is None:
        known = ", ".join(s.name for s in symbols[:12]) or "none"
        raise PlanError(f"{name}: no symbol {unit.symbol!r} in {unit.path} (it has: {known})")
    return found.start, found.end


def _no_overlaps(placed: Sequence[Resolved]) -> None:
    by_file: dict[Path, list[Resolved]] = {}
    for r in placed:
        by_file.setdefault(r.path, []).append(r)
    for group in by_file.values():
        group.sort(key=lambda r: (r.start, r.end))
        for a, b in itertools.pairwise(group):
            if b.start < a.end:
                raise PlanError(
                    f"unit {b.unit.id!r} overlaps unit {a.unit.id!r} in {a.unit.path} "
                    f"({b.unit.where} and {a.unit.where}): units of one file must not overlap"
                )


def _dependencies_sound(units: Sequence[Unit]) -> None:
    ids = {u.id for u in units}
    for u in units:
        for dep in u.depends_on:
            if dep not in ids:
                raise PlanError(f"unit {u.id!r}: depends on unknown unit {dep!r}")
    graph = {u.id: u.depends_on for u in units}
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(uid: str, path: list[str]) -> None:
        state[uid] = 1
        for dep in graph[uid]:
            if state.get(dep) == 1:
                cycle = [*path[path.index(dep) :], dep] if dep in path else [uid, dep]
                raise PlanError(f"unit {uid!r}: dependsOn makes a cycle: {' -> '.join(cycle)}")
            if state.get(dep) is None:
                visit(dep, [*path, dep])
        state[uid] = 2

    for u in units:
        if state.get(u.id) is None:
            visit(u.id, [u.id])
