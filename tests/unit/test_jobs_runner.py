"""Running a job's units through the Engine on in-process fakes: slots, dependsOn, failure,
escalation, the journal's round trip and the one delivery."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import attrs
import pytest

from ladder_lsp.analysis.text import split_lines
from ladder_lsp.backends.base import ChatRequest, Completion, OnEvent, StreamEvent, Tier, Usage
from ladder_lsp.engine.confirm import Confirmation
from ladder_lsp.engine.delivery import Delivery, Disposition, deliver_job
from ladder_lsp.engine.engine import Engine
from ladder_lsp.engine.jobs import job as jobs
from ladder_lsp.engine.jobs.merge import FileChange, FileText
from ladder_lsp.engine.jobs.runner import UnitResult
from ladder_lsp.settings import Settings, merge_raw, parse_settings
from ladder_lsp.store.jobs import JobJournal
from ladder_lsp.store.ledger import Ledger
from tests.e2e.job_workspace import PLAN, documented_answer, expected, function_in, make_workspace
from tests.fakes.backends import FakeBackend, FakeBackends, FakeLocalServer
from tests.unit.conftest import rows

KEY = "sk-ant-test-key-0123456789"


class DocumentingLocal(FakeLocalServer):
    """Documents whatever function it is sent, after `latency`; `bad` names functions it
    answers with prose; records the order and the peak of concurrent calls."""

    def __init__(self, latency: float = 0.01, bad: frozenset[str] = frozenset()) -> None:
        super().__init__()
        self.latency = latency
        self.bad = bad
        self.asked: list[str] = []
        self.active = self.peak = 0

    async def complete(self, request: ChatRequest, on_event: OnEvent) -> Completion:
        self.requests.append(request)
        name = function_in(request.user)
        self.asked.append(name)
        self.active += 1
        self.peak = max(self.peak, self.active)
        try:
            await asyncio.sleep(self.latency)
        finally:
            self.active -= 1
        text = "I cannot." if name in self.bad else documented_answer(request.user)
        on_event(StreamEvent(text=text))
        return Completion(text, "stop", self.model, Usage(len(request.user) // 4, len(text) // 4))


class ClaudeDocumenting(FakeBackend):
    async def complete(self, request: ChatRequest, on_event: OnEvent) -> Completion:
        self.requests.append(request)
        text = documented_answer(request.user)
        return Completion(text, "stop", self.model, Usage(1000, 200))


def settings(**overrides: Any) -> Settings:
    base = {"local": {"embeddedModel": "off"}, "routing": {"escalateOnFailure": False}}
    parsed, problems = parse_settings(merge_raw(base, overrides))
    assert problems == []
    return parsed


def load(path: Path) -> FileText | None:
    text = path.read_text(encoding="utf-8")
    return FileText(path, path.as_uri(), None, text, tuple(split_lines(text)))


@pytest.fixture(autouse=True)
def no_key_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)


async def run_job(
    ws: Path, plan: dict[str, Any], local: DocumentingLocal, the_settings: Settings,
    claude: FakeBackend | None = None, journal: JobJournal | None = None,
) -> tuple[jobs.Job, dict[str, UnitResult], list[str]]:  # fmt: skip
    engine = Engine(the_settings, backends=FakeBackends(local, claude))
    reports: list[str] = []
    job = await jobs.prepare(engine, journal, root=ws, load=load, report=reports.append,
                             plan_data=plan)  # fmt: skip
    results = await jobs.run(engine, journal, job, reports.append)
    return job, results, reports


def with_units(*changes: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    units = [dict(u) for u in PLAN["units"]]
    for uid, extra in changes:
        next(u for u in units if u["id"] == uid).update(extra)
    return {"goal": "g", "units": units}


class Collect:
    """A JobSink that keeps the changes it was handed."""

    def __init__(self) -> None:
        self.changes: list[FileChange] = []
        self.confirm: Confirmation | None = None

    async def files(
        self, changes: Any, confirm: Confirmation | None = None
    ) -> dict[Path, Delivery]:
        self.changes = list(changes)
        self.confirm = confirm
        return {c.file.path: Delivery(Disposition.APPLIED, "") for c in changes}


async def test_units_run_as_many_at_once_as_there_are_slots(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path)
    local = DocumentingLocal(latency=0.05)
    _job, results, reports = await run_job(ws, PLAN, local, settings(local={"maxParallel": 2}))
    assert local.peak == 2
    assert all(r.outcome.status == "edit" for r in results.values())
    assert reports[-1] == "6/6 units · 0 running · 0 escalated · $0.000"
    assert "0/6 units · 2 running · 0 escalated · $0.000" in reports


async def test_a_dependent_unit_waits_and_its_edits_land_on_the_text_the_job_read(
    tmp_path: Path,
) -> None:
    ws = make_workspace(tmp_path)
    plan = with_units(("tax", {"dependsOn": ["net"]}), ("total", {"dependsOn": ["count"]}))
    local = DocumentingLocal()
    job, results, _ = await run_job(ws, plan, local, settings())
    assert local.asked.index("tax") > local.asked.index("net")
    assert local.asked.index("total") > local.asked.index("count")
    sink = Collect()
    await deliver_job(job.units, job.files, results, sink, settings=settings(), secrets=(),
                      ledger=None)  # fmt: skip
    merged = {str(c.file.path.relative_to(ws)): "".join(c.new_lines) for c in sink.changes}
    assert merged["shop/tax.py"] == expected("shop/tax.py")
    assert merged["shop/cart.py"] == expected("shop/cart.py")


async def test_a_unit_whose_dependency_failed_is_not_run(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path)
    local = DocumentingLocal(bad=frozenset({"net"}))
    _job, results, _ = await run_job(ws, with_units(("tax", {"dependsOn": ["net"]})), local,
                                     settings())  # fmt: skip
    assert results["net"].outcome.status != "edit"
    assert results["tax"].outcome.message == "not run: it depends on net, which failed"
    assert "tax" not in local.asked


async def test_a_unit_escalates_alone_and_the_progress_counts_it(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path)
    local = DocumentingLocal(bad=frozenset({"slug"}))
    claude = ClaudeDocumenting(Tier.CLAUDE, model="claude-sonnet-4-5")
    the_settings = settings(claude={"apiKey": KEY}, routing={"escalateOnFailure": True})
    _job, results, reports = await run_job(ws, PLAN, local, the_settings, claude)
    assert [function_in(r.user) for r in claude.requests] == ["slug"]
    assert results["slug"].escalated and results["slug"].outcome.tier is Tier.CLAUDE
    assert results["slug"].cost == pytest.approx((1000 * 3 + 200 * 15) / 1e6)
    assert not any(r.escalated for uid, r in results.items() if uid != "slug")
    assert reports[-1] == "6/6 units · 0 running · 1 escalated · $0.006"


async def test_resuming_runs_only_what_the_journal_lacks(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws")
    journal = JobJournal(tmp_path / "ledger.sqlite3")
    local = DocumentingLocal()
    job, first, _ = await run_job(ws, PLAN, local, settings(), journal=journal)
    journal.forget_units(job.id, ["slug", "clamp"])
    (ws / "shop/cart.py").write_text((ws / "shop/cart.py").read_text() + "\n")  # changed
    again = DocumentingLocal()
    engine = Engine(settings(), backends=FakeBackends(again))
    resumed = await jobs.prepare(engine, journal, root=ws, load=load, report=lambda _m: None,
                                 resume=job.id)  # fmt: skip
    assert sorted(resumed.finished) == ["net", "tax"]
    results = await jobs.run(engine, journal, resumed, lambda _m: None)
    assert sorted(again.asked) == ["clamp", "count", "slug", "total"]
    assert UnitResult.from_json(first["tax"].to_json()) == first["tax"]
    assert results["tax"] == first["tax"]


async def test_resuming_gives_the_units_that_failed_another_chance(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws")
    journal = JobJournal(tmp_path / "ledger.sqlite3")
    job, first, _ = await run_job(ws, PLAN, DocumentingLocal(bad=frozenset({"slug"})),
                                  settings(), journal=journal)  # fmt: skip
    assert not first["slug"].ok
    again = DocumentingLocal()
    engine = Engine(settings(), backends=FakeBackends(again))
    resumed = await jobs.prepare(engine, journal, root=ws, load=load, report=lambda _m: None,
                                 resume=job.id)  # fmt: skip
    assert "slug" not in resumed.finished and len(resumed.finished) == 5
    results = await jobs.run(engine, journal, resumed, lambda _m: None)
    assert again.asked == ["slug"] and results["slug"].ok


async def test_a_local_only_file_never_escalates(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path)
    local = DocumentingLocal(bad=frozenset({"slug", "net"}))
    claude = ClaudeDocumenting(Tier.CLAUDE, model="claude-sonnet-4-5")
    the_settings = settings(claude={"apiKey": KEY}, routing={"escalateOnFailure": True},
                            privacy={"localOnly": ["**/util.py"]})  # fmt: skip
    _job, results, _ = await run_job(ws, PLAN, local, the_settings, claude)
    assert [function_in(r.user) for r in claude.requests] == ["net"]
    assert results["slug"].outcome.status != "edit" and not results["slug"].escalated
    assert local.asked.count("slug") == 2, "the local retry, then no Claude"


async def test_delivery_blocks_a_planted_key_and_records_a_row_per_unit(
    tmp_path: Path, ledger: Ledger
) -> None:
    ws = make_workspace(tmp_path / "ws")
    secret = "sk-ant-api03-" + "x" * 40

    class Leaky(DocumentingLocal):
        async def complete(self, request: ChatRequest, on_event: OnEvent) -> Completion:
            done = await super().complete(request, on_event)
            if function_in(request.user) == "tax":
                return attrs.evolve(done, text=done.text.replace("Document", secret))
            return done

    job, results, _ = await run_job(ws, PLAN, Leaky(), settings())
    sink = Collect()
    delivered = await deliver_job(job.units, job.files, results, sink, settings=settings(),
                                  secrets=(secret,), ledger=ledger)  # fmt: skip
    assert delivered.units["tax"] is Disposition.BLOCKED
    assert delivered.units["net"] is Disposition.APPLIED
    tax = next(c for c in sink.changes if c.file.path.name == "tax.py")
    assert secret not in "".join(tax.new_lines) and [u.unit_id for u in tax.units] == ["net"]
    assert [r["delivery"] for r in rows(ledger)].count("applied") == 5
    assert len(rows(ledger)) == 6


@pytest.mark.parametrize(("mode", "asks"), [("never", False), ("claude", False), ("always", True)])
async def test_edits_confirm_decides_whether_the_jobs_one_edit_waits_for_a_yes(
    tmp_path: Path, mode: str, asks: bool
) -> None:
    ws = make_workspace(tmp_path)
    job, results, _ = await run_job(ws, PLAN, DocumentingLocal(), settings())
    sink = Collect()
    confirming = settings(edits={"confirm": mode})
    await deliver_job(job.units, job.files, results, sink, settings=confirming, secrets=(),
                      ledger=None)  # fmt: skip
    if not asks:
        assert sink.confirm is None, "every unit ran locally"
        return
    assert sink.confirm is not None
    files = len(sink.changes)
    lines = sum(len(u.edits[0].new_lines) for c in sink.changes for u in c.units)
    assert sink.confirm.question == (
        f"Apply {lines} changed lines in {files} files from the workspace job?"
    )
    assert sink.confirm.label == "Ladder: workspace job (local model)"
