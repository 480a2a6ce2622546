"""Settings, status, model discovery and switching, explain and tests actions over LSP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pygls.uris import from_fs_path

from tests.e2e.editor import Editor
from tests.e2e.test_run_local import (
    CART,
    REFACTORED_TOTAL,
    TOTAL_RANGE,
    URI,
    by_title,
    refactor_total,
)
from tests.fakes.lmstudio import FakeLMStudio, Reply


async def wait_for_status(lsp: Editor, predicate: Any) -> dict[str, Any]:
    for _ in range(100):
        for status in reversed(lsp.status):
            if predicate(status):
                return dict(status)
        await lsp.client.wait_for_notification("ladder/status")
    raise AssertionError(f"no matching status in {lsp.status}")


@pytest.mark.fresh_server("reads the first status and the ledger")
async def test_status_notification_and_command(lsp: Editor, fake_local: FakeLMStudio) -> None:
    status = await wait_for_status(lsp, lambda s: s["local"]["reachable"])
    assert status["local"]["baseUrl"] == fake_local.base_url
    assert status["local"]["model"] == "qwen2.5-coder-7b-instruct"
    assert "llama-3.2-3b-instruct" in status["local"]["models"]
    assert status["claude"]["configured"] is False
    assert status["usage"] == {"todayUsd": 0.0, "savedUsd": 0.0}
    polled = await lsp.command("ladder.status")
    assert polled["local"]["reachable"] is True


@pytest.mark.fresh_server("selects the session's model")
async def test_models_and_select_model(lsp: Editor, fake_local: FakeLMStudio) -> None:
    models = await lsp.command("ladder.models")
    by_id = {m["id"]: m for m in models}
    assert by_id["qwen2.5-coder-7b-instruct"]["state"] == "loaded"
    assert by_id["llama-3.2-3b-instruct"]["state"] == "not-loaded"
    assert by_id["qwen2.5-coder-7b-instruct"]["maxContextLength"] == 32768
    await lsp.command("ladder.selectModel", "llama-3.2-3b-instruct")
    fake_local.push(Reply(f"```python\n{REFACTORED_TOTAL}```"))
    lsp.open(URI, CART)
    result = await refactor_total(lsp, URI)
    assert result["applied"] is True
    assert fake_local.chat_requests()[-1]["model"] == "llama-3.2-3b-instruct"


@pytest.mark.fresh_server("the server learns the peer has no /api/v0")
async def test_plain_openai_server_without_lmstudio_api(
    lsp: Editor, fake_local: FakeLMStudio
) -> None:
    fake_local.api_v0 = False
    fake_local.jit = False
    models = await lsp.command("ladder.models")
    assert [m["id"] for m in models] == ["qwen2.5-coder-7b-instruct"]
    assert models[0]["state"] is None


@pytest.mark.fresh_server("changes the session's settings")
async def test_did_change_configuration_switches_server_and_warns_on_bad_values(
    lsp: Editor, fake_local: FakeLMStudio
) -> None:
    with FakeLMStudio() as other:
        other.push(Reply(f"```python\n{REFACTORED_TOTAL}```"))
        lsp.client.set_configuration(
            {"local": {"baseUrl": other.base_url, "maxParallel": "lots"}}, section="ladder"
        )
        lsp.client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings={})
        )
        status = await wait_for_status(lsp, lambda s: s["local"]["baseUrl"] == other.base_url)
        assert status["local"]["reachable"] is True
        warnings = [m.message for m in lsp.client.messages if m.type == types.MessageType.Warning]
        assert any("ladder.local.maxParallel must be a number" in w for w in warnings), warnings
        lsp.open(URI, CART)
        result = await refactor_total(lsp, URI)
        assert result["applied"] is True
        assert len(other.chat_requests()) == 1 and fake_local.chat_requests() == []


async def test_explain_opens_markdown_document(lsp: Editor, fake_local: FakeLMStudio) -> None:
    fake_local.push(Reply("<think>let me see</think>`total` sums **price × qty**."))
    lsp.open(URI, CART)
    result = await lsp.execute(
        by_title(await lsp.actions(URI, TOTAL_RANGE), "Explain with local model")
    )
    assert result["applied"] is True
    assert lsp.applied == [], "explain edits nothing"
    (shown,) = lsp.shown
    path = Path(shown.removeprefix("file://"))
    text = path.read_text()
    assert "sums **price × qty**" in text and "<think>" not in text
    assert path.stat().st_mode & 0o077 == 0, "user-only permissions"


async def test_tests_action_creates_test_file_next_to_source(
    lsp: Editor, fake_local: FakeLMStudio, tmp_path: Path
) -> None:
    source = tmp_path / "cart.py"
    source.write_text(CART)
    uri = from_fs_path(str(source))
    assert uri is not None
    fake_local.push(
        Reply(
            "```python\nimport cart\n\n\ndef test_area_of_unit_circle():\n"
            "    assert round(cart.area(1), 5) == 3.14159\n```"
        )
    )
    lsp.open(uri, CART)
    rng = types.Range(types.Position(15, 0), types.Position(17, 0))
    result = await lsp.execute(
        by_title(await lsp.actions(uri, rng), "Write tests with local model")
    )
    assert result["applied"] is True, result
    test_uri = from_fs_path(str(tmp_path / "test_cart.py"))
    assert lsp.created == [test_uri]
    assert "def test_area_of_unit_circle" in lsp.docs[test_uri].text


@pytest.mark.fresh_server("changes the session's settings")
async def test_custom_action_from_settings(
    lsp: Editor, fake_local: FakeLMStudio, init_options: dict[str, Any]
) -> None:
    lsp.client.set_configuration(
        {
            "actions": {
                "custom": [
                    {
                        "id": "typehints",
                        "title": "Add type hints",
                        "prompt": "Add type hints to this {language} code: {code}",
                    }
                ]
            }
        },
        section="ladder",
    )
    lsp.open(URI, CART)
    lsp.client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={}))
    for _ in range(5):  # each settings change ends with a ladder/status notification
        await lsp.client.wait_for_notification("ladder/status")
        actions = await lsp.actions(URI, TOTAL_RANGE)
        if any(a.title == "Add type hints with local model" for a in actions):
            break
    action = by_title(actions, "Add type hints with local model")
    assert action.kind == types.CodeActionKind.RefactorRewrite
    fake_local.push(
        Reply(
            "```python\ndef total(self, items: list) -> float:\n    t = 0\n    for i in items:\n"
            "        t = t + i.price * i.qty\n    return t\n```"
        )
    )
    result = await lsp.execute(action)
    assert result["applied"] is True, result
    assert "def total(self, items: list) -> float:" in lsp.docs[URI].text
    prompt = fake_local.chat_requests()[-1]["messages"][1]["content"]
    assert "Add type hints to this python code" in prompt
