"""Judging what a run did to the editor's text: was every change inside the lines the run
targeted (or the one test file it chose)? Used to count "edits applied wrongly"."""

from __future__ import annotations

from tests.stress.client import AppliedEdit, split_lines


def changed_span(before: str, after: str) -> tuple[int, int, int] | None:
    """(first changed line, end of the changed lines in `before`, in `after`), or None."""
    old, new = split_lines(before), split_lines(after)
    if old == new:
        return None
    head = 0
    while head < min(len(old), len(new)) and old[head] == new[head]:
        head += 1
    tail = 0
    while (
        tail < min(len(old), len(new)) - head
        and old[len(old) - 1 - tail] == new[len(new) - 1 - tail]
    ):
        tail += 1
    return head, len(old) - tail, len(new) - tail


def inside(before: str, after: str, start: int, end: int) -> bool:
    """True when `after` differs from `before` only within lines [start, end) of `before`.

    A whole-line selection's last line may lose or gain its line ending only when it is the
    last line of the file, so comparison is on whole lines with their endings.
    """
    span = changed_span(before, after)
    if span is None:
        return True
    first, old_end, _new_end = span
    return first >= start and old_end <= max(end, start)


def wrong_edits(edits: list[AppliedEdit], allowed: dict[str, tuple[int, int] | None]) -> list[str]:
    """Why each accepted edit was wrong: a URI it may not touch, or lines outside its range.

    `allowed` maps a URI to the (start, end) lines it may change, or None for "any change"
    (the one test file Ladder chose).
    """
    problems: list[str] = []
    for edit in edits:
        for uri, after in edit.after.items():
            if uri not in allowed:
                problems.append(f"{edit.label}: touched {uri}")
                continue
            span = allowed[uri]
            if span is not None and not inside(edit.before.get(uri, ""), after, *span):
                problems.append(f"{edit.label}: changed {uri} outside lines {span}")
    return problems
