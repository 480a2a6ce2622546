"""A one-entry cache for functions of a document snapshot, found by the snapshot's identity.

A run reads one snapshot (a tuple of lines) many times: the original read ahead of the
answer, then every answer's checks. Functions of the whole snapshot (its line endings, the
unit cut around the block, the module's names) are asked the same question of the same
object each time. `functools.lru_cache` would hash the tuple on every call, which costs as
much as the answer at 20,000 lines (tuples do not keep their hash); `is` costs nothing.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")
S = TypeVar("S")


def last_by_identity(fn: Callable[Concatenate[S, P], R]) -> Callable[Concatenate[S, P], R]:
    """`fn`, keeping its last answer for the very same first argument (`is`) and equal
    other arguments. One entry, replaced whole (safe when a worker thread asks too)."""
    last: tuple[Any, tuple[Any, ...], dict[str, Any], R] | None = None

    @functools.wraps(fn)
    def cached(snapshot: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
        nonlocal last
        seen = last
        if seen is not None and seen[0] is snapshot and seen[1] == args and seen[2] == kwargs:
            return seen[3]
        answer = fn(snapshot, *args, **kwargs)
        last = (snapshot, args, kwargs, answer)
        return answer

    return cached
