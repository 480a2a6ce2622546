"""A job's scope: the files it may touch (paths and globs under the workspace) and the outline
a planner sees of them — paths, definitions, signatures, sizes, never whole files; a file
under `privacy.localOnly` appears by its path alone.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from ladder_lsp.analysis.languages import language_from_path
from ladder_lsp.analysis.python.outline import outline
from ladder_lsp.privacy import matches_local_only

SKIP_DIRS = frozenset(
    {".git", ".hg", ".venv", "venv", "node_modules", "__pycache__", ".tox", ".mypy_cache",
     ".ruff_cache", ".pytest_cache", "build", "dist", "site-packages"}
)  # fmt: skip
MAX_FILES = 2000


class ScopeError(Exception):
    """A path or glob that names nothing usable; the message says which."""


def files_in_scope(root: Path, patterns: Sequence[str]) -> list[Path]:
    """Files under `root` named by the patterns (files, folders or globs, workspace-relative
    or absolute inside it); no pattern: the whole workspace. Only languages Ladder knows."""
    root = Path(os.path.realpath(root))
    found: dict[Path, None] = {}
    for pattern in patterns or ["."]:
        matched = list(_matches(root, pattern))
        if not matched:
            raise ScopeError(f"{pattern!r} matches no file in the workspace {root}")
        for path in matched:
            real = Path(os.path.realpath(path))
            if not real.is_relative_to(root):
                raise ScopeError(f"{pattern!r} is outside the workspace {root}")
            if real.is_dir():
                found.update(dict.fromkeys(_walk(real)))
            elif language_from_path(str(real)) != "plaintext":
                found[real] = None
        if len(found) > MAX_FILES:
            raise ScopeError(f"the scope holds more than {MAX_FILES} files; name fewer")
    return sorted(found)


def _matches(root: Path, pattern: str) -> Iterable[Path]:
    if any(ch in pattern for ch in "*?["):
        if os.path.isabs(pattern):
            try:
                pattern = str(Path(pattern).relative_to(root))
            except ValueError:
                raise ScopeError(f"{pattern!r} is outside the workspace {root}") from None
        return root.glob(pattern)
    path = Path(pattern) if os.path.isabs(pattern) else root / pattern
    return [path] if path.exists() else []


def _walk(folder: Path) -> Iterable[Path]:
    for here, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
        for name in sorted(names):
            path = Path(here) / name
            if language_from_path(str(path)) != "plaintext":
                yield path


def outline_of(
    root: Path,
    files: Sequence[Path],
    read: Callable[[Path], str | None],
    local_only: Sequence[str],
) -> list[dict[str, Any]]:
    """What a planner sees: per file its path, size, and (Python) definitions with signature,
    lines and whether they have a docstring; local-only files by path only."""
    out: list[dict[str, Any]] = []
    for path in files:
        rel = str(path.relative_to(root))
        if matches_local_only(str(path), local_only):
            out.append({"path": rel, "localOnly": True})
            continue
        text = read(path)
        if text is None:
            continue
        entry: dict[str, Any] = {"path": rel, "lines": text.count("\n") + 1}
        symbols = outline(text) if language_from_path(rel) == "python" else None
        if symbols is not None:
            entry["definitions"] = [
                {
                    "name": s.name,
                    "signature": s.signature,
                    "lines": [s.start + 1, s.end],
                    "docstring": s.has_docstring,
                }
                for s in symbols
            ]
        out.append(entry)
    return out
