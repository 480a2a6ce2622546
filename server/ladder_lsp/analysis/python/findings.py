"""pyflakes findings a guard understands (undefined names, unused imports and variables,
redefinitions), for a unit, made to hold for the whole document.
"""

from __future__ import annotations

import functools

import attrs

from ladder_lsp.analysis.python.names import bound_names, module_names, used_as_word
from ladder_lsp.analysis.python.parse import parse
from ladder_lsp.analysis.python.units import Unit

FINDING_KINDS = frozenset(
    {"UndefinedName", "UndefinedLocal", "UnusedImport", "RedefinedWhileUnused", "UnusedVariable"}
)


@attrs.frozen
class Finding:
    kind: str  # pyflakes message class
    name: str
    line: int  # 1-based, in the analysed text

    @property
    def key(self) -> tuple[str, str]:
        return self.kind, self.name


@functools.lru_cache(maxsize=32)
def pyflakes_findings(text: str) -> tuple[Finding, ...]:
    """pyflakes' messages about `text` that guards understand; () when it does not parse."""
    tree = parse(text)
    if tree is None:
        return ()
    from pyflakes import checker

    found: list[Finding] = []
    for message in checker.Checker(tree, filename="<ladder>").messages:
        kind = type(message).__name__
        if kind not in FINDING_KINDS:
            continue
        args = getattr(message, "message_args", ())
        name = str(args[0]) if args else ""
        found.append(Finding(kind, name, int(getattr(message, "lineno", 0) or 0)))
    return tuple(found)


def unit_findings(unit: Unit, lines: tuple[str, ...], new: bool) -> set[tuple[str, str]] | None:
    """(kind, name) of the unit's findings that hold for the whole document: names bound at
    module level elsewhere are defined, imports used elsewhere are used. None when the unit
    does not parse."""
    text = unit.new_text if new else unit.old_text
    if parse(text) is None:
        return None
    findings = pyflakes_findings(text)
    if unit.whole:
        return {f.key for f in findings}
    module = module_names(lines, unit.top)
    outside: str | None = None
    keys: set[tuple[str, str]] = set()
    for finding in findings:
        if finding.kind == "UndefinedName" and (module.star or finding.name in module.names):
            continue
        if finding.kind == "UnusedImport":
            if outside is None:
                outside = "".join(lines[: unit.top[0]]) + "".join(lines[unit.top[1] :])
            if any(used_as_word(outside, name) for name in bound_names(finding.name)):
                continue
        keys.add(finding.key)
    return keys


def describe(kind: str, name: str) -> str:
    """A finding in words, for a reason."""
    if kind == "UndefinedName":
        return f"new undefined name `{name}`"
    if kind == "UndefinedLocal":
        return f"`{name}` is used before it is assigned"
    if kind == "UnusedImport":
        return f"new unused import `{name}`"
    if kind == "RedefinedWhileUnused":
        return f"redefines `{name}`"
    if kind == "UnusedVariable":
        return f"new unused variable `{name}`"
    return f"new problem with `{name}`"
