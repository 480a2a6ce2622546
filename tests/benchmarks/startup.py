"""Start-up: process start → `initialize` result, against the floor measured in the same run.

- floor: wall time of `python -c "import pygls.lsp.server, lsprotocol.types"` (spawn → exit):
  what any pygls server pays before it can answer anything;
- Ladder: spawn of `python -m ladder_lsp` → the client has parsed the `initialize` result;
- idle RSS: VmRSS of the server once it has answered `initialize`, received `initialized`,
  pulled its configuration, probed the backend and sent its first `ladder/status`, then sat
  idle for a moment.

The two alternate (floor, server, floor, server, …) so machine load hits both alike; the
report gives medians. Without --quick, `python -c pass` (the interpreter alone) and the minimal
pygls server (`minimal_server.py`: pygls' own converter set-up and first (de)serialization,
which the import floor leaves out) are measured too, for context.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any

from .fakes import TimedFakeLMStudio
from .lsp import LspClient, server_env, vm_rss_kb, with_repo_on_path
from .session import MINIMAL_SERVER, Bench
from .stats import median, ms

FLOOR = [sys.executable, "-c", "import pygls.lsp.server, lsprotocol.types"]
BARE = [sys.executable, "-c", "pass"]
SETTLE_SECONDS = 0.3


async def _wall(command: list[str], env: dict[str, str]) -> float:
    started = time.monotonic()
    proc = await asyncio.create_subprocess_exec(*command, env=env)
    if await proc.wait() != 0:
        raise RuntimeError(f"{command} exited with {proc.returncode}")
    return time.monotonic() - started


async def _server_once(
    bench: Bench, base_url: str, env: dict[str, str], k: int, minimal: bool = False
) -> tuple[float, int]:
    client = LspClient(bench.settings(base_url), bench.workdir / f"startup-{k}.stderr.log", env)
    if minimal:
        client.command = list(MINIMAL_SERVER)
        client.env = with_repo_on_path(env)
    try:
        reply = await client.start(bench.capabilities, bench.workdir)
        seconds = reply.received_at - client.spawned_at
        if not minimal:
            await client.wait_message(0, "ladder/status", timeout=30)
        await asyncio.sleep(SETTLE_SECONDS)
        rss = vm_rss_kb(client.pid)
    finally:
        await client.stop()
    return seconds, rss


async def run(bench: Bench) -> dict[str, Any]:
    """Without --quick, also `python -c pass` and the minimal pygls server (for context)."""
    n = 5 if bench.quick else 9
    env = server_env(bench.workdir)
    floor: list[float] = []
    server: list[float] = []
    bare: list[float] = []
    minimal: list[float] = []
    minimal_rss: list[int] = []
    rss: list[int] = []
    with TimedFakeLMStudio() as fake:
        await _wall(FLOOR, env)  # warm the page cache and bytecode for both
        if not bench.quick:
            await _server_once(bench, fake.base_url, env, -1)
        for k in range(n):
            if not bench.quick:
                bare.append(await _wall(BARE, env))
                seconds, kb = await _server_once(bench, fake.base_url, env, k, minimal=True)
                minimal.append(seconds)
                minimal_rss.append(kb)
            floor.append(await _wall(FLOOR, env))
            seconds, kb = await _server_once(bench, fake.base_url, env, k)
            server.append(seconds)
            rss.append(kb)
    extra: dict[str, Any] = {}
    if minimal:
        extra = {
            "python_bare_ms": ms(median(bare), 1),
            "pygls_minimal_initialize_ms": ms(median(minimal), 1),
            "pygls_minimal_idle_rss_mb": round(median(minimal_rss) / 1024, 1),
        }
    return {
        "runs": n,
        "floor_ms": ms(median(floor), 1),
        "initialize_ms": ms(median(server), 1),
        "ratio": round(median(server) / median(floor), 3),
        **extra,
        "idle_rss_mb": round(median(rss) / 1024, 1),
        "idle_rss_max_mb": round(max(rss) / 1024, 1),
        "floor_all_ms": [ms(s, 1) for s in floor],
        "initialize_all_ms": [ms(s, 1) for s in server],
    }
