"""Model planners: Claude plans through tool use (the real SDK against the fake Messages API on
loopback), the local model from the same outline as JSON text; both answers validated."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ladder_lsp.backends.base import Tier
from ladder_lsp.engine.engine import Engine
from ladder_lsp.engine.jobs import job as jobs
from ladder_lsp.engine.jobs.plan import PlanError
from ladder_lsp.engine.jobs.planners import make_plan
from ladder_lsp.engine.jobs.report import totals
from ladder_lsp.engine.jobs.scope import files_in_scope
from ladder_lsp.settings import Settings, merge_raw, parse_settings
from ladder_lsp.store.ledger import Ledger
from tests.e2e.job_workspace import make_workspace
from tests.fakes.anthropic import ClaudeReply, FakeAnthropic
from tests.fakes.backends import Answer, FakeBackends, FakeLocalServer
from tests.unit.conftest import rows
from tests.unit.test_jobs_runner import load

KEY = "sk-ant-planner-0123456789"
PLAN = {"goal": "rename", "units": [
    {"id": "t", "path": "shop/tax.py", "symbol": "net", "action": "refactor",
     "instruction": "call the parameter value"}]}  # fmt: skip


def read(path: Path) -> str | None:
    return path.read_text(encoding="utf-8")


def settings(**overrides: Any) -> Settings:
    base = {"local": {"embeddedModel": "off"}}
    parsed, problems = parse_settings(merge_raw(base, overrides))
    assert problems == []
    return parsed


@pytest.fixture(autouse=True)
def no_key_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)


@pytest.fixture
def claude() -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as fake:
        yield fake


async def test_claude_plans_through_tool_use_from_an_outline(
    tmp_path: Path, claude: FakeAnthropic
) -> None:
    ws = make_workspace(tmp_path)
    claude.push(ClaudeReply(json.dumps(PLAN), tool="plan"))
    engine = Engine(settings(claude={"baseUrl": claude.url, "apiKey": KEY},
                             privacy={"localOnly": ["**/util.py"]}))  # fmt: skip
    try:
        files = files_in_scope(ws, [])
        planned = await make_plan(
            engine, "rename amount to value", ws, files, read, lambda _m: None
        )
        plan = planned.plan
    finally:
        await engine.aclose()
    assert plan.units[0].instruction == "call the parameter value"
    (body,) = claude.message_requests()
    assert body["tool_choice"] == {"type": "tool", "name": "plan"}
    assert body["tools"][0]["input_schema"]["required"] == ["goal", "units"]
    prompt = body["messages"][0]["content"]
    assert '{"path": "shop/util.py", "localOnly": true}' in prompt
    assert "def net(amount, rate=0.2)" in prompt and "return amount" not in prompt


async def test_a_claude_plan_that_does_not_validate_is_refused(
    tmp_path: Path, claude: FakeAnthropic
) -> None:
    ws = make_workspace(tmp_path)
    claude.push(ClaudeReply(json.dumps({"goal": "g", "units": [{"id": "x"}]}), tool="plan"))
    engine = Engine(settings(claude={"baseUrl": claude.url, "apiKey": KEY}))
    try:
        with pytest.raises(PlanError, match="unit 'x': needs a path"):
            await make_plan(engine, "rename", ws, files_in_scope(ws, []), read, lambda _m: None)
    finally:
        await engine.aclose()


async def test_without_claude_the_local_model_plans_from_the_same_outline(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path)
    local = FakeLocalServer(Answer(f"Here is the plan:\n```json\n{json.dumps(PLAN)}\n```"))
    engine = Engine(settings(routing={"mode": "local"}, claude={"apiKey": KEY}),
                    backends=FakeBackends(local))  # fmt: skip
    planned = await make_plan(engine, "rename", ws, files_in_scope(ws, []), read, lambda _m: None)
    assert [u.id for u in planned.plan.units] == ["t"]
    assert [a.tier for a in planned.attempts] == [Tier.LOCAL]
    (sent,) = local.requests
    assert "Outline of the scope" in sent.user and sent.tool is not None


async def test_claudes_plan_is_a_ledger_row_and_counts_in_the_jobs_cost(
    tmp_path: Path, claude: FakeAnthropic
) -> None:
    ws = make_workspace(tmp_path / "ws")
    claude.push(ClaudeReply(json.dumps(PLAN), tool="plan", input_tokens=2000, output_tokens=300))
    ledger = Ledger(tmp_path / "ledger.sqlite3", "claude-sonnet-5-5")
    engine = Engine(settings(claude={"baseUrl": claude.url, "apiKey": KEY}), ledger)
    try:
        job = await jobs.prepare(engine, None, root=ws, load=load, report=lambda _m: None,
                                 instruction="rename amount to value")  # fmt: skip
    finally:
        await engine.aclose()
    [row] = rows(ledger)
    assert (row["action"], row["tier"], row["delivery"]) == ("plan", "claude", "none")
    assert row["cost_usd"] > 0 and row["saved_usd"] == 0
    assert job.plan_usd == pytest.approx(row["cost_usd"])
    assert ledger.spent_today() == pytest.approx(row["cost_usd"]), "held, then recorded once"
    figures = totals([], job)
    assert figures["costUsd"] == pytest.approx(row["cost_usd"]) and figures["planUsd"] > 0


async def test_over_the_budget_the_local_model_plans(tmp_path: Path, claude: FakeAnthropic) -> None:
    ws = make_workspace(tmp_path / "ws")
    local = FakeLocalServer(Answer(json.dumps(PLAN)))
    ledger = Ledger(tmp_path / "ledger.sqlite3", "claude-sonnet-5-5")
    engine = Engine(settings(claude={"baseUrl": claude.url, "apiKey": KEY},
                             budget={"dailyUsd": 0.000001}), ledger,
                    backends=FakeBackends(local))  # fmt: skip
    planned = await make_plan(engine, "rename", ws, files_in_scope(ws, []), read, lambda _m: None)
    assert [a.tier for a in planned.attempts] == [Tier.LOCAL]
    assert claude.message_requests() == [] and len(local.requests) == 1
    assert [r["tier"] for r in rows(ledger)] == ["local"]
