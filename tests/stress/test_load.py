"""Load and soak: 50 concurrent runs on 10 documents, then a long sequential soak, against a
real HTTP fake on loopback — every run finishes, queued runs say so, every document gets
exactly its own edits, the ledger counts every run, and nothing leaks (RSS, file
descriptors, asyncio tasks, HTTP connections). Figures go to results.json."""

from __future__ import annotations

import os
import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.lmstudio import FakeLMStudio, Reply
from tests.stress.client import LspServer, range_dict
from tests.stress.conftest import internal_error_messages, running_server
from tests.stress.results import RESULTS

DOCS = 10
FUNCS = 5
CONCURRENT = DOCS * FUNCS
MAX_PARALLEL = 4
SOAK_RUNS = int(os.environ.get("LADDER_SOAK_RUNS", "1000"))
SOAK_WARMUP = 100
SOAK_BUDGET_SECONDS = float(os.environ.get("LADDER_SOAK_BUDGET", "75"))
RSS_LIMIT_KB = 10 * 1024


class CountingLMStudio(FakeLMStudio):
    """The fake, counting chat requests in progress (and the most at once)."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self.in_chat = 0
        self.max_in_chat = 0

    def _chat(self, ex: Any) -> None:
        with self._lock:
            self.in_chat += 1
            self.max_in_chat = max(self.max_in_chat, self.in_chat)
        try:
            super()._chat(ex)
        finally:
            with self._lock:
                self.in_chat -= 1


def function(doc: int, k: int, refactored: bool = False) -> str:
    name = f"f{doc}_{k}"
    acc, item = f"total_{k}", f"value_{k}"  # distinct lines per function: no shared context
    if not refactored:
        return (
            f"def {name}(values):\n"
            f"    {acc} = 0\n"
            f"    for {item} in values:\n"
            f"        {acc} = {acc} + {item} * {k + 2}\n"
            f"    return {acc}\n"
        )
    # one more line than the original: later targets in the same document move down
    return (
        f"def {name}(values):\n"
        f'    """Weighted sum (document {doc}, function {k})."""\n'
        f"    {acc} = 0\n"
        f"    for {item} in values:\n"
        f"        {acc} += {item} * {k + 2}\n"
        f"    return {acc}\n"
    )


def document(doc: int, refactored: frozenset[int] = frozenset()) -> str:
    return "\n".join(function(doc, k, k in refactored) for k in range(FUNCS))


def function_range(k: int) -> dict[str, Any]:
    start = k * 6  # 5 lines + 1 blank line per function
    return range_dict(start, 0, start + 5, 0)


_NAME = re.compile(r"def f(\d+)_(\d+)\(")


def answer_for(body: dict[str, Any]) -> Reply:
    user = body["messages"][-1]["content"]
    code = user.rsplit("```python", 1)[-1]
    match = _NAME.search(code)
    assert match, user
    return Reply(f"```python\n{function(int(match[1]), int(match[2]), True)}```")


@pytest.fixture(scope="module")
def fake() -> Iterator[CountingLMStudio]:
    with CountingLMStudio() as fake:
        yield fake


@pytest.fixture(scope="module")
def server(fake: CountingLMStudio, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LspServer]:
    work = tmp_path_factory.mktemp("load")
    options = {
        "local": {"baseUrl": fake.base_url, "maxParallel": MAX_PARALLEL, "embeddedModel": "off"},
        "ledger": {"path": str(work / "ledger.sqlite3")},
        "routing": {"escalateOnFailure": False, "mode": "local"},
    }
    with running_server("load", work, options) as server:
        yield server


def ledger_rows(server: LspServer) -> list[tuple[Any, ...]]:
    path = server.init_options["ledger"]["path"]
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return db.execute("SELECT action, outcome, tier FROM runs").fetchall()
    finally:
        db.close()


def test_50_concurrent_runs_on_10_documents(server: LspServer, fake: CountingLMStudio) -> None:
    gate = threading.Event()

    def gated(body: dict[str, Any]) -> Reply:
        gate.wait(60)
        return answer_for(body)

    fake.responder = gated
    uris = [f"file:///stress/load/doc{d}.py" for d in range(DOCS)]
    for d, uri in enumerate(uris):
        server.open(uri, document(d))
    mark = server.mark()
    started = time.monotonic()
    futures = [
        server.run_future("refactor", uris[d], function_range(k), version=1)
        for d in range(DOCS)
        for k in range(FUNCS)
    ]

    def queued_runs() -> int:
        return sum(
            any("queued" in (v.get("message") or "") for v in values)
            for values in server.progress(mark).values()
        )

    # All 50 started; 4 hold the local slots (blocked in the fake), the other 46 wait and
    # say so in their progress. Then the fake answers.
    expected_queued = CONCURRENT - MAX_PARALLEL
    assert fake.wait_until(lambda: fake.in_chat == MAX_PARALLEL, 60), fake.in_chat
    assert server.wait_until(lambda: queued_runs() == expected_queued, 60), queued_runs()
    gate.set()
    results = [server.wait(f, 120) for f in futures]
    elapsed = time.monotonic() - started
    fake.responder = None

    wrong = 0
    for d, uri in enumerate(uris):
        expected = document(d, frozenset(range(FUNCS)))
        if server.docs[uri].text != expected:
            wrong += 1
    touched_other = sum(1 for e in server.applied if len(e.after) != 1)
    rows = ledger_rows(server)
    RESULTS.add("load", cases=CONCURRENT, wrong_edits=wrong + touched_other)
    RESULTS.set(
        "load",
        concurrent_runs=CONCURRENT,
        documents=DOCS,
        max_parallel_setting=MAX_PARALLEL,
        max_parallel_seen=fake.max_in_chat,
        queued_runs=queued_runs(),
        concurrent_seconds=round(elapsed, 2),
        ledger_rows_after_concurrent=len(rows),
    )
    failed = [r for r in results if not r.get("applied")]
    assert failed == [], failed[:3]
    assert wrong == 0 and touched_other == 0
    assert len(server.applied) == CONCURRENT
    assert fake.max_in_chat == MAX_PARALLEL
    assert queued_runs() == expected_queued
    assert len(rows) == CONCURRENT
    assert {r[1] for r in rows} == {"applied"}
    assert internal_error_messages(server, mark) == []


A = "def step(x):\n    y = x + 1\n    return y\n"
B = "def step(x):\n    z = x + 1\n    return z\n"


def toggling(body: dict[str, Any]) -> Reply:
    user = body["messages"][-1]["content"]
    return Reply(f"```python\n{B if 'y = x + 1' in user else A}```")


def idle_tasks(server: LspServer) -> int:
    """Live asyncio tasks at rest (the stats request is one; status refreshes may linger)."""
    return min(int(server.stats()["tasks"]) for _ in range(3))


def test_soak_sequential_runs_leak_nothing(server: LspServer, fake: CountingLMStudio) -> None:
    fake.responder = toggling
    uri = "file:///stress/load/soak.py"
    server.open(uri, A)
    rng = range_dict(0, 0, 3, 0)
    ledger_before = len(ledger_rows(server))

    def one() -> None:
        result = server.run("refactor", uri, rng)
        assert result.get("applied"), result

    started = time.monotonic()
    for _ in range(SOAK_WARMUP):
        one()
    per_run = (time.monotonic() - started) / SOAK_WARMUP
    # Fit the count to the budget on slow machines (the figure is reported either way).
    runs = min(SOAK_RUNS, max(200, int(SOAK_BUDGET_SECONDS / per_run)))
    base = {
        "rss_kb": server.rss_kb(),
        "fds": server.fd_count(),
        "tasks": idle_tasks(server),
        "threads": server.threads(),
        "connections": fake.connections,
    }
    started = time.monotonic()
    for _ in range(runs):
        one()
    elapsed = time.monotonic() - started
    after = {
        "rss_kb": server.rss_kb(),
        "fds": server.fd_count(),
        "tasks": idle_tasks(server),
        "threads": server.threads(),
        "connections": fake.connections,
    }
    stats = server.stats()
    rows = len(ledger_rows(server)) - ledger_before
    total = SOAK_WARMUP + runs
    expected_text = A if total % 2 == 0 else B
    wrong = int(server.docs[uri].text != expected_text)
    deltas = {k: after[k] - base[k] for k in base}
    RESULTS.add("soak", cases=total, wrong_edits=wrong)
    RESULTS.set(
        "soak",
        sequential_runs=runs,
        warmup_runs=SOAK_WARMUP,
        ms_per_run=round(elapsed / runs * 1000, 1),
        rss_kb_before=base["rss_kb"],
        rss_kb_after=after["rss_kb"],
        rss_growth_kb=deltas["rss_kb"],
        fd_delta=deltas["fds"],
        task_delta=deltas["tasks"],
        thread_delta=deltas["threads"],
        http_connections_total=after["connections"],
        http_connections_during_soak=deltas["connections"],
        jobs_left=stats["jobs"],
        progress_tokens_left=stats["progressTokens"],
        request_futures_left=stats["requestFutures"],
        ledger_rows=rows,
    )
    assert wrong == 0
    assert rows == total
    assert deltas["rss_kb"] <= RSS_LIMIT_KB, deltas
    # a leak grows with the run count (hundreds here); a pooled connection renewed is not one
    assert deltas["fds"] <= 2, (deltas, server.fd_targets())
    assert deltas["tasks"] <= 2, deltas
    assert deltas["connections"] <= 2, deltas  # keep-alive: one connection reused
    assert stats["jobs"] == 0 and stats["progressTokens"] == 0, stats
    assert stats["requestFutures"] <= 2, stats  # the stats request itself (two entries)
    assert Path(f"/proc/{server.pid}").exists()
