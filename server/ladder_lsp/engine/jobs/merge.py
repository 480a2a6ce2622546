"""A job's results as one change per file: each unit's whole-line edits (never overlapping:
the plan forbids it) against the text the job read, labelled for the editor's change
annotations ("Cart.total · docstring · local")."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import attrs

from ladder_lsp.pipeline.edits import LineEdit, apply_line_edits


@attrs.frozen
class FileText:
    """One file as the job read it: the open document's text and version, or the disk's."""

    path: Path
    uri: str
    version: int | None  # the open document's version (None: read from disk)
    text: str
    lines: tuple[str, ...]


@attrs.frozen
class UnitEdits:
    unit_id: str
    label: str
    edits: tuple[LineEdit, ...]


@attrs.frozen
class FileChange:
    file: FileText
    units: tuple[UnitEdits, ...]

    @property
    def edits(self) -> list[LineEdit]:
        return sorted((e for u in self.units for e in u.edits), key=lambda e: e.start_line)

    @property
    def new_lines(self) -> list[str]:
        return apply_line_edits(self.file.lines, self.edits)


def merge(
    files: Mapping[Path, FileText], done: Sequence[tuple[Path, UnitEdits]]
) -> list[FileChange]:
    """One FileChange per file with at least one unit's edits, in path order."""
    by_file: dict[Path, list[UnitEdits]] = {}
    for path, unit in done:
        if unit.edits:
            by_file.setdefault(path, []).append(unit)
    return [
        FileChange(files[path], tuple(sorted(units, key=lambda u: u.edits[0].start_line)))
        for path, units in sorted(by_file.items())
    ]
