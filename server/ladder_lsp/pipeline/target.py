"""The snapshot a model works on: the selected lines of one document version, and
the text around a partial selection that must be kept.

Everything works on lines that carry their own ending; positions are (line, Python str
index): the LSP layer converts the client's UTF-16 units at the boundary.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import attrs

BOM = "\ufeff"  # a file's byte-order mark: part of the file, never of the code
# The document's style (line endings, indentation) is learned from this many lines around the
# target: enough to know it, and a run stays O(1) in the file's size.
STYLE_SAMPLE_LINES = 200


def line_ending(line: str) -> str:
    if line.endswith("\r\n"):
        return "\r\n"
    if line.endswith(("\n", "\r")):
        return line[-1]
    return ""


def line_content(line: str) -> str:
    return line[: len(line) - len(line_ending(line))]


@attrs.frozen
class Target:
    """What the model was asked about: a snapshot of the document and the selected lines."""

    uri: str
    version: int | None
    lines: tuple[str, ...]
    start_line: int
    end_line: int  # exclusive
    prefix: str = ""  # first block line's text before the selection
    suffix: str = ""  # last block line's text after the selection, without its ending

    @functools.cached_property
    def text(self) -> str:
        """The whole document, joined once for every reader of this snapshot."""
        return "".join(self.lines)

    @property
    def block_lines(self) -> tuple[str, ...]:
        return self.lines[self.start_line : self.end_line]

    @property
    def block_text(self) -> str:
        """The whole selected lines: what to send the model when the prefix is indentation."""
        return "".join(self.block_lines)

    @property
    def selected_text(self) -> str:
        """Exactly the selection, without the last line's ending."""
        block = self.block_text
        if not block:
            return ""
        tail = len(line_ending(self.lines[self.end_line - 1])) + len(self.suffix)
        return block[len(self.prefix) : len(block) - tail]

    @property
    def style_sample(self) -> tuple[str, ...]:
        """The lines the document's style is read from: up to STYLE_SAMPLE_LINES around the
        target (the nearest code is the best witness of the style that applies there)."""
        half = STYLE_SAMPLE_LINES // 2
        first = max(0, min(self.start_line - half, len(self.lines) - STYLE_SAMPLE_LINES))
        return self.lines[first : first + STYLE_SAMPLE_LINES]

    @property
    def eol(self) -> str:
        """The document's dominant line ending ("\\n" when it has none); a tie goes to the one
        met first. Counted in the joined sample (LSP lines end only at these three)."""
        text = "".join(self.style_sample)
        crlf = text.count("\r\n")
        counts = {"\r\n": crlf, "\n": text.count("\n") - crlf, "\r": text.count("\r") - crlf}
        most = max(counts.values())
        if not most:
            return "\n"
        tied = [eol for eol, n in counts.items() if n == most]
        if len(tied) == 1:
            return tied[0]
        return next(e for e in map(line_ending, self.style_sample) if e in tied)


def make_target(
    uri: str,
    version: int | None,
    lines: Sequence[str],
    start: tuple[int, int],
    end: tuple[int, int],
) -> Target:
    """A target from a (line, str index) range; reversed or out-of-range positions are clamped.

    An end at column 0 of a later line excludes that line (editors report a selection of
    whole lines that way).
    """
    snapshot = tuple(lines)
    if not snapshot:
        return Target(uri, version, (), 0, 0)
    first, last = sorted((_clamp(snapshot, start), _clamp(snapshot, end)))
    if snapshot[0].startswith(BOM):  # a selection from the file's start begins after it
        first, last = max(first, (0, 1)), max(last, (0, 1))
    prefix = line_content(snapshot[first[0]])[: first[1]]
    if last[0] > first[0] and last[1] == 0:
        end_line, suffix = last[0], ""
    else:
        end_line, suffix = last[0] + 1, line_content(snapshot[last[0]])[last[1] :]
    return Target(uri, version, snapshot, first[0], end_line, prefix, suffix)


def _clamp(lines: tuple[str, ...], position: tuple[int, int]) -> tuple[int, int]:
    line, column = position
    if line < 0:
        return 0, 0
    if line >= len(lines):
        return len(lines) - 1, len(line_content(lines[-1]))
    return line, min(max(column, 0), len(line_content(lines[line])))
