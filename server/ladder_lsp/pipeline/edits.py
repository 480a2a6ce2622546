"""From extracted code to the smallest correct line edits on a versioned document.

The model sees a snapshot (`Target`) and answers seconds later. Its code is fitted into the
document the way a careful human would paste it: re-indented to where it goes, in the file's
tabs-or-spaces and line endings, with the text around a partial selection kept. Only lines
that really changed become edits, so undo, review and concurrent typing stay sane; if the user
typed meanwhile, the edits move with the text above or are refused when the target changed.

Everything works on lines that carry their own ending (pygls `doc.lines`); positions are
(line, Python str index): the server converts client UTF-16 units at the boundary.
"""

from __future__ import annotations

import collections
import difflib
from collections.abc import Callable, Sequence

import attrs

from ladder_lsp.analysis.text import TAB_WIDTH, indent_width, leading_blanks

BOM = "\ufeff"  # a file's byte-order mark: part of the file, never of the code


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
    def eol(self) -> str:
        """The document's dominant line ending ("\\n" when it has none)."""
        # a sample is enough to know the style, and keeps runs O(1) in the file's size
        counts = collections.Counter(line_ending(line) for line in self.lines[:2000])
        counts.pop("", None)
        return counts.most_common(1)[0][0] if counts else "\n"


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


# --- fitting code into the block -------------------------------------------------------


def _space_unit(indents: Sequence[str]) -> int | None:
    """The most common step between successive space indentations (2, 3, 4 or 8).

    The first indentation is a position, not a step; ties go to the smaller step.
    """
    steps: collections.Counter[int] = collections.Counter()
    previous: int | None = None
    for indent in indents:
        width = indent_width(indent)
        if previous is not None and width != previous and "\t" not in indent:
            step = abs(width - previous)
            if step in (2, 3, 4, 8):
                steps[step] += 1
        previous = width
    if not steps:
        return None
    return max(steps, key=lambda step: (steps[step], -step))


def _indent_style(target: Target) -> tuple[bool, int | None]:
    """(indents with tabs?, spaces per level) — from the block, else the document."""
    block = [leading_blanks(line) for line in target.block_lines if line.strip()]
    document = [leading_blanks(line) for line in target.lines[:2000] if line.strip()]
    first_indent = next((indent for indent in block + document if indent), "")
    uses_tabs = first_indent.startswith("\t")
    unit = _space_unit(block)
    if unit is None:
        unit = _space_unit(document)
    return uses_tabs, unit


def _render(relative: int, code_unit: int, uses_tabs: bool, doc_unit: int) -> str:
    levels, extra = divmod(relative, code_unit)
    if uses_tabs:
        return "\t" * levels + " " * extra
    return " " * (levels * doc_unit + extra)


def build_block(target: Target, code: str) -> list[str]:
    """New lines (with endings) to replace `target.block_lines`.

    prefix + code + suffix. When the selection starts at the line's indentation the code is
    dedented (models answer dedented or over-indented) and re-indented to the block's base
    indentation (its least-indented non-blank line, normally the first), in the file's
    tabs or spaces and indent width. Lines end with the document's ending; the block's last
    line keeps its own (none at EOF). Blank lines carry no whitespace. Blank lines at the
    edges of a whole-line selection are kept, so surrounding spacing does not churn. A BOM
    at the start of the file stays there (models never answer with one).
    """
    if target.start_line == 0 and target.lines and target.lines[0].startswith(BOM):
        plain = attrs.evolve(
            target,
            lines=(target.lines[0][len(BOM) :], *target.lines[1:]),
            prefix=target.prefix.removeprefix(BOM),
        )
        block = _build_block(plain, code.removeprefix(BOM))
        # with line 1 deleted, the bare mark joins the next line: the file still starts with it
        return [BOM + block[0], *block[1:]] if block else [BOM]
    return _build_block(target, code)


