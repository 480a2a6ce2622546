"""Where the `tests` action writes, and how generated tests join an existing test file.

The test file sits next to the source (`pkg/cart.py` → `pkg/test_cart.py`), the convention
pytest, Jest and Go all discover. The path is computed here, never taken from the model, so an
answer cannot point Ladder at another file.
"""

from __future__ import annotations

from pathlib import Path

import attrs

_JS_LIKE = {".js", ".jsx", ".ts", ".tsx", ".mjs", ".cjs"}


@attrs.frozen
class TestFilePlan:
    path: Path
    import_hint: str  # how the tests should import the code under test


def plan_for(source: Path, language: str) -> TestFilePlan:
    suffix = source.suffix
    stem = source.stem
    if language == "python" or suffix == ".py":
        return TestFilePlan(source.with_name(f"test_{stem}.py"), _python_import(source))
    if language == "go" or suffix == ".go":
        return TestFilePlan(source.with_name(f"{stem}_test.go"), "same package")
    if suffix in _JS_LIKE:
        return TestFilePlan(source.with_name(f"{stem}.test{suffix}"), f"import from './{stem}'")
    if language == "rust" or suffix == ".rs":
        return TestFilePlan(source.with_name(f"{stem}_tests.rs"), f"use super::{stem}")
    return TestFilePlan(source.with_name(f"test_{source.name}"), f"the file {source.name}")


def _python_import(source: Path) -> str:
    """`import cart` for a top-level module; the dotted package path inside a package."""
    parts = [source.stem]
    parent = source.parent
    while (parent / "__init__.py").exists() and parent.parent != parent:
        parts.insert(0, parent.name)
        parent = parent.parent
    return f"import {'.'.join(parts)}  (or: from {'.'.join(parts)} import ...)"


def merge_generated(existing: str, generated: str) -> str:
    """Text to append to an existing test file: the new code minus the imports (and Go
    `package` clause) it already has. Statements spanning lines (`from x import (`…`)`) are
    compared whole, and `from __future__` imports, legal only at the top, are left out."""
    have = {_normalize(stmt) for stmt in _top_level_statements(existing.splitlines())}
    kept: list[str] = []
    for stmt in _top_level_statements(generated.splitlines()):
        first = stmt[0]
        header = not first.startswith((" ", "\t")) and first.strip().startswith(
            ("import ", "from ", "package ")
        )
        if header and existing.strip():
            if _normalize(stmt) in have or first.strip().startswith("from __future__ "):
                continue
        kept.extend(stmt)
    body = "\n".join(kept).strip("\n") + "\n"
    if not existing.strip():
        return body
    newline = "" if existing.endswith("\n") else "\n"
    return f"{newline}\n\n{body}"


def _top_level_statements(lines: list[str]) -> list[list[str]]:
    """Lines grouped so an import continued over several lines (open brackets, a trailing
    backslash) stays one group; every other line is its own group."""
    groups: list[list[str]] = []
    i = 0
    while i < len(lines):
        group = [lines[i]]
        stripped = lines[i].strip()
        if stripped.startswith(("import ", "from ", "import{")) and not lines[i].startswith(
            (" ", "\t")
        ):
            depth = _depth(stripped)
            while (depth > 0 or group[-1].rstrip().endswith("\\")) and i + 1 < len(lines):
                i += 1
                group.append(lines[i])
                depth += _depth(lines[i])
        groups.append(group)
        i += 1
    return groups


def _depth(line: str) -> int:
    code = line.split("#", 1)[0]
    return sum(code.count(c) for c in "([{") - sum(code.count(c) for c in ")]}")


def _normalize(stmt: list[str]) -> str:
    return " ".join(" ".join(stmt).replace("\\", " ").split())
