"""Edits to one document, one at a time, each on the text the previous one produced.

Concurrent runs on one file would otherwise all send edits for the same version and the editor
would refuse all but the first. After an applied edit the command answers at once (Eglot
sends its `didChange` only after an idle delay); the *next* delivery to that document waits
until the editor's `didChange` for the previous edit has arrived — woken by the didChange
handler, not by polling — so it rebases on the new text and version.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

ECHO_TIMEOUT = 1.0  # seconds to wait for the editor's didChange after an applied edit


class _Document:
    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0
        self.sent_for: int | None = None  # version an applied edit was sent against
        self.changed = asyncio.Event()


class Deliveries:
    """Per-document delivery state, kept on the server object (one per session)."""

    def __init__(self) -> None:
        self._docs: dict[str, _Document] = {}

    @contextlib.asynccontextmanager
    async def one_at_a_time(
        self,
        key: str,
        version_of: Callable[[], int | None],
        waiting: Callable[[], None] = lambda: None,
    ) -> AsyncIterator[None]:
        """Hold the document's delivery turn; first wait (bounded) for the echo of the
        previous applied edit, so the caller reads the text that edit produced. `waiting` is
        called before the turn has to wait (for another delivery, or for that echo)."""
        doc = self._docs.setdefault(key, _Document())
        doc.users += 1
        try:
            if doc.lock.locked() or _owes_echo(doc, version_of):
                waiting()
            async with doc.lock:
                await self._echo_of_previous(doc, version_of)
                yield
        finally:
            doc.users -= 1
            if doc.users == 0 and doc.sent_for is None:
                self._docs.pop(key, None)

    def applied(self, key: str, version: int | None) -> None:
        """An edit sent against `version` was applied: its didChange is on its way."""
        doc = self._docs.get(key)
        if doc is not None and version is not None:
            doc.sent_for = version
            doc.changed.clear()

    def document_changed(self, key: str) -> None:
        """The editor's didChange arrived (called by the didChange handler)."""
        doc = self._docs.get(key)
        if doc is None:
            return
        if doc.users == 0:  # nobody waits: the next delivery reads the new version as is
            self._docs.pop(key, None)
        else:
            doc.changed.set()

    def document_closed(self, key: str) -> None:
        """The editor closed the document: no echo of an earlier edit is owed any more (VS
        Code may send it before answering applyEdit, and a reopened document restarts its
        versions, so waiting for it would cost `ECHO_TIMEOUT`)."""
        doc = self._docs.get(key)
        if doc is None:
            return
        doc.sent_for = None
        if doc.users == 0:
            self._docs.pop(key, None)

    def pending(self) -> int:
        """Documents with delivery state (for the stress tests' leak checks)."""
        return len(self._docs)

    async def _echo_of_previous(self, doc: _Document, version_of: Callable[[], int | None]) -> None:
        if doc.sent_for is None:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + ECHO_TIMEOUT
        while _owes_echo(doc, version_of):
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(doc.changed.wait(), remaining)
            doc.changed.clear()
        doc.sent_for = None


def _owes_echo(doc: _Document, version_of: Callable[[], int | None]) -> bool:
    """The editor has not yet sent the didChange of the edit applied to this document."""
    return doc.sent_for is not None and version_of() == doc.sent_for
