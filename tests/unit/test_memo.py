"""The snapshot memo: the same object answers from the cache, anything else is computed."""

from __future__ import annotations

from collections.abc import Callable

from ladder_lsp.analysis.memo import last_by_identity


def counting() -> tuple[list[tuple[object, ...]], Callable[..., int]]:
    calls: list[tuple[object, ...]] = []

    @last_by_identity
    def lines_after(lines: tuple[str, ...], start: int, *, skip: int = 0) -> int:
        calls.append((lines, start, skip))
        return len(lines) - start - skip

    return calls, lines_after


def test_the_same_snapshot_with_the_same_arguments_is_answered_once() -> None:
    calls, lines_after = counting()
    snapshot = ("a\n", "b\n", "c\n")
    assert lines_after(snapshot, 1) == 2
    assert lines_after(snapshot, 1) == 2
    assert len(calls) == 1


def test_an_equal_but_other_snapshot_is_computed_again() -> None:
    """Identity, not equality: equal tuples would have to be hashed or compared whole."""
    calls, lines_after = counting()
    first = ("a\n", "b\n")
    second = tuple(list(first))
    assert second == first and second is not first
    lines_after(first, 0)
    lines_after(second, 0)
    assert [c[0] is second for c in calls] == [False, True]


def test_other_arguments_are_part_of_the_key() -> None:
    calls, lines_after = counting()
    snapshot = ("a\n", "b\n", "c\n")
    assert lines_after(snapshot, 0) == 3
    assert lines_after(snapshot, 1) == 2
    assert lines_after(snapshot, 1, skip=1) == 1
    assert lines_after(snapshot, 1, skip=1) == 1
    assert len(calls) == 3


def test_one_entry_only_the_last_call_is_kept() -> None:
    calls, lines_after = counting()
    first, second = ("a\n",), ("b\n", "c\n")
    lines_after(first, 0)
    lines_after(second, 0)
    lines_after(first, 0)
    assert len(calls) == 3
