"""End-to-end `ladder.run` against a direct streaming call of the same prompt.

Ladder's path: the client sends `workspace/executeCommand ladder.run` → … → the client receives
`workspace/applyEdit`. The floor: a plain httpx client in a process of its own
(`direct_client`, as Ladder is one) POSTs the very body Ladder sent (captured by the fake or
the proxy) to the same backend, streaming, and stops the clock at `data: [DONE]`. The two
alternate (A B, B A, …) on the same backend, so drift and the backend's own caches hit both
equally. Per pair: ratio = Ladder / direct, overhead = Ladder −
direct; the report gives their medians.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from tests.integration.peers import LlamaServer, find_model

from . import corpus
from .direct_client import direct_client
from .fakes import StreamTimes, TimedFakeLMStudio, renaming_responder
from .llama import SeedingProxy, unavailable_reason
from .lsp import LspClient
from .session import MINIMAL_SERVER, Bench, Run, action_at, range_json, run_action, session
from .stats import median, ms, summary_ms

DOC_LINES = 1_000
BIG_DOC_LINES = 20_000  # the same run in a big file: what Ladder adds must not grow with it
URI = "file:///bench/e2e_module.py"
TITLE = "Refactor with local model"


async def compare(
    client: LspClient,
    action: dict[str, Any],
    url: str,
    streams: Callable[[], list[StreamTimes]],
    pairs: int,
    warmup: int = 2,
    connections: Callable[[], int] | None = None,
    quiet: Callable[[], Awaitable[None]] | None = None,
    menu: Callable[[], Awaitable[Any]] | None = None,
    *,
    state_dir: Path,
) -> dict[str, Any]:
    """Alternate Ladder runs and direct calls of the body Ladder sent.

    `streams()`: the backend's chat requests so far with their timestamps (fake or proxy);
    `connections()` (optional): TCP connections the backend has accepted so far;
    `quiet()` (optional): waits until the backend is idle, before each step;
    `menu()` (optional): lists the actions before each Ladder run, untimed, as an editor
    does when the user opens the menu and picks one (then `quiet()` is the pick's time);
    `state_dir`: where the direct client's process keeps its environment's state.

    The direct calls come from a process of their own (`direct_client`), as Ladder's do.

    Besides the end-to-end ratio, each step's time *outside the backend* is computed from the
    backend's timestamps: (request received − sent) + (done − stream ended). Its difference
    between the paths is Ladder's overhead without the backend's run-to-run noise.
    """
    ladder: list[float] = []
    direct: list[float] = []
    outside: dict[str, list[float]] = {"ladder": [], "direct": []}
    edges: dict[str, list[float]] = {"before": [], "after": []}  # Ladder's, around the backend
    opened = {"ladder": 0, "direct": 0}
    count = connections or (lambda: 0)
    applied = 0
    runs: list[Run] = []

    async def edges_of(sent: float, done: float) -> tuple[float, float] | None:
        """(request received − sent, done − stream ended) for the step's last stream; the
        backend stamps the end after its last write, which the client may see first."""
        for _ in range(200):
            mine = [r for r in streams() if sent <= r.received_at <= done]
            if not mine:
                return None
            ended = mine[-1].ended_at
            if ended is not None:
                return mine[-1].received_at - sent, done - ended
            await asyncio.sleep(0.005)
        return None

    for _ in range(warmup):
        await run_action(client, action)
    body = streams()[-1].body
    async with direct_client(url, body, state_dir) as direct_http:
        for _ in range(warmup):
            if quiet:
                await quiet()
            await direct_http.call()
        for i in range(pairs):
            for step in ("ladder", "direct") if i % 2 == 0 else ("direct", "ladder"):
                if menu and step == "ladder":
                    await menu()
                if quiet:
                    await quiet()
                before = count()
                if step == "ladder":
                    run = await run_action(client, action)
                    sent, done = run.sent_at, run.done_at
                    ladder.append(run.seconds)
                    applied += run.applied
                    runs.append(run)
                    if streams()[-1].body != body:
                        raise AssertionError("Ladder sent a different prompt between runs")
                else:
                    sent, done = await direct_http.call()
                    direct.append(done - sent)
                opened[step] += count() - before
                found = await edges_of(sent, done)
                if found is not None:
                    outside[step].append(sum(found))
                    if step == "ladder":
                        edges["before"].append(found[0])
                        edges["after"].append(found[1])
    ratios = [a / b for a, b in zip(ladder, direct, strict=True)]
    overheads = [a - b for a, b in zip(ladder, direct, strict=True)]
    result: dict[str, Any] = {
        "pairs": pairs,
        "ratio_p50": round(median(ratios), 4),
        "overhead_p50_ms": ms(median(overheads)),
        "ladder": summary_ms(ladder),
        "direct": summary_ms(direct),
    }
    if len(outside["ladder"]) == len(outside["direct"]) == pairs:
        deltas = [a - b for a, b in zip(outside["ladder"], outside["direct"], strict=True)]
        result["overhead_outside_backend_p50_ms"] = ms(median(deltas))
        result["ratio_outside_backend_p50"] = round(
            median([(d + x) / d for d, x in zip(direct, deltas, strict=True)]), 4
        )
        result["ladder_outside_backend_p50_ms"] = ms(median(outside["ladder"]))
        result["direct_outside_backend_p50_ms"] = ms(median(outside["direct"]))
        result["ladder_before_request_p50_ms"] = ms(median(edges["before"]))
        result["ladder_after_stream_p50_ms"] = ms(median(edges["after"]))
    if connections:
        result["tcp_connections_per_ladder_run"] = round(opened["ladder"] / pairs, 2)
        result["tcp_connections_per_direct_call"] = round(opened["direct"] / pairs, 2)
    result["applied_runs"] = applied
    result["_runs"] = runs
    return result


def breakdown(runs: list[Run], fake: TimedFakeLMStudio, first: int) -> dict[str, Any]:
    """Where Ladder's time went, per run, from the fake's timestamps (medians, ms): before
    the request reached the backend, the backend's own stream, after the stream ended; and
    how many runs showed progress (a run over within `lsp.progress.SHOW_AFTER` shows none)."""
    streams = fake.streams[first:]
    parts: dict[str, list[float]] = {"before_request": [], "backend_stream": [], "after_stream": []}
    shown = 0
    for run in runs:
        mine = [s for s in streams if run.sent_at <= s.received_at <= run.done_at]
        if not mine or mine[-1].ended_at is None:
            continue
        s = mine[-1]
        ended = mine[-1].ended_at
        parts["before_request"].append(s.received_at - run.sent_at)
        parts["backend_stream"].append(ended - s.received_at)
        parts["after_stream"].append(run.done_at - ended)
        shown += any(m.method == "window/workDoneProgress/create" for m in run.messages)
    out: dict[str, Any] = {
        f"{name}_p50_ms": ms(median(values)) for name, values in parts.items() if values
    }
    out["before_request_max_ms"] = (
        ms(max(parts["before_request"])) if parts["before_request"] else None
    )
    out["after_stream_max_ms"] = ms(max(parts["after_stream"])) if parts["after_stream"] else None
    out["runs_with_progress"] = shown
    return out


async def _prepare(client: LspClient, lines: int = DOC_LINES, uri: str = URI) -> dict[str, Any]:
    mod = corpus.module(lines)
    client.open(uri, mod.text)
    return await _menu(client, mod, uri)


async def _menu(client: LspClient, mod: corpus.Module, uri: str) -> dict[str, Any]:
    """The actions at a cursor inside the middle function: the one a run is picked from."""
    target = mod.functions[len(mod.functions) // 2]
    cursor = (target.start + 3, 8)
    return await action_at(client, uri, range_json(cursor, cursor), TITLE)


async def run_fakes(bench: Bench) -> dict[str, Any]:
    """The instant fake and the 200 ms fake on a 1,000-line file, and the instant fake on a
    20,000-line one (one server session, one fake)."""
    pairs = 40 if bench.quick else 200
    slow_pairs = 10 if bench.quick else 60
    out: dict[str, Any] = {}
    with TimedFakeLMStudio() as fake:
        async with session(bench, bench.settings(fake.base_url), "e2e-fake") as client:
            action = await _prepare(client)
            big = await _prepare(client, BIG_DOC_LINES, "file:///bench/e2e_big_module.py")
            url = f"{fake.base_url}/chat/completions"
            instant, slow = (
                renaming_responder("result", "acc"),
                renaming_responder("result", "acc", seconds=0.2),
            )
            for name, responder, n, lines, on in (
                ("instant", instant, pairs, DOC_LINES, action),
                ("200ms", slow, slow_pairs, DOC_LINES, action),
                ("instant_20k", instant, pairs, BIG_DOC_LINES, big),
            ):
                fake.responder = responder
                first = len(fake.streams)
                result = await compare(
                    client,
                    on,
                    url,
                    lambda: fake.streams,
                    n,
                    connections=lambda: fake.connections,
                    state_dir=bench.workdir,
                )
                runs = result.pop("_runs")
                result["breakdown"] = breakdown(runs, fake, first)
                result["document_lines"] = lines
                if not bench.quick and lines == DOC_LINES:
                    result["pygls_floor"] = await _floor(bench, fake, url, n)
                out[name] = result
    return out


async def _floor(bench: Bench, fake: TimedFakeLMStudio, url: str, pairs: int) -> dict[str, Any]:
    """The same comparison for the do-nothing pygls server, whose `ladder.run` streams the
    body Ladder sent and sends an empty edit: what any LSP server pays on this path."""
    body = fake.streams[-1].body
    settings = bench.settings(fake.base_url)
    async with session(bench, settings, "e2e-floor", command=MINIMAL_SERVER) as floor:
        await floor.request(
            "workspace/executeCommand", {"command": "bench.backend", "arguments": [url, body]}
        )
        action = await _prepare(floor)
        result = await compare(
            floor, action, url, lambda: fake.streams, pairs,
            connections=lambda: fake.connections, state_dir=bench.workdir,
        )  # fmt: skip
    result.pop("_runs")
    return result


async def run_llama(bench: Bench) -> dict[str, Any]:
    """The real llama.cpp server with SmolLM2-135M (skipped with a reason when missing)."""
    reason = unavailable_reason()
    if reason is not None:
        return {"skipped": reason}
    if bench.quick:
        return {"skipped": "--quick: the real model takes minutes; run without --quick"}
    model = find_model()
    assert model is not None
    llama = LlamaServer(model, bench.workdir / "llama.log")
    started = time.monotonic()
    llama.start()
    load_seconds = time.monotonic() - started
    proxy = SeedingProxy(llama.base_url.removesuffix("/v1")).start()
    try:
        settings = bench.settings(proxy.base_url, local={"timeoutSeconds": 600})
        async with session(bench, settings, "e2e-llama") as client:
            action = await _prepare(client)
            url = f"{proxy.base_url}/chat/completions"
            mod = corpus.module(DOC_LINES)
            result = await compare(
                client,
                action,
                url,
                lambda: proxy.streams,
                5,
                warmup=1,
                quiet=proxy.quiet,
                # runs seconds apart, as in an editor: the menu before each one lets Ladder
                # check which model is loaded while the user picks (`refresh_model_choice`)
                menu=lambda: _menu(client, mod, URI),
                state_dir=bench.workdir,
            )
            runs = result.pop("_runs")
            result["ladder_outcomes"] = sorted(
                {str((r.result or {}).get("reason") or "applied") for r in runs}
            )
            result["model_load_seconds"] = round(load_seconds, 1)
            result["document_lines"] = DOC_LINES
            result["note"] = "both paths through a proxy that fixes the sampling seed"
            return result
    finally:
        proxy.stop()
        llama.stop()
