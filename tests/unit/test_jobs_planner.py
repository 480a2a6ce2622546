"""Model planners: Claude plans through tool use (the real SDK against the fake Messages API on
loopback), the local model from the same outline as JSON text; both answers validated."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ladder_lsp.engine.engine import Engine
from ladder_lsp.engine.jobs.plan import PlanError
from ladder_lsp.engine.jobs.planners import make_plan
from ladder_lsp.engine.jobs.scope import files_in_scope
from ladder_lsp.settings import Settings, merge_raw, parse_settings
from tests.e2e.job_workspace import make_workspace
from tests.fakes.anthropic import ClaudeReply, FakeAnthropic
from tests.fakes.backends import Answer, FakeBackends, FakeLocalServer

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
        plan = await make_plan(engine, "rename amount to value", ws, files, read, lambda _m: None)
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
    plan = await make_plan(engine, "rename", ws, files_in_scope(ws, []), read, lambda _m: None)
    assert [u.id for u in plan.units] == ["t"]
    (sent,) = local.requests
    assert "Outline of the scope" in sent.user and sent.tool is not None
