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
    """Text to append to an existing test file: the new code minus imports it already has."""
    have = {line.strip() for line in existing.splitlines() if line.strip()}
    kept: list[str] = []
    for line in generated.splitlines():
        stripped = line.strip()
        is_import = stripped.startswith(("import ", "from ")) and not line.startswith((" ", "\t"))
        if is_import and stripped in have:
            continue
        kept.append(line)
    body = "\n".join(kept).strip("\n") + "\n"
    if not existing.strip():
        return body
    newline = "" if existing.endswith("\n") else "\n"
    return f"{newline}\n\n{body}"
