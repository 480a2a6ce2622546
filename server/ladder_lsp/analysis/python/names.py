"""Names module-level code binds (a line scan, outside the unit) and names code reads: what
lets a unit's findings hold for the whole document.
"""

from __future__ import annotations

import ast
import bisect
import functools
import re
from collections.abc import Iterator

import attrs

from ladder_lsp.analysis.memo import last_by_identity

_BIND_DEF = re.compile(r"(?:async\s+)?(?:def|class)\s+(\w+)")
_BIND_IMPORT = re.compile(r"import\s+(.+)")
_BIND_FROM = re.compile(r"from\s+\S+\s+import\s+(.+)")
_BIND_ASSIGN = re.compile(r"([\w\s,()\[\]*.]+?)\s*(?::[^=]*)?(?<![=!<>+\-*/%&|^@])=(?!=)")
_BIND_FOR = re.compile(r"(?:async\s+)?for\s+(.+?)\s+in\b")
_BIND_AS = re.compile(r"\bas\s+(\w+)")
_BIND_GLOBAL = re.compile(r"\s*global\s+([\w\s,]+)")
_IDENT = re.compile(r"[A-Za-z_]\w*")


@attrs.frozen
class ModuleNames:
    names: frozenset[str]
    imports: frozenset[str]
    star: bool  # `from x import *` somewhere: any name may be defined


def _import_names(spec: str) -> Iterator[str]:
    for part in spec.replace("(", " ").replace(")", " ").split(","):
        words = part.split("#", 1)[0].split()
        if not words:
            continue
        if len(words) >= 3 and words[-2] == "as":
            yield words[-1]
        else:
            yield words[0].split(".")[0]


_COMPOUND = re.compile(r"(?:if|elif|else|try|except|finally|with|for|while|async)\b")
_NOT_TOP = frozenset(" \t\n#")


@attrs.frozen
class _Bound:
    """What one statement line binds (`_binding`): kept per line text, as most lines of a
    snapshot are the lines of the one before."""

    names: frozenset[str]
    imports: frozenset[str]
    star: bool  # `from x import *`
    open_from: bool  # `from … import (` left open: the names follow on the next lines
    compound: bool  # `if`/`try`/`with`/`for`…: its body's lines bind at module level too


_NOTHING = _Bound(frozenset(), frozenset(), False, False, False)


@functools.lru_cache(maxsize=8192)  # the top-level lines of a 100,000-line file
def _binding(line: str) -> _Bound:
    """What a statement line binds; a decorator line binds nothing (its def does)."""
    stripped = line.strip()
    if stripped.startswith("@"):
        return _NOTHING
    compound = _COMPOUND.match(stripped) is not None
    match = _BIND_DEF.match(stripped)
    if match:
        return _Bound(frozenset((match.group(1),)), frozenset(), False, False, compound)
    match = _BIND_FROM.match(stripped) or _BIND_IMPORT.match(stripped)
    if match:
        spec = match.group(1)
        found = frozenset(_import_names(spec))
        if match.re is _BIND_IMPORT:
            return _Bound(found, found, False, False, compound)
        star, open_from = spec.strip().startswith("*"), "(" in spec and ")" not in spec
        return _Bound(found, found, star, open_from, compound)
    names: set[str] = set()
    match = _BIND_FOR.match(stripped)
    if match:
        names.update(_IDENT.findall(match.group(1)))
    names.update(_BIND_AS.findall(stripped))
    match = _BIND_ASSIGN.match(stripped)
    if match:
        names.update(_IDENT.findall(match.group(1)))
    return _Bound(frozenset(names), frozenset(), False, False, compound)


@attrs.frozen
class _Scan:
    """Which lines of a snapshot are top-level (start at column 0) and which say `global`,
    with the names already read for it (by `skip`)."""

    lines: tuple[str, ...]
    tops: list[int]
    globals: list[int]
    names: dict[tuple[int, int], ModuleNames] = attrs.field(factory=dict)


_last_scan: _Scan | None = None  # one slot, replaced whole (a worker thread may ask too)


