"""The code an empty-cursor action works on: the definition around the cursor, cached per
document version so repeated listing (every cursor move) costs a dictionary lookup."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

from .syntax import enclosing_definition

CACHE_SIZE = 256


class RegionFinder:
    def __init__(self) -> None:
        self._cache: OrderedDict[tuple[str, int | None, int], tuple[int, int] | None] = (
            OrderedDict()
        )

    def enclosing(
        self, uri: str, version: int | None, language: str, lines: Sequence[str], line: int
    ) -> tuple[int, int] | None:
        """(start, end-exclusive) lines of the innermost definition or block at `line`."""
        if line < 0 or line >= len(lines):
            return None
        key = (uri, version, line)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        found = enclosing_definition(language, "".join(lines), line)
        self._cache[key] = found
        if len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return found
