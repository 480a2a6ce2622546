"""Names module-level code binds (a line scan, outside the unit) and names code reads: what
lets a unit's findings hold for the whole document.
"""

from __future__ import annotations

import ast
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


def _bind(stripped: str, names: set[str], imports: set[str]) -> tuple[bool, bool]:
    """Record what one statement line binds; (star import?, `from … import (` left open?)."""
    match = _BIND_DEF.match(stripped)
    if match:
        names.add(match.group(1))
        return False, False
    match = _BIND_FROM.match(stripped)
    if match:
        spec = match.group(1)
        found = list(_import_names(spec))
        names.update(found)
        imports.update(found)
        return spec.strip().startswith("*"), "(" in spec and ")" not in spec
    match = _BIND_IMPORT.match(stripped)
    if match:
        found = list(_import_names(match.group(1)))
        names.update(found)
        imports.update(found)
        return False, False
    match = _BIND_FOR.match(stripped)
    if match:
        names.update(_IDENT.findall(match.group(1)))
    names.update(_BIND_AS.findall(stripped))
    match = _BIND_ASSIGN.match(stripped)
    if match:
        names.update(_IDENT.findall(match.group(1)))
    return False, False


@last_by_identity  # each check asks of the same snapshot: no need to hash it
@functools.lru_cache(maxsize=8)  # another snapshot of the same text (a run repeated)
def module_names(lines: tuple[str, ...], skip: tuple[int, int]) -> ModuleNames:
    """Names bound at module level outside lines [skip): a line scan, generous on purpose
    (a name wrongly thought defined only hides a finding; the reverse rejects good code).
    Only top-level lines are read, plus the bodies of top-level `if`/`try`/`with`/`for`
    statements and `global` declarations: def and class bodies are skipped unread."""
    names: set[str] = set()
    imports: set[str] = set()
    star = False
    tops = [i for i, line in enumerate(lines) if line[:1] not in _NOT_TOP]
    for position, index in enumerate(tops):
        if skip[0] <= index < skip[1]:
            continue
        stripped = lines[index].strip()
        if stripped.startswith("@"):
            continue
        starred, open_from = _bind(stripped, names, imports)
        star = star or starred
        region = range(index + 1, tops[position + 1] if position + 1 < len(tops) else len(lines))
        if open_from:
            for inner in region:
                found = list(_import_names(lines[inner].strip()))
                names.update(found)
                imports.update(found)
                if ")" in lines[inner]:
                    break
        elif _COMPOUND.match(stripped):
            for inner in region:
                if not skip[0] <= inner < skip[1]:
                    starred, _ = _bind(lines[inner].strip(), names, imports)
                    star = star or starred
    if "global" in "".join(lines):  # one pass in C; the line loop only in a file with one
        for index, line in enumerate(lines):
            if "global" in line and not skip[0] <= index < skip[1]:
                glob = _BIND_GLOBAL.match(line)
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
