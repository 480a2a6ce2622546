"""Open documents kept as lines, so an incremental change costs the size of the change.

pygls' `TextDocument` holds one string: every `didChange` rebuilds it by walking all lines
(`str.splitlines`, which also splits on form feeds and `\\u2028`, unlike LSP), and every
listing after it had to split the whole text again — 10 ms and more at 20,000 lines, on each
keystroke. `LineDocument` holds the lines as LSP splits them (`analysis.text.split_lines`)
and replaces only the lines a change touches; the text is joined only when someone asks for
it. A change builds a new list rather than editing the old one in place, so a run holding a
snapshot of the lines (`document_lines`) never sees them move under it.
"""

from __future__ import annotations

from collections.abc import Sequence

from lsprotocol import types
from pygls.workspace import TextDocument, Workspace

from ladder_lsp.analysis.text import split_lines


class LineDocument(TextDocument):
    """A pygls document whose lines are the truth and whose text is derived on demand."""

    _lines: list[str] | None = None  # None: not split yet (the text is the truth until then)

    @property
    def source(self) -> str:
        if self._source is None and self._lines is not None:
            self._source = "".join(self._lines)
        return super().source

    @property
    def lines(self) -> Sequence[str]:
        if self._lines is None:
            self._lines = split_lines(super().source)
        return self._lines

    def _apply_full_change(self, change: types.TextDocumentContentChangeEvent) -> None:
        """Split now: the next listing or run would, on its own clock."""
        super()._apply_full_change(change)
        self._lines = split_lines(change.text)

    def _apply_incremental_change(self, change: types.TextDocumentContentChangePartial) -> None:
        lines = self.lines  # read only: the change builds a new list below
        if not lines:
            self._replace_lines(split_lines(change.text))
            return
        where = self.position_codec.range_from_client_units(lines, change.range)
        first, last = where.start.line, where.end.line
        piece = lines[first][: where.start.character] + change.text
        piece += lines[last][where.end.character :]
        low, high = first, last + 1  # the piece ends with line `last`'s own ending
        # `\r` + `\n` is one line ending: a `\n` typed after a bare `\r` joins two lines
        if piece.startswith("\n") and low > 0 and lines[low - 1].endswith("\r"):
            low -= 1
            piece = lines[low] + piece
        changed = list(lines)  # a copy (C, half the cost of rebuilding it), then the change
        changed[low:high] = split_lines(piece)
        self._replace_lines(changed)

    def _replace_lines(self, lines: list[str]) -> None:
        self._lines = lines
        self._source = None


class LineWorkspace(Workspace):
    """pygls' workspace, keeping open documents as `LineDocument`s."""

    def _create_text_document(
        self,
        doc_uri: str,
        source: str | None = None,
        version: int | None = None,
        language_id: str | None = None,
    ) -> TextDocument:
        return LineDocument(
            doc_uri,
            source=source,
            version=version,
            language_id=language_id,
            sync_kind=self._sync_kind,
            position_codec=self.position_codec,
        )


def keep_documents_as_lines(workspace: Workspace) -> None:
    """Make the workspace pygls built at `initialize` (before any document opened) keep
    documents as lines. pygls offers no parameter for the document class, so the instance
    takes the subclass that only overrides the document factory."""
    if type(workspace) is Workspace:
        workspace.__class__ = LineWorkspace


def document_lines(doc: TextDocument) -> Sequence[str]:
    """The document's lines as LSP splits them: a snapshot that later changes leave alone."""
    if isinstance(doc, LineDocument):
        return doc.lines
    return split_lines(doc.source)