def _build_block(target: Target, code: str) -> list[str]:
    old = [line_content(line) for line in target.block_lines]
    code_lines = code.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    code_lines = [line if line.strip() else "" for line in code_lines]
    while code_lines and not code_lines[-1]:
        code_lines.pop()
    while code_lines and not code_lines[0]:
        code_lines.pop(0)

    reindent = not target.prefix.strip()
    if not code_lines:
        leftover = target.prefix + target.suffix
        contents = [leftover] if leftover.strip() else []
    elif reindent:
        contents = _reindent(target, old, code_lines)
        lead, trail = _edge_blanks(target, old)
        contents = [""] * lead + contents + [""] * trail
        contents[-1] += target.suffix
    else:
        contents = list(code_lines)
        contents[0] = target.prefix + contents[0]
        contents[-1] += target.suffix

    eol = target.eol
    if target.block_lines:
        last_ending = line_ending(target.block_lines[-1])
    else:
        last_ending = eol if target.start_line < len(target.lines) else ""
    result = [(line if line.strip() else "") + eol for line in contents]
    if result:
        result[-1] = result[-1][: len(result[-1]) - len(eol)] + last_ending
    return result


def _edge_blanks(target: Target, old: list[str]) -> tuple[int, int]:
    """Whole blank lines at the start/end of the selection (kept around the new code)."""
    if not any(line.strip() for line in old):
        return 0, 0
    lead = next(i for i, line in enumerate(old) if line.strip())
    trail = next(i for i, line in enumerate(reversed(old)) if line.strip())
    if target.suffix:
        trail = 0
    return lead, trail


def _reindent(target: Target, old: list[str], code: list[str]) -> list[str]:
    uses_tabs, doc_unit = _indent_style(target)
    old_indents = [leading_blanks(line) for line in old if line.strip()]
    if old_indents:
        base = min(old_indents, key=indent_width)
    else:
        base = target.prefix
    base_width = indent_width(base)

    widths = [indent_width(leading_blanks(line)) for line in code]
    nonblank = [i for i, line in enumerate(code) if line]
    code_tabs = any(leading_blanks(code[i]).startswith("\t") for i in nonblank)
    code_unit = TAB_WIDTH if code_tabs else _space_unit([leading_blanks(code[i]) for i in nonblank])
    code_unit = code_unit or doc_unit or TAB_WIDTH
    doc_unit = doc_unit or code_unit

    absolute = _echo_shape(target, old, code, widths, nonblank)
    if absolute is not None:
        # The model kept the shape it was shown: first line bare, the rest absolute.
        relatives = [max(width - base_width, 0) for width in absolute]
        code_unit = doc_unit
    else:
        lowest = min(widths[i] for i in nonblank)
        relatives = [width - lowest for width in widths]
    result = []
    for line, relative in zip(code, relatives, strict=True):
        if not line:
            result.append("")
            continue
        result.append(base + _render(relative, code_unit, uses_tabs, doc_unit) + line.lstrip(" \t"))
    return result


def _echo_shape(
    target: Target, old: list[str], code: list[str], widths: list[int], nonblank: list[int]
) -> list[int] | None:
    """Absolute widths when the answer mirrors a selection that began after the indentation.

    Such a selection shows the model its first line without indentation and the others with
    their full indentation; answers often come back the same way.
    """
    if not target.prefix or target.prefix.strip() or len(nonblank) < 2:
        return None
    first_old = next((line for line in old if line.strip()), None)
    rest_old = [indent_width(leading_blanks(line)) for line in old[1:] if line.strip()]
    if first_old is None or not rest_old:
        return None
    first_width, rest_min = indent_width(leading_blanks(first_old)), min(rest_old)
    first = nonblank[0]
    code_rest = min(widths[i] for i in nonblank[1:])
    if first != 0 or widths[first] != 0 or not 0 < first_width < rest_min <= code_rest:
        return None
    return [first_width if i == first else width for i, width in enumerate(widths)]


# --- minimal edits ---------------------------------------------------------------------


