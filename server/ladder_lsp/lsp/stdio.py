"""stdin read by the event loop rather than by threads.

pygls reads stdio with blocking `readline`/`read` calls in its thread pool: three thread
hand-offs per message (header, blank line, body), a few tenths of a millisecond on every
cursor move's codeAction and before each run can start. When stdin is a pipe or socket of
its own, the loop reads it directly: one wake-up per arrival. Not when it shares its open
file with stdout (a terminal, one socket for both): the loop makes stdin non-blocking, and
stdout must stay blocking. Anything else (a file, a terminal, Windows) keeps pygls' reader.
"""

from __future__ import annotations

import asyncio
import os
import stat
import sys

LINE_LIMIT = 1 << 20  # a header line longer than this is not LSP


def own_pipe(stdin_fd: int = 0, stdout_fd: int = 1) -> bool:
    """Whether the loop may read `stdin_fd` (see the module docstring)."""
    if sys.platform == "win32":
        return False
    try:
        given, out = os.fstat(stdin_fd), os.fstat(stdout_fd)
    except OSError:
        return False
    if not (stat.S_ISFIFO(given.st_mode) or stat.S_ISSOCK(given.st_mode)):
        return False
    return (given.st_dev, given.st_ino) != (out.st_dev, out.st_ino)


class LoopReader:
    """pygls' reader interface (`readline`, `readexactly`) over an asyncio stream; at the end
    of input both return what is left (b"" ends pygls' loop), as pygls' own reader does."""

    def __init__(self, stream: asyncio.StreamReader) -> None:
        self._stream = stream

    async def readline(self) -> bytes:
        try:
            return await self._stream.readline()
        except ValueError:  # a line beyond LINE_LIMIT: not a client we can talk to
            return b""

    async def readexactly(self, n: int) -> bytes:
        try:
            return await self._stream.readexactly(n)
        except asyncio.IncompleteReadError as exc:
            return exc.partial


async def loop_reader(stdin_fd: int = 0) -> LoopReader:
    """A reader of `stdin_fd` on the running loop (check `own_pipe` first)."""
    loop = asyncio.get_running_loop()
    stream = asyncio.StreamReader(limit=LINE_LIMIT)
    pipe = os.fdopen(stdin_fd, "rb", buffering=0, closefd=False)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stream), pipe)
    return LoopReader(stream)
