"""Workspace jobs: 12 docstring units over 4 files, 4 local slots against 1.

The local fake answers every request after a fixed 200 ms (time to first byte) with the
function it was sent, documented, so every unit passes Ladder's checks — except one unit,
whose local answers are prose, which escalates to a fake Claude (the Messages API on
loopback) and gives the job a real cost. The job runs in-process through the real backends
(httpx to the fakes) and the same code the CLI runs (`engine.jobs.job.prepare` and `run`,
then `delivery.deliver_job`); runs alternate 4 slots / 1 slot. Ideal: 12 units in 3 waves
against 12 → 0.25; the escalated unit holds its slot for three calls (local, the local retry,
Claude), so 4 waves against 14 calls → 0.29 is the practical floor. Also
printed: the job's cost against the same units on Claude alone, and whether the merged files
are exactly the expected ones.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from ladder_lsp.analysis.text import split_lines
from ladder_lsp.engine.delivery import Delivery, Disposition, deliver_job
from ladder_lsp.engine.engine import Engine
from ladder_lsp.engine.jobs import job as jobs
from ladder_lsp.engine.jobs.merge import FileChange, FileText
from ladder_lsp.engine.jobs.report import totals, unit_rows
from ladder_lsp.settings import merge_raw, parse_settings
from tests.e2e.job_workspace import documented, documented_answer, function_in
from tests.fakes.anthropic import ClaudeReply, FakeAnthropic
from tests.fakes.lmstudio import FakeLMStudio, Reply

from .session import Bench
from .stats import median, ms, summary_ms

FILES, PER_FILE = 4, 3
SLOTS = 4
LATENCY = 0.2
ESCALATED = "f1_2"  # the unit whose local answers fail
KEY = "sk-ant-bench-0123456789abcdef"


def _workspace(root: Path) -> dict[Path, str]:
    texts = {}
    for f in range(FILES):
        body = "\n\n".join(
            f"def f{f}_{i}(x):\n    result = x * {i + 1}\n    return result\n"
            for i in range(PER_FILE)
        )
        path = root / f"mod{f}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body)
        texts[path] = body
    return texts


def _expected(text: str) -> str:
    for name in re.findall(r"^def (\w+)\(", text, re.M):
        text = documented(text, name)
    return text


def _load(path: Path) -> FileText | None:
    text = path.read_text(encoding="utf-8")
    return FileText(path, path.as_uri(), None, text, tuple(split_lines(text)))


class _Keep:
    """Keeps the merged files instead of writing them (the figure is the run, not the disk)."""

    def __init__(self) -> None:
        self.texts: dict[Path, str] = {}

    async def files(self, changes: Any, confirm: Any = None) -> dict[Path, Delivery]:
        out = {}
        for change in changes:
            assert isinstance(change, FileChange)
            self.texts[change.file.path] = "".join(change.new_lines)
            out[change.file.path] = Delivery(Disposition.APPLIED, "")
        return out


async def _one_job(raw: dict[str, Any], root: Path) -> tuple[float, dict[str, Any], bool]:
    settings, problems = parse_settings(raw)
    assert problems == [], problems
    engine = Engine(settings)
    texts = {p: p.read_text() for p in sorted(root.glob("*.py"))}
    try:
        started = time.monotonic()
        job = await jobs.prepare(
            engine, None, root=root, load=_load, report=lambda _m: None,
            instruction="add docstrings to every public function without one",
        )  # fmt: skip
        results = await jobs.run(engine, None, job, lambda _m: None)
        sink = _Keep()
        delivered = await deliver_job(
            job.units, job.files, results, sink, settings=settings, secrets=(), ledger=None
        )
        wall = time.monotonic() - started
    finally:
        await engine.aclose()
    rows = unit_rows(job, results, {k: v.value for k, v in delivered.units.items()},
                     settings.claude.model)  # fmt: skip
    correct = len(job.units) == FILES * PER_FILE and all(
        sink.texts.get(p) == _expected(t) for p, t in texts.items()
    )
    return wall, totals(rows, job), correct


async def run(bench: Bench) -> dict[str, Any]:
    reps = 2 if bench.quick else 5
    root = bench.workdir / "job_workspace"
    _workspace(root)

    def local_answer(request: dict[str, Any]) -> Reply:
        prompt = request["messages"][-1]["content"]
        if function_in(prompt) == ESCALATED:
            return Reply("I would rather explain it in words.", first_byte_delay=LATENCY)
        return Reply(documented_answer(prompt), first_byte_delay=LATENCY)

    def claude_answer(request: dict[str, Any]) -> ClaudeReply:
        prompt = request["messages"][-1]["content"]
        if isinstance(prompt, list):
            prompt = "".join(part.get("text", "") for part in prompt)
        return ClaudeReply(documented_answer(prompt), first_byte_delay=LATENCY)

    times: dict[int, list[float]] = {SLOTS: [], 1: []}
    summary: dict[str, Any] = {}
    correct = True
    with FakeLMStudio() as local, FakeAnthropic() as claude:
        local.responder = local_answer
        claude.responder = claude_answer
        for i in range(reps + 1):  # the first pair warms up (imports, connections)
            for slots in (SLOTS, 1) if i % 2 == 0 else (1, SLOTS):
                raw = merge_raw(
                    bench.settings(local.base_url, local={"maxParallel": slots}),
                    {"local": {"embeddedModel": "off"},
                     "claude": {"baseUrl": claude.url, "apiKey": KEY},
                     "routing": {"escalateOnFailure": True}},
                )  # fmt: skip
                wall, summary, ok = await _one_job(raw, root)
                correct = correct and ok
                if i:
                    times[slots].append(wall)
    ratio = median(times[SLOTS]) / median(times[1])
    return {
        "available": True,
        "units": FILES * PER_FILE,
        "files": FILES,
        "slots": SLOTS,
        "backend_latency_ms": ms(LATENCY),
        "ratio": round(ratio, 3),
        "ideal_ratio": round(1 / SLOTS, 2),
        "slots_4": summary_ms(times[SLOTS]),
        "slots_1": summary_ms(times[1]),
        "escalated": summary.get("escalated", 0),
        "cost_usd": summary.get("costUsd", 0.0),
        "all_claude_usd": summary.get("allClaudeUsd", 0.0),
        "cost_ratio_vs_all_claude": summary.get("costRatio"),
        "merged_files_correct": correct,
    }
