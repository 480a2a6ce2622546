"""Fan-out: "Refactor file with local workers" on an 8-function file vs one `refactor` call.

The fake answers every request after a fixed 200 ms (its content chunks spread over that time)
with the code it was sent, `result` renamed to `acc`, so every chunk passes Ladder's checks.
With `local.maxParallel` 4, eight chunks ideally take two waves: 2.0× one call. The figure is
median(file with workers) / median(one function), the runs alternating. The merged edit is
checked against the expected text (all eight functions renamed, nothing else touched), and the
fake reports how many requests ran at once.

When the server does not offer the action (not implemented yet), the figure reports
"not available" instead of failing.
"""

from __future__ import annotations

from typing import Any

from . import corpus
from .fakes import TimedFakeLMStudio, renaming_responder
from .lsp import LspClient, LspError, apply_text_edits
from .session import (
    Bench,
    action_at,
    edits_of,
    find_action,
    range_json,
    run_action,
    session,
)
from .stats import median, ms, summary_ms

URI = "file:///bench/fanout_module.py"
FANOUT_TITLE = "Refactor file with local workers"
SINGLE_TITLE = "Refactor with local model"
FUNCTIONS = 8
PARALLEL = 4
LATENCY = 0.2


async def _find_fanout(client: LspClient, mod: corpus.Module) -> dict[str, Any] | None:
    """The fan-out action wherever it is offered: cursor in a function, whole file, all defs."""
    f0 = mod.functions[0]
    last = mod.line_count
    for rng in (
        range_json((f0.start + 3, 8), (f0.start + 3, 8)),
        range_json((0, 0), (last, 0)),
        range_json((f0.start, 0), (mod.functions[-1].end, 0)),
    ):
        reply = await client.code_actions(URI, rng)
        action = find_action(reply.result, FANOUT_TITLE)
        if action is not None:
            return action
    return None


async def run(bench: Bench) -> dict[str, Any]:
    reps = 3 if bench.quick else 7
    mod = corpus.top_level_functions(FUNCTIONS)
    expected = mod.text.replace("result", "acc")
    with TimedFakeLMStudio() as fake:
        fake.responder = renaming_responder("result", "acc", seconds=LATENCY)
        settings = bench.settings(fake.base_url, local={"maxParallel": PARALLEL})
        async with session(bench, settings, "fanout") as client:
            client.open(URI, mod.text)
            f0 = mod.functions[0]
            single = await action_at(
                client, URI, range_json((f0.start + 3, 8), (f0.start + 3, 8)), SINGLE_TITLE
            )
            fan = await _find_fanout(client, mod)
            if fan is None:
                return {
                    "available": False,
                    "reason": f"the server offers no {FANOUT_TITLE!r} code action (yet)",
                }
            arguments = (fan.get("command") or {}).get("arguments") or [{}]
            single_times: list[float] = []
            fan_times: list[float] = []
            requests: list[int] = []
            peaks: list[int] = []
            correct = True
            await run_action(client, single)  # warm-up
            for i in range(reps):
                for step in ("single", "fan") if i % 2 == 0 else ("fan", "single"):
                    if step == "single":
                        run = await run_action(client, single)
                        if not run.applied:
                            raise LspError(f"the single refactor was not applied: {run.result}")
                        single_times.append(run.seconds)
                        continue
                    first = len(fake.streams)
                    fake.peak_streams = 0
                    run = await run_action(client, fan, timeout=120)
                    fan_times.append(run.seconds)
                    requests.append(len(fake.streams) - first)
                    peaks.append(fake.peak_streams)
                    edit = run.apply_edit()
                    if edit is None:
                        correct = False
                        continue
                    correct = correct and apply_text_edits(mod.text, edits_of(edit)) == expected
    return {
        "available": True,
        "functions": FUNCTIONS,
        "max_parallel": PARALLEL,
        "backend_latency_ms": ms(LATENCY),
        "ratio": round(median(fan_times) / median(single_times), 3),
        "single": summary_ms(single_times),
        "fanout": summary_ms(fan_times),
        "ideal_ratio": round(FUNCTIONS / PARALLEL, 2),
        "requests_per_fanout": sorted(set(requests)),
        "peak_concurrent_streams": max(peaks) if peaks else 0,
        "merged_edit_correct": correct,
        "action_arguments": sorted(arguments[0].keys()) if isinstance(arguments[0], dict) else [],
    }
