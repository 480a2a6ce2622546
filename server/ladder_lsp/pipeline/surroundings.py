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
    above = [line for line in target.lines[: target.start_line] if line.strip()]
    base = min(
        (indent_width(leading_blanks(line)) for line in target.block_lines if line.strip()),
        default=0,
    )
    count = _candidates(answer, own)
    if count == len(answer):
        return 0  # no line of the selection to anchor on: what is context is a guess
    return count if _matches_above(above, [line.strip() for line in answer[:count]], base) else 0


def _matches_above(above: Sequence[str], wanted: Sequence[str], base: int) -> bool:
    """`wanted`, read upwards, is the text just above the target or its enclosing headers."""
    pos, indent = len(above), base
    for line in reversed(wanted):
        if pos and above[pos - 1].strip() == line:
            pos -= 1
        else:
            pos = next(
                (
                    j
                    for j in range(pos - 2, -1, -1)
                    if above[j].strip() == line and indent_width(leading_blanks(above[j])) < indent
                ),
                -1,
            )
            if pos < 0:
                return False
        indent = indent_width(leading_blanks(above[pos]))
    return True


def _trailing(target: Target, answer: Sequence[str], own: set[str]) -> int:
    below = [line.strip() for line in target.lines[target.end_line :] if line.strip()]
    tail = [line.strip() for line in reversed(answer)]
    most = min(_candidates(tail, own), len(below))
    for count in range(most, 0, -1):
        if tail[:count][::-1] == below[:count]:
            return count
    return 0