@attrs.frozen
class LineEdit:
    """Replace whole lines [start_line, end_line) with `new_lines` (each with its ending)."""

    start_line: int
    end_line: int
    new_lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return "".join(self.new_lines)


def minimal_edits(old: Sequence[str], new: Sequence[str], first_line: int) -> list[LineEdit]:
    """Only the changed runs of lines, as edits in document coordinates."""
    matcher = difflib.SequenceMatcher(None, list(old), list(new), autojunk=False)
    return [
        LineEdit(first_line + i1, first_line + i2, tuple(new[j1:j2]))
        for tag, i1, i2, j1, j2 in matcher.get_opcodes()
        if tag != "equal"
    ]


def edits_for(target: Target, code: str) -> list[LineEdit]:
    """`build_block` + `minimal_edits`: the edits that put `code` into the target."""
    return minimal_edits(target.block_lines, build_block(target, code), target.start_line)


def apply_line_edits(lines: Sequence[str], edits: Sequence[LineEdit]) -> list[str]:
    """The document after the edits (non-overlapping, in the original coordinates)."""
    result = list(lines)
    previous_start = len(result) + 1
    for edit in sorted(edits, key=lambda e: (e.start_line, e.end_line), reverse=True):
        if not 0 <= edit.start_line <= edit.end_line <= len(lines):
            raise ValueError(f"edit {edit.start_line}-{edit.end_line} outside the document")
        if edit.end_line > previous_start:
            raise ValueError("overlapping edits")
        result[edit.start_line : edit.end_line] = edit.new_lines
        previous_start = edit.start_line
    return result


def shift_edits(edits: Sequence[LineEdit], offset: int) -> list[LineEdit]:
    """Move edits by `rebase`'s offset."""
    return [
        attrs.evolve(e, start_line=e.start_line + offset, end_line=e.end_line + offset)
        for e in edits
    ]


def edit_range(
    lines: Sequence[str], edit: LineEdit
) -> tuple[tuple[int, int], tuple[int, int], str]:
    """(start, end, new_text) as (line, str index) positions valid in `lines`.

    Whole-line edits end at (end_line, 0), which lies past the end when the last line has no
    ending: such edits end at the end of the last line instead, and text inserted after it
    starts with a line break.
    """
    count = len(lines)
    text = edit.text
    start = (edit.start_line, 0)
    end = (edit.end_line, 0)
    if count and not line_ending(lines[-1]):
        last = (count - 1, len(lines[-1]))
        if edit.end_line >= count:
            end = last
        if edit.start_line >= count:
            start = last
            ending = next((line_ending(line) for line in lines if line_ending(line)), "\n")
            text = ending + text
            if text.endswith(("\n", "\r")):
                text = text[: len(text) - len(line_ending(text))]
    return start, end, text


def rebase(target: Target, current_lines: Sequence[str]) -> int | None:
    """Line offset that carries edits from the snapshot to the current text, or None.

    None when any change touches the target lines or inserts inside them. Insertions right
    above the first or right below the last target line leave the target intact.
    """
    last = target.block_lines[-1] if target.block_lines else None
    return _locate(target, current_lines, lambda line: line == last)


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


def unified_diff(path: str, old_lines: Sequence[str], new_lines: Sequence[str]) -> str:
    """A `git diff`-style patch, with the "No newline at end of file" marker where due.
    An absolute path reads `a/tmp/x.py` as git writes it, not `a//tmp/x.py`; a name holding a
    space ends with a tab, as diff and git write it, so `patch` reads the whole name."""
    out: list[str] = []
    name = path.lstrip("/") + ("\t" if " " in path else "")
    for line in difflib.unified_diff(
        list(old_lines), list(new_lines), fromfile=f"a/{name}", tofile=f"b/{name}"
    ):
        if line.endswith(("\n", "\r")):
            out.append(line)
        else:
            out.append(line + "\n\\ No newline at end of file\n")
    return "".join(out)
