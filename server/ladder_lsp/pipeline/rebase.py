"""Edits computed on a snapshot, moved onto the text the user has now.

The model answers seconds after the snapshot; if the user typed meanwhile, the edits move
with the text above, keep what was typed after the selection, or are refused when the code
under work changed.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence

import attrs

from ladder_lsp.pipeline.edits import LineEdit, apply_line_edits, minimal_edits
from ladder_lsp.pipeline.target import Target, line_content, line_ending


def rebase(target: Target, current_lines: Sequence[str]) -> int | None:
    """Line offset that carries edits from the snapshot to the current text, or None.

    None when any change touches the target lines or inserts inside them. Insertions right
    above the first or right below the last target line leave the target intact.
    """
    last = target.block_lines[-1] if target.block_lines else None
    return _locate(target, current_lines, lambda line: line == last)


def shift_edits(edits: Sequence[LineEdit], offset: int) -> list[LineEdit]:
    """Move edits by `rebase`'s offset."""
    return [
        attrs.evolve(e, start_line=e.start_line + offset, end_line=e.end_line + offset)
        for e in edits
    ]


def carry(
    target: Target, edits: Sequence[LineEdit], current_lines: Sequence[str]
) -> list[LineEdit] | None:
    """The edits moved onto the text the user has now, or None when they changed the code
    under work.

    Besides `rebase`'s moves, text typed after the selection's end on its last line (the
    end of a whole-line selection counts) is kept after the new code, as an editor keeps
    text after a replaced selection; the edits are recomputed so they never cover it.
    """
    offset = rebase(target, current_lines)
    if offset is not None:
        return shift_edits(edits, offset)
    if not target.block_lines:
        return None
    old_last = target.block_lines[-1]
    kept = line_content(old_last)[: len(line_content(old_last)) - len(target.suffix)]

    def typed_after(line: str) -> bool:
        return line_ending(line) == line_ending(old_last) and line_content(line).startswith(kept)

    offset = _locate(target, current_lines, typed_after)
    block = _new_block(target, edits)
    if offset is None or not block or not line_content(block[-1]).endswith(target.suffix):
        return None  # no line of the new code ends where the selection did: nowhere to keep it
    start, end = target.start_line + offset, target.end_line + offset
    new_last = line_content(block[-1])
    typed = line_content(current_lines[end - 1])[len(kept) :]
    block[-1] = new_last[: len(new_last) - len(target.suffix)] + typed + line_ending(block[-1])
    return minimal_edits(current_lines[start:end], block, start)


def _new_block(target: Target, edits: Sequence[LineEdit]) -> list[str]:
    """The target's lines after `edits` (which `edits_for` keeps inside the target)."""
    if any(e.start_line < target.start_line or e.end_line > target.end_line for e in edits):
        return []
    after = apply_line_edits(target.lines, edits)
    return after[target.start_line : len(after) - (len(target.lines) - target.end_line)]


def _locate(
    target: Target, current_lines: Sequence[str], is_last: Callable[[str], bool]
) -> int | None:
    """Offset of the target in the current text: every target line unchanged but the last,
    which `is_last` judges."""
    old, new = target.lines, list(current_lines)
    if list(old) == new:
        return 0
    # Typing can be aligned two ways (a duplicated line inserted above the target looks like
    # one inserted inside it); the text decides, so try both alignments.
    for tail_first in (False, True):
        offset = _rebase_aligned(old, new, target.start_line, target.end_line, tail_first, is_last)
        if offset is not None:
            return offset
    return None


def _rebase_aligned(
    old: Sequence[str],
    new: list[str],
    start: int,
    end: int,
    tail_first: bool,
    is_last: Callable[[str], bool],
) -> int | None:
    limit = min(len(old), len(new))
    head = tail = 0
    if tail_first:
        while tail < limit and old[-1 - tail] == new[-1 - tail]:
            tail += 1
        while head < limit - tail and old[head] == new[head]:
            head += 1
    else:
        while head < limit and old[head] == new[head]:
            head += 1
        while tail < limit - head and old[-1 - tail] == new[-1 - tail]:
            tail += 1
    changed_old_end = len(old) - tail
    offset: int | None
    if changed_old_end <= start:
        offset = len(new) - len(old)  # every change lies above the target
    elif head >= end:
        offset = 0  # every change lies below the target
    else:
        middle_old = old[head:changed_old_end]
        middle_new = new[head : len(new) - tail]
        offset = _offset_around(middle_old, middle_new, head, start, end, is_last)
        if offset is None:
            return None
    moved = new[start + offset : end + offset]
    if end == start:
        return offset  # an empty document's target: nothing to touch
    if len(moved) != end - start or moved[:-1] != list(old[start : end - 1]):
        return None
    return offset if is_last(moved[-1]) else None


def _offset_around(
    old: Sequence[str],
    new: Sequence[str],
    base: int,
    start: int,
    end: int,
    is_last: Callable[[str], bool],
) -> int | None:
    """Changes above and below the target, found by a diff of the differing middle."""
    offset = 0
    matcher = difflib.SequenceMatcher(None, list(old), list(new), autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        lo, hi = base + i1, base + i2
        if tag == "replace" and lo == end - 1 and hi == end and j2 - j1 == 1 and is_last(new[j1]):
            continue  # the last line, changed only where `is_last` allows
        if lo < end and hi > start:
            return None  # replaces or deletes target lines
        if lo == hi and start < lo < end:
            return None  # inserts inside the target
        if hi <= start:
            offset += (j2 - j1) - (i2 - i1)
    return offset
