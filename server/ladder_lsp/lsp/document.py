"""Open documents kept as lines, so an incremental change costs the size of the change.

pygls' `TextDocument` holds one string: every `didChange` rebuilds it by walking all lines
(`str.splitlines`, which also splits on form feeds and `\\u2028`, unlike LSP), and every
listing after it had to split the whole text again — 10 ms and more at 20,000 lines, on each
keystroke. `LineDocument` holds the lines as LSP splits them (`analysis.text.split_lines`)
and replaces only the lines a change touches; the text is joined only when someone asks for
it. The list is edited in place, except after a snapshot was handed out (`document_lines`,
for a run that holds the lines across awaits): the next change then works on a copy, so the
snapshot never moves. A listing reads without a snapshot (`read_lines`), so typing between
cursor moves never copies the document.
"""

from __future__ import annotations

from collections.abc import Sequence

from lsprotocol import types
from pygls.workspace import TextDocument, Workspace

from ladder_lsp.analysis.text import split_lines


class LineDocument(TextDocument):
    """A pygls document whose lines are the truth and whose text is derived on demand."""

    _lines: list[str] | None = None  # None: not split yet (the text is the truth until then)
    _shared = False  # `_lines` was handed out as a snapshot: the next change copies it

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
        self._shared = False

    def _apply_incremental_change(self, change: types.TextDocumentContentChangePartial) -> None:
        lines = self.lines
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
        changed = list(lines) if self._shared else self._lines
        assert changed is not None  # split by `self.lines` above
        changed[low:high] = split_lines(piece)
        self._replace_lines(changed)

    def snapshot(self) -> Sequence[str]:
        """The lines, never changed by later changes (see the module docstring)."""
        lines = self.lines
        self._shared = True
        return lines

    def _replace_lines(self, lines: list[str]) -> None:
        if lines is not self._lines:
            self._shared = False
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
        return doc.snapshot()
    return split_lines(doc.source)


def read_lines(doc: TextDocument) -> Sequence[str]:
    """The document's lines for a read that ends before the next change is applied (a
    listing: no await in between); they may change in place afterwards."""
    if isinstance(doc, LineDocument):
        return doc.lines
    return split_lines(doc.source)
