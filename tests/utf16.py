"""UTF-16 columns, as LSP clients count them, for the tests' own editors and references:
written apart from pygls' position codec, so the tests check it rather than repeat it."""

from __future__ import annotations


def utf16_len(text: str) -> int:
    """Code units: characters beyond the Basic Multilingual Plane (😀) count two."""
    return sum(2 if ord(char) > 0xFFFF else 1 for char in text)


def utf16_to_index(line: str, units: int) -> int:
    """The str index of a UTF-16 column within a line (its end when the column is past it)."""
    count = 0
    for index, char in enumerate(line):
        if count >= units:
            return index
        count += 2 if ord(char) > 0xFFFF else 1
    return len(line)
