"""Context an answer repeats around its code, cut off when it is the document's own text.

Small local models often answer with the enclosing class header above the method they were
given, or copy the function after the selection below it. Applying that would duplicate the
code, so it used to be rejected (`checks/common.check_repeated_context`) and a usable answer
went to Claude or nowhere. When the repeated lines are exactly the document's own (indentation
aside) they carry no change and are cut; the rest is judged as the answer. When the model
changed them they are not the document's text, nothing is cut, and the check still rejects.

The rule, line by line (blank lines do not count):
- above: every line the answer has before its first line of the selection, read upwards,
  each equal to the line just above the previous match (the target itself at first), or to
  a line further up that encloses it (less indented: the class or function header around
  it); one line that is neither, and nothing is cut above;
- below: the answer's last lines equal the lines right after the target, in order;
- a line that is also in the selection is never cut, nor the whole answer.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from ladder_lsp.analysis.text import indent_width, leading_blanks
from ladder_lsp.pipeline.target import Target


def cut_surroundings(target: Target, code: str) -> tuple[str, int]:
    """`code` without the document's own lines it repeats around the target, and how many
    non-blank lines were cut (0: `code` unchanged)."""
    if target.prefix.strip() or target.suffix.strip() or not target.block_text.strip():
        return code, 0
    lines = code.split("\n")
    own = {line.strip() for line in target.block_lines if line.strip()}
    filled = [i for i, line in enumerate(lines) if line.strip()]
    lead = _leading(target, [lines[i] for i in filled], own)
    trail = _trailing(target, [lines[i] for i in filled[lead:]], own)
    if not lead and not trail:
        return code, 0
    if lead + trail >= len(filled):
        return code, 0  # nothing but context: let the checks say what is wrong
    first = filled[lead]
    last = filled[len(filled) - 1 - trail]
    return "\n".join(lines[first : last + 1]), lead + trail


def _candidates(answer: Sequence[str], own: set[str]) -> int:
    """How many of the answer's lines (from the start) are not lines of the selection."""
    count = 0
    for line in answer:
        if line.strip() in own:
            break
        count += 1
    return count


def _leading(target: Target, answer: Sequence[str], own: set[str]) -> int:
    base = min(
        (indent_width(leading_blanks(line)) for line in target.block_lines if line.strip()),
        default=0,
    )
    count = _candidates(answer, own)
    if count == len(answer):
        return 0  # no line of the selection to anchor on: what is context is a guess
    wanted = [line.strip() for line in answer[:count]]
    return count if _matches_above(target.lines, target.start_line, wanted, base) else 0


def _filled_above(lines: Sequence[str], index: int) -> int:
    """The nearest non-blank line above `index` (-1: none). The document is read upwards
    only as far as the answer needs: a run costs the size of its target, not of the file."""
    index -= 1
    while index >= 0 and not lines[index].strip():
        index -= 1
    return index


def _matches_above(lines: Sequence[str], start: int, wanted: Sequence[str], base: int) -> bool:
    """`wanted`, read upwards, is the text just above line `start` or its enclosing
    headers (blank lines do not count)."""
    pos, indent = start, base
    for line in reversed(wanted):
        nearest = _filled_above(lines, pos)
        if nearest >= 0 and lines[nearest].strip() == line:
            pos = nearest
        else:
            pos = _filled_above(lines, nearest) if nearest >= 0 else -1
            while pos >= 0 and not (
                lines[pos].strip() == line and indent_width(leading_blanks(lines[pos])) < indent
            ):
                pos = _filled_above(lines, pos)
            if pos < 0:
                return False
        indent = indent_width(leading_blanks(lines[pos]))
    return True


def _trailing(target: Target, answer: Sequence[str], own: set[str]) -> int:
    tail = [line.strip() for line in reversed(answer)]
    wanted = _candidates(tail, own)
    after = (target.lines[i].strip() for i in range(target.end_line, len(target.lines)))
    below = list(itertools.islice((line for line in after if line), wanted))
    for count in range(len(below), 0, -1):
        if tail[:count][::-1] == below[:count]:
            return count
    return 0
