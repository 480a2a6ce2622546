"""Where the edited block sits: the two documents split as head + block + tail at line
boundaries, or the first line outside the block that changed when no such split exists.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import attrs

from ladder_lsp.analysis.memo import last_by_identity
from ladder_lsp.analysis.text import normalize_newlines


@attrs.frozen
class Located:
    """The documents as lines (`\\n` endings) and the block: old lines [start, old_end)
    became `new_block`, new lines [start, new_end); everything else is identical. The new
    document's lines are built only when asked (`new_lines`): a copy of the whole file,
    which the unit's analysis does not need (`new_span`)."""

    old_lines: tuple[str, ...]
    new_block: tuple[str, ...]
    start: int
    old_end: int

    @property
    def new_end(self) -> int:
        return self.start + len(self.new_block)

    @functools.cached_property
    def new_lines(self) -> tuple[str, ...]:
        return (*self.old_lines[: self.start], *self.new_block, *self.old_lines[self.old_end :])

    def new_span(self, low: int, high: int) -> tuple[str, ...]:
        """The new lines that stand for old lines [low, high) (a span around the block)."""
        if low <= self.start and self.old_end <= high:
            old = self.old_lines
            return (*old[low : self.start], *self.new_block, *old[self.old_end : high])
        return self.new_lines[low : high + self.new_end - self.old_end]


def _norm(text: str) -> str:
    return normalize_newlines(text)


def _split(text: str) -> list[str]:
    """Lines with their `\\n` (text already normalised): LSP's lines, and fast."""
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def _count(text: str) -> int:
    return text.count("\n") + (0 if not text or text.endswith("\n") else 1)


def locate(old_document: str, new_document: str, old_block: str, new_block: str) -> Located | None:
    """Where old_document = head + old_block + tail and new_document = head + new_block +
    tail, at line boundaries; None when no such split exists (code outside the block
    changed) or the old block is empty."""
    old, new = _norm(old_document), _norm(new_document)
    old_block, new_block = _norm(old_block), _norm(new_block)
    if not old_block.strip():
        return None
    tail_len = len(old) - len(old_block)
    position = old.find(old_block)
    while position != -1:
        at_line_start = position == 0 or old[position - 1] == "\n"
        tail = old[position + len(old_block) :]
        if (
            at_line_start
            and len(tail) <= tail_len
            and new.startswith(new_block, position)
            and new.startswith(old[:position])
            and new.endswith(tail)
            and len(new) == position + len(new_block) + len(tail)
            and (not tail or not new_block or new_block.endswith("\n"))  # a line boundary
        ):
            start = old.count("\n", 0, position)
            return Located(
                tuple(_split(old)),
                tuple(_split(new_block)),
                start,
                start + _count(old_block),
            )
        position = old.find(old_block, position + 1)
    return None


def in_place(
    old_lines: Sequence[str],
    start: int,
    end: int,
    new_block: Sequence[str],
    old_text: str | None = None,
) -> Located | None:
    """Lines [start, end) of `old_lines` (a document split as LSP splits it) replaced by
    `new_block` (lines with their endings), located without the O(file) Python work of
    `locate` (normalise, search, re-split both documents: milliseconds per run on a big
    file). The same answer as `locate` for the block where the run put it; None when only
    `locate` can say (an ending other than `\\n`, a new line that is not one line, an empty
    old block). The old lines are kept as given: one tuple for every check that reads them.
    `old_text`: the old lines joined, when the caller keeps that (a run's `Target` does), so
    the endings are read without joining the file again."""
    old = tuple(old_lines)
    if not (0 <= start <= end <= len(old)) or not "".join(old[start:end]).strip():
        return None
    if not _plain_endings("".join(old) if old_text is None else old_text, len(old), old[-1]):
        return None
    for index, line in enumerate(new_block):
        final = index == len(new_block) - 1 and end == len(old)  # may end the document
        ended = line.endswith("\n")
        if not line or "\r" in line or line.count("\n") != ended or not (ended or final):
            return None
    return Located(old, tuple(new_block), start, end)


@last_by_identity
def _plain_endings(text: str, count: int, last: str) -> bool:
    """Whether the `count` lines joined in `text` all end in `\n` alone but the `last` (which
    may not end): split lines without `\r` do, and one count over the text tells (C, not a
    loop). Asked once per snapshot: the original read ahead and every answer's checks ask of
    the same joined text."""
    return "\r" not in text and text.count("\n") == count - (not last.endswith("\n"))


def first_outside_change(old_document: str, new_document: str, old_block: str) -> int | None:
    """1-based line of the new document where code outside the block differs, or None.
    Asked when `locate` found no split (with one, nothing outside the block changed)."""
    if not old_block.strip():
        return None
    old = _split(_norm(old_document))
    new = _split(_norm(new_document))
    block_old = _split(_norm(old_block))
    prefix = 0
    limit = min(len(old), len(new))
    while prefix < limit and old[prefix] == new[prefix]:
        prefix += 1
    # The block starts where the old document holds it, at or after the common prefix.
    start = _find_lines(old, block_old, max(0, prefix - len(block_old)))
    if start is None or prefix < start:
        return prefix + 1
    suffix = 0
    while (
        suffix < len(old) - prefix
        and suffix < len(new) - prefix
        and old[-1 - suffix] == new[-1 - suffix]
    ):
        suffix += 1
    # Lines after the old block that did not survive: report the last one that changed.
    if len(old) - suffix > start + len(block_old):
        return max(len(new) - suffix, 1)
    return None


def _find_lines(lines: Sequence[str], block: Sequence[str], begin: int) -> int | None:
    if not block:
        return None
    for index in range(begin, len(lines) - len(block) + 1):
        if lines[index] == block[0] and list(lines[index : index + len(block)]) == list(block):
            return index
    return None
