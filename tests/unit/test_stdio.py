"""stdin on the event loop: which stdin qualifies, and the reader's ends of input."""

from __future__ import annotations

import asyncio
import os
import socket
import tempfile

from ladder_lsp.lsp.stdio import LoopReader, loop_reader, own_pipe


def test_a_pipe_of_its_own_qualifies() -> None:
    read_in, write_in = os.pipe()
    read_out, write_out = os.pipe()
    try:
        assert own_pipe(read_in, write_out)
    finally:
        for fd in (read_in, write_in, read_out, write_out):
            os.close(fd)


def test_one_socket_for_both_directions_does_not() -> None:
    """Non-blocking mode belongs to the open file: stdout must stay blocking."""
    a, b = socket.socketpair()
    try:
        assert not own_pipe(a.fileno(), a.fileno())
        assert own_pipe(a.fileno(), b.fileno())
    finally:
        a.close()
        b.close()


def test_a_file_does_not() -> None:
    with tempfile.TemporaryFile() as f:
        assert not own_pipe(f.fileno(), f.fileno())


async def test_messages_are_read_and_the_end_of_input_ends_the_loop() -> None:
    read_fd, write_fd = os.pipe()
    try:
        reader = await loop_reader(read_fd)
        os.write(write_fd, b"Content-Length: 2\r\n\r\n{}Content-Length: 9\r\n\r\n{")
        os.close(write_fd)
        assert await reader.readline() == b"Content-Length: 2\r\n"
        assert await reader.readline() == b"\r\n"
        assert await reader.readexactly(2) == b"{}"
        await reader.readline()
        await reader.readline()
        assert await reader.readexactly(9) == b"{"  # cut short: what is left
        assert await reader.readline() == b""
    finally:
        os.close(read_fd)


async def test_a_line_beyond_the_limit_ends_the_input() -> None:
    stream = asyncio.StreamReader(limit=8)
    stream.feed_data(b"x" * 20 + b"\n")
    assert await LoopReader(stream).readline() == b""
