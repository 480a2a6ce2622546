"""The baseline Ladder's runs are compared with: one streaming POST of the body Ladder sent,
made by a plain httpx client in a process of its own, as Ladder is one.

In the benchmark's process the client would share the GIL with the fake's server threads:
each would slow the other's streaming, and the comparison would measure that contention,
not Ladder. `python -m tests.benchmarks.direct_client` reads one JSON line
``{"url": ..., "body": ...}``, then makes one call per line it reads and prints
``SENT DONE`` (``time.monotonic()``: one clock for every process on the machine, the clock
the fakes and the LSP client stamp with).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from .lsp import server_env, with_repo_on_path


async def direct_call(http: httpx.AsyncClient, url: str, body: Any) -> tuple[float, float]:
    """(sent_at, [DONE] seen at) for one streaming POST; the rest of the body is drained so the
    connection goes back to the pool (the best case for the direct client)."""
    done_at = 0.0
    sent_at = time.monotonic()
    async with http.stream("POST", url, json=body, timeout=httpx.Timeout(600.0)) as resp:
        resp.raise_for_status()
        async for line in resp.aiter_lines():
            if line.strip() == "data: [DONE]" and not done_at:
                done_at = time.monotonic()
    return sent_at, done_at or time.monotonic()


class DirectClient:
    """The parent's handle on a running `direct_client` process."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self._proc = proc

    async def call(self) -> tuple[float, float]:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(b"go\n")
        await self._proc.stdin.drain()
        line = await asyncio.wait_for(self._proc.stdout.readline(), 600)
        if not line:
            raise RuntimeError("the direct client exited")
        sent, done = line.split()
        return float(sent), float(done)


@asynccontextmanager
async def direct_client(url: str, body: Any, state_dir: Any) -> AsyncIterator[DirectClient]:
    """A `direct_client` process that will POST `body` to `url` on each `call()`."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.benchmarks.direct_client",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        env=with_repo_on_path(server_env(state_dir)),
    )
    assert proc.stdin is not None
    proc.stdin.write(json.dumps({"url": url, "body": body}).encode() + b"\n")
    try:
        yield DirectClient(proc)
    finally:
        proc.stdin.close()
        await asyncio.wait_for(proc.wait(), 30)


async def _serve() -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=64 * 1024 * 1024)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    setup = json.loads(await reader.readline())
    async with httpx.AsyncClient(limits=httpx.Limits(max_keepalive_connections=16)) as http:
        while await reader.readline():
            sent, done = await direct_call(http, setup["url"], setup["body"])
            sys.stdout.write(f"{sent!r} {done!r}\n")
            sys.stdout.flush()


if __name__ == "__main__":
    asyncio.run(_serve())
