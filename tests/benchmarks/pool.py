"""The local pool: "Refactor file with local workers" (8 functions) on 1, 2 and 4 single-slot
fake members, and on a pool where one member is dead from the start or killed mid-job.

Every fake answers after a fixed 200 ms (chunks spread over that time) with the code it was
sent, `result` renamed to `acc`. Each figure is a median wall time from the command sent to
the edit received; speed-ups are against the one-member pool measured in the same run. With a
member dead or killed, every unit must still complete locally (the merged edit is checked;
no Claude is configured) and the wall time is compared with a pool of the live members only.
"""

from __future__ import annotations

import asyncio
from contextlib import ExitStack
from typing import Any

from tests.integration.peers import LlamaServer, find_model
from tests.ports import dead_url

from . import corpus
from .fakes import TimedFakeLMStudio, renaming_responder
from .llama import unavailable_reason
from .lsp import LspClient, LspError, apply_text_edits
from .session import Bench, edits_of, find_action, range_json, run_action, session
from .stats import median, ms

URI = "file:///bench/pool_module.py"
TITLE = "Refactor file with local workers"
FUNCTIONS = 8
LATENCY = 0.2
KILL_AFTER = 0.1  # seconds into the job when one member is stopped


def _pool_settings(bench: Bench, urls: list[str]) -> dict[str, Any]:
    first, *rest = urls
    endpoints = [{"baseUrl": url, "name": f"m{i}"} for i, url in enumerate(rest, 1)]
    return bench.settings(first, local={"maxParallel": 1, "endpoints": endpoints})


async def _fan_out(client: LspClient, mod: corpus.Module) -> dict[str, Any]:
    reply = await client.code_actions(URI, range_json((0, 0), (0, 0)))
    action = find_action(reply.result, TITLE)
    if action is None:
        raise LspError(f"no {TITLE!r} offered")
    return action


async def _measure(
    bench: Bench, name: str, urls: list[str], reps: int, kill: TimedFakeLMStudio | None = None
) -> dict[str, Any]:
    """Median wall time of the fan-out over `reps` runs. With `kill`, each run has a session
    of its own in which that member serves the warm-up and is stopped `KILL_AFTER` seconds
    into the measured job (a member set aside stays aside for a while)."""
    mod = corpus.top_level_functions(FUNCTIONS)
    expected = mod.text.replace("result", "acc")
    times: list[float] = []
    correct = True
    for rounds in [1] * reps if kill is not None else [reps]:
        if kill is not None:
            kill.start()
        async with session(bench, _pool_settings(bench, urls), f"pool-{name}") as client:
            client.open(URI, mod.text)
            action = await _fan_out(client, mod)
            await run_action(client, action, timeout=120)  # warm-up: every member seen once
            for _ in range(rounds):
                if kill is not None:
                    run, _ = await asyncio.gather(
                        run_action(client, action, timeout=120), _stop_later(kill)
                    )
                else:
                    run = await run_action(client, action, timeout=120)
                times.append(run.seconds)
                edit = run.apply_edit()
                correct = correct and edit is not None
                if edit is not None:
                    correct = correct and apply_text_edits(mod.text, edits_of(edit)) == expected
    return {"wall_p50_ms": ms(median(times)), "all_units_local": correct}


async def _stop_later(fake: TimedFakeLMStudio) -> None:
    await asyncio.sleep(KILL_AFTER)
    await asyncio.to_thread(fake.stop)


async def run(bench: Bench) -> dict[str, Any]:
    reps = 3 if bench.quick else 7
    with ExitStack() as stack:
        fakes = [stack.enter_context(TimedFakeLMStudio()) for _ in range(4)]
        for fake in fakes:
            fake.responder = renaming_responder("result", "acc", seconds=LATENCY)
        urls = [f.base_url for f in fakes]
        by_size = {n: await _measure(bench, f"{n}", urls[:n], reps) for n in (1, 2, 4)}
        live3 = await _measure(bench, "3", urls[:3], reps)
        dead = await _measure(bench, "dead", [dead_url(), *urls[:3]], reps)
        killed = await _measure(bench, "killed", urls, reps, kill=fakes[3])
    one = by_size[1]["wall_p50_ms"]
    return {
        "llama": await _llama(bench),
        "functions": FUNCTIONS,
        "backend_latency_ms": ms(LATENCY),
        "members": {
            str(n): {**r, "speedup": round(one / r["wall_p50_ms"], 2)} for n, r in by_size.items()
        },
        "three_live": live3,
        "one_dead_from_start": {
            **dead,
            "ratio": round(dead["wall_p50_ms"] / live3["wall_p50_ms"], 3),
        },
        "one_killed_mid_job": {
            **killed,
            "ratio": round(killed["wall_p50_ms"] / live3["wall_p50_ms"], 3),
        },
    }


async def _llama(bench: Bench) -> dict[str, Any]:
    """Two real llama.cpp servers (one thread each) against one: the same fan-out of 4
    functions. No target: both servers share this machine's two cores."""
    reason = unavailable_reason()
    if reason is not None or bench.quick:
        return {"skipped": reason or "--quick: the real model takes minutes"}
    model = find_model()
    assert model is not None
    servers = [
        LlamaServer(model, bench.workdir / f"pool-llama{i}.log", extra=("--n_threads", "1"))
        for i in range(2)
    ]
    mod = corpus.top_level_functions(4)
    walls: dict[int, float] = {}
    try:
        for server in servers:
            server.start()
        for n in (1, 2):
            settings = _pool_settings(bench, [s.base_url for s in servers[:n]])
            settings["local"]["timeoutSeconds"] = 600
            async with session(bench, settings, f"pool-llama-{n}") as client:
                client.open(URI, mod.text)
                action = await _fan_out(client, mod)
                runs = [await run_action(client, action, timeout=900) for _ in range(2)]
                walls[n] = median([r.seconds for r in runs])
    finally:
        for server in servers:
            server.stop()
    return {
        "one_server_ms": ms(walls[1]),
        "two_servers_ms": ms(walls[2]),
        "speedup": round(walls[1] / walls[2], 2),
        "note": "each server --n_threads 1 on a shared 2-core machine; SmolLM2's answers "
        "vary in length, so the runs do not do the same amount of work",
    }
