"""Documents the server puts in front of the user: explanations, job reports, diffs to review.

Each is a file under the user's cache directory (user-only permissions: they quote the user's
code), shown with `window/showDocument`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import uuid
from pathlib import Path

import platformdirs
from lsprotocol import types

from ladder_lsp.lsp.session import LadderServer

log = logging.getLogger(__name__)
SHOW_TIMEOUT = 30.0  # seconds for the client's answer to window/showDocument


async def show_markdown(ls: LadderServer, name: str, text: str, *, fallback: str) -> bool:
    """A Markdown document (an explanation, a job's report) shown with showDocument from a
    user-only file; `fallback` as a message when the client cannot show documents."""
    if ls.features.show_document:
        shown = await show_file(ls, cache_file("explain", name, ".md"), text)
        if shown is not None:
            return shown
    ls.window_show_message(types.ShowMessageParams(types.MessageType.Info, fallback))
    return True


async def show_file(ls: LadderServer, path: Path, text: str) -> bool | None:
    """Write `text` to `path` (user-only) and show it; None when it could not be written."""
    try:
        await asyncio.to_thread(write_private, path, text)
    except OSError as exc:
        log.warning("could not write %s: %s", path, exc)
        return None
    return await show_uri(ls, path.as_uri())


async def show_uri(ls: LadderServer, uri: str) -> bool:
    """`window/showDocument`, focused; False when the client cannot or did not."""
    if not ls.features.show_document:
        return False
    try:
        result = await asyncio.wait_for(
            ls.window_show_document_async(types.ShowDocumentParams(uri=uri, take_focus=True)),
            SHOW_TIMEOUT,
        )
    except (asyncio.TimeoutError, Exception) as exc:
        log.warning("window/showDocument failed: %s", exc)
        return False
    return bool(result.success)


def cache_file(kind: str, name: str, suffix: str) -> Path:
    """A new file name under the user's cache directory, `kind/NAME-STAMP-ID.SUFFIX`."""
    folder = Path(platformdirs.user_cache_dir("ladder-lsp")) / kind
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return folder / f"{name}-{stamp}-{uuid.uuid4().hex[:6]}{suffix}"


def write_private(path: Path, text: str) -> None:
    """User-only permissions: these files quote the user's code."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