def _scan(lines: tuple[str, ...]) -> _Scan:
    """The scan of `lines`, reading only the lines that differ from the last snapshot
    scanned: an edit leaves the lines around it as they were (the same objects, which C
    compares at once), so after a keystroke in a 20,000-line file this reads a few lines,
    not all of them (4.5 ms)."""
    global _last_scan
    last = _last_scan
    before = last.lines if last is not None else ()
    same_head = _common_prefix(before, lines)
    same_tail = _common_suffix(before, lines, min(len(before), len(lines)) - same_head)
    if last is not None and same_head == len(before) == len(lines):
        return last
    changed = range(same_head, len(lines) - same_tail)
    old_end, shift = len(before) - same_tail, len(lines) - len(before)
    scan = _Scan(
        lines,
        _spliced(last.tops if last else [], same_head, old_end, shift, [
            i for i in changed if lines[i][:1] not in _NOT_TOP
        ]),
        _spliced(last.globals if last else [], same_head, old_end, shift, [
            i for i in changed if "global" in lines[i]
        ]),
    )  # fmt: skip
    _last_scan = scan
    return scan


def _spliced(
    indexes: list[int], start: int, old_end: int, shift: int, found: list[int]
) -> list[int]:
    """Sorted line indexes of the last scan with those in [start, old_end) replaced by
    `found` and the ones after moved by `shift` lines."""
    head = indexes[: bisect.bisect_left(indexes, start)]
    tail = indexes[bisect.bisect_left(indexes, old_end) :]
    return head + found + ([i + shift for i in tail] if shift else tail)


def _common_prefix(a: tuple[str, ...], b: tuple[str, ...]) -> int:
    """How many first lines `a` and `b` share: halving, each step comparing only lines not
    compared yet (in C), so about len(a) comparisons in all."""
    low, high = 0, min(len(a), len(b))
    while low < high:  # a[:low] == b[:low]; they differ before `high` + 1
        mid = (low + high + 1) // 2
        if a[low:mid] == b[low:mid]:
            low = mid
        else:
            high = mid - 1
    return low


def _common_suffix(a: tuple[str, ...], b: tuple[str, ...], limit: int) -> int:
    """How many last lines (at most `limit`) `a` and `b` share."""
    low, high = 0, limit
    while low < high:
        mid = (low + high + 1) // 2
        if a[len(a) - mid : len(a) - low] == b[len(b) - mid : len(b) - low]:
            low = mid
        else:
            high = mid - 1
    return low


@last_by_identity  # each check asks of the same snapshot: no need to compare it
def module_names(lines: tuple[str, ...], skip: tuple[int, int]) -> ModuleNames:
    """Names bound at module level outside lines [skip): a line scan, generous on purpose
    (a name wrongly thought defined only hides a finding; the reverse rejects good code).
    Only top-level lines are read, plus the bodies of top-level `if`/`try`/`with`/`for`
    statements and `global` declarations: def and class bodies are skipped unread."""
    scan = _scan(lines)
    known = scan.names.get(skip)
    if known is None:
        known = scan.names[skip] = _names(scan, skip)
    return known


def _names(scan: _Scan, skip: tuple[int, int]) -> ModuleNames:
    lines, tops = scan.lines, scan.tops
    names: set[str] = set()
    imports: set[str] = set()
    star = False
    for position, index in enumerate(tops):
        if skip[0] <= index < skip[1]:
            continue
        bound = _binding(lines[index])
        names |= bound.names
        imports |= bound.imports
        star = star or bound.star
        if not (bound.open_from or bound.compound):
            continue
        region = range(index + 1, tops[position + 1] if position + 1 < len(tops) else len(lines))
        if bound.open_from:
            for inner in region:
                found = list(_import_names(lines[inner].strip()))
                names.update(found)
                imports.update(found)
                if ")" in lines[inner]:
                    break
        else:
            for inner in region:
                if not skip[0] <= inner < skip[1]:
                    inner_bound = _binding(lines[inner])
                    names |= inner_bound.names
                    imports |= inner_bound.imports
                    star = star or inner_bound.star
    for index in scan.globals:
        if not skip[0] <= index < skip[1]:
            glob = _BIND_GLOBAL.match(lines[index])
            if glob:
                names.update(_IDENT.findall(glob.group(1)))
    return ModuleNames(frozenset(names), frozenset(imports), star)


def bound_names(import_text: str) -> set[str]:
    """Names an UnusedImport message's text may stand for (`a.b as c` → c; `a.b` → a, b)."""
    if " as " in import_text:
        return {import_text.rsplit(" as ", 1)[1].strip()}
    parts = import_text.split(".")
    return {parts[0], parts[-1]}


@functools.lru_cache(maxsize=32)
def loaded_names(tree: ast.AST) -> frozenset[str]:
    """Every name the code reads (`x`, and `os` in `os.path`). Cached by tree, as `flow`
    is: the original's tree is the parse cache's, read once per document version."""
    return frozenset(
        node.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Store)
    )


def used_as_word(text: str, name: str) -> bool:
    return re.search(rf"(?<![\w.]){re.escape(name)}\b", text) is not None
