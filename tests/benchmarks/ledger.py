"""The ledger's work after each run, on a new ledger and on one a year of use has filled.

After every run the server records a row and sends `ladder/status`, whose "saved $X"
comes from `Ledger.summary_today`. Both must cost the same on a ledger of 100,000 rows
(a few hundred runs a day for a year) as on a new one: the figure is the p50 on the big
ledger against the p50 on the small one, measured in the same run, alternating.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ladder_lsp.store.ledger import AttemptRecord, Ledger, RunRecord

from .session import Bench
from .stats import median, summary_ms

SMALL_ROWS = 100
BIG_ROWS = 100_000
MODEL = "claude-sonnet-4-5"

RUN = RunRecord(
    action="refactor",
    path="/bench/module.py",
    status="edit",
    delivery="applied",
    reached_user=True,
    tier="local",
    model="qwen",
    attempts=(AttemptRecord(tier="local", model="qwen", input_tokens=900, output_tokens=300),),
    message="Refactor by local model",
    seconds=1.0,
)


def _filled(path: Path, rows: int) -> Ledger:
    """A ledger holding `rows` runs, one every five minutes back from now: the last few written
    as the server writes them (`record`), the rest copied from those in one batch through a
    connection of its own, as another process's rows arrive (minutes otherwise)."""
    ledger = Ledger(path, MODEL)
    recorded = min(rows, 10)
    for _ in range(recorded):
        ledger.record(RUN)
    db = sqlite3.connect(path)
    try:
        columns = [row[1] for row in db.execute("PRAGMA table_info(runs)")][3:]  # after the day
        template = db.execute(f"SELECT {','.join(columns)} FROM runs LIMIT 1").fetchone()
        now = time.time()
        stamps = [now - i * 300.0 for i in range(1, rows - recorded + 1)]
        db.executemany(
            f"INSERT INTO runs (ts, day, {','.join(columns)}) VALUES (?, ?{', ?' * len(columns)})",
            [(ts, time.strftime("%Y-%m-%d", time.localtime(ts)), *template) for ts in stamps],
        )
        db.commit()
    finally:
        db.close()
    return ledger


def _time(step: Callable[[], object]) -> float:
    started = time.perf_counter()
    step()
    return time.perf_counter() - started


async def run(bench: Bench) -> dict[str, Any]:
    rounds = 60 if bench.quick else 300
    small = _filled(bench.workdir / "ledger-small.sqlite3", SMALL_ROWS)
    big = _filled(bench.workdir / "ledger-big.sqlite3", BIG_ROWS)
    try:
        saved = {
            name: led.summary_today()["saved_usd"] for name, led in (("small", small), ("big", big))
        }
        times: dict[str, list[float]] = {"small": [], "big": []}
        for i in range(rounds):
            for name in ("small", "big") if i % 2 == 0 else ("big", "small"):
                led = small if name == "small" else big
                times[name].append(_time(lambda led=led: (led.record(RUN), led.summary_today())))
    finally:
        small.close()
        big.close()
    ratio = median(times["big"]) / median(times["small"])
    return {
        "rows": {"small": SMALL_ROWS, "big": BIG_ROWS},
        "record_and_status": {name: summary_ms(values) for name, values in times.items()},
        "ratio_p50": round(ratio, 3),
        "saved_usd": saved,
    }
