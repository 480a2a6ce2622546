"""Every fault ends with no edit, one clear message, and the next request served."""

from __future__ import annotations

import asyncio
import uuid
from concurrent.futures import Future
from typing import Any

import pytest
from lsprotocol import types

from tests.e2e.editor import Editor
from tests.e2e.test_run_local import (
    CART,
    REFACTORED_TOTAL,
    TOTAL_RANGE,
    URI,
    by_title,
    refactor_total,
)
from tests.fakes.lmstudio import FakeLMStudio, Reply, no_models_loaded, openai_error
from tests.fakes.script import Fault

GOOD = Reply(f"```python\n{REFACTORED_TOTAL}```")

FAULTS: dict[str, tuple[Reply, str]] = {
    "http-500": (Reply(fault=Fault.http_error(500, {"error": "Internal failure"})), "HTTP 500"),
    "no-models-loaded": (Reply(fault=no_models_loaded()), "no usable model"),
    "error-object": (
        Reply(fault=openai_error(400, "Model is unloaded.", "invalid_request_error")),
        "Model is unloaded",
    ),
    "mid-stream-drop": (
        Reply("```python\ndef total(self):\n", fault=Fault.drop_after(2)),
        "dropped",
    ),
    "garbage": (Reply(fault=Fault.garbage()), "malformed"),
    "html": (Reply(fault=Fault.garbage(html=True)), "local"),
    "prose-only": (Reply("I think this code is fine as it is. Nice work!"), "no code"),
    "truncated": (
        Reply("```python\n    def total(self, items):\n        t = 0\n", finish_reason="length"),
        "cut off",
    ),
    "syntax-error": (Reply("```python\ndef total(self, items:\n    return 0\n```"), "syntax"),
    "lazy": (
        Reply("```python\ndef total(self, items):\n    # ... rest of the code\n```"),
        "leaves code out",
    ),
}


@pytest.mark.parametrize("name", sorted(FAULTS))
async def test_fault_gives_no_edit_one_message_and_server_lives(
    name: str, lsp: Editor, fake_local: FakeLMStudio
) -> None:
    reply, expected = FAULTS[name]
    fake_local.push(reply, GOOD)
    lsp.open(URI, CART)
    action = by_title(await lsp.actions(URI, TOTAL_RANGE), "Refactor with local model")
    result = await lsp.execute(action)
    assert result["applied"] is False, result
    assert lsp.applied == []
    assert lsp.docs[URI].text == CART
    warnings = [
        m
        for m in lsp.client.messages
        if m.type in (types.MessageType.Warning, types.MessageType.Error)
    ]
    assert len(warnings) == 1, [m.message for m in warnings]
    assert expected.lower() in warnings[0].message.lower(), warnings[0].message
    # the next request is served normally
    again = await lsp.execute(action)
    assert again["applied"] is True, again


@pytest.mark.fresh_server("stops the local model")
async def test_server_down_is_a_clear_message(lsp: Editor, fake_local: FakeLMStudio) -> None:
    lsp.open(URI, CART)
    action = by_title(await lsp.actions(URI, TOTAL_RANGE), "Refactor with local model")
    fake_local.stop()
    result = await lsp.execute(action)
    assert result["applied"] is False
    assert any("not reachable" in m for m in lsp.messages()), lsp.messages()


async def _start_hanging_run(lsp: Editor, fake_local: FakeLMStudio) -> tuple[Any, str]:
    fake_local.push(Reply(fault=Fault.endless()))
    lsp.open(URI, CART)
    action = by_title(await lsp.actions(URI, TOTAL_RANGE), "Refactor with local model")
    msg_id = f"run-{uuid.uuid4().hex}"
    assert action.command is not None
    future = asyncio.ensure_future(
        lsp.client.protocol.send_request_async(
            types.WORKSPACE_EXECUTE_COMMAND,
            types.ExecuteCommandParams(command="ladder.run", arguments=action.command.arguments),
            msg_id=msg_id,
        )
    )
    started = await asyncio.to_thread(fake_local.wait_for_active_streams, 1, 10)
    assert started, (lsp.messages(), fake_local.requests)
    return future, msg_id


async def test_progress_cancel_stops_the_backend_stream(
    lsp: Editor, fake_local: FakeLMStudio
) -> None:
    future, _ = await _start_hanging_run(lsp, fake_local)
    token = await lsp.progress_token()
    lsp.client.window_work_done_progress_cancel(types.WorkDoneProgressCancelParams(token=token))
    result = await asyncio.wait_for(future, 10)
    assert result["applied"] is False and result["reason"] == "cancelled"
    assert await asyncio.to_thread(fake_local.wait_for_disconnect, 10)
    assert lsp.applied == []
    assert lsp.docs[URI].text == CART


async def test_cancel_request_stops_the_backend_stream(
    lsp: Editor, fake_local: FakeLMStudio
) -> None:
    future, msg_id = await _start_hanging_run(lsp, fake_local)
    lsp.client.cancel_request(types.CancelParams(id=msg_id))
    with pytest.raises(Exception, match="cancel"):
        await asyncio.wait_for(future, 10)
    assert await asyncio.to_thread(fake_local.wait_for_disconnect, 10)
    # the server still serves
    fake_local.push(GOOD)
    action = by_title(await lsp.actions(URI, TOTAL_RANGE), "Refactor with local model")
    assert (await lsp.execute(action))["applied"] is True


def send_raw(lsp: Editor, method: str, params: Any) -> asyncio.Future[Any]:
    """A request exactly as given, bypassing the client's own type checks."""
    protocol = lsp.client.protocol
    msg_id = f"raw-{uuid.uuid4().hex}"
    future: Future[Any] = Future()
    protocol._request_futures[msg_id] = future
    protocol._send_data({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
    return asyncio.wrap_future(future)


async def test_invalid_params_get_an_error_response(lsp: Editor) -> None:
    lsp.open(URI, CART)
    bad = send_raw(
        lsp,
        types.TEXT_DOCUMENT_CODE_ACTION,
        {"textDocument": {"uri": URI}, "range": {"start": {"line": -1}}, "context": {}},
    )
    with pytest.raises(Exception, match="Invalid params"):
        await asyncio.wait_for(bad, 10)
    wrong_args = lsp.command("ladder.run", {"action": "refactor"})
    with pytest.raises(Exception, match="(?i)invalid"):
        await asyncio.wait_for(wrong_args, 10)
    assert await lsp.actions(URI, TOTAL_RANGE), "still serving"


async def test_unknown_action_and_closed_document(lsp: Editor) -> None:
    rng = {"start": {"line": 7, "character": 0}, "end": {"line": 12, "character": 0}}
    result = await lsp.command("ladder.run", {"action": "nope", "uri": URI, "range": rng})
    assert result["applied"] is False and "unknown action" in result["reason"]
    result = await lsp.command("ladder.run", {"action": "refactor", "uri": URI, "range": rng})
    assert result["applied"] is False and "not open" in result["reason"]


@pytest.mark.fresh_server("reads the ledger")
async def test_client_refusing_the_edit_is_reported(lsp: Editor, fake_local: FakeLMStudio) -> None:
    fake_local.push(GOOD)
    lsp.refuse_edits = True
    lsp.open(URI, CART)
    result = await refactor_total(lsp, URI)
    assert result["applied"] is False
    assert any("did not apply" in m for m in lsp.messages())
    usage = await lsp.command("ladder.usage")
    assert usage["deliveries"] == {"refused": 1}
    assert usage["savedUsd"] == 0.0, "a refused edit saved nothing"


@pytest.mark.without_apply_edit
async def test_a_client_that_cannot_apply_edits_gets_the_edit_in_the_result(
    lsp: Editor, fake_local: FakeLMStudio
) -> None:
    fake_local.push(GOOD)
    lsp.open(URI, CART)
    result = await refactor_total(lsp, URI)
    assert lsp.applied == [], "no applyEdit request the client would not answer"
    assert result["applied"] is False and "workspace.applyEdit" in result["reason"]
    [change] = result["edit"]["documentChanges"]
    assert change["textDocument"]["uri"] == URI
    new_text = "".join(e["newText"] for e in change["edits"])
    assert "t += item.price * item.qty" in new_text
    assert any("the edit is in the command's result" in m for m in lsp.messages())
    assert (await lsp.command("ladder.usage"))["deliveries"] == {"returned": 1}


@pytest.mark.without_apply_edit
@pytest.mark.settings({"edits": {"applyEdit": "always"}})
async def test_apply_edit_always_sends_edits_to_a_client_that_does_not_declare_it(
    lsp: Editor, fake_local: FakeLMStudio
) -> None:
    """Vim's ALE applies server edits but declares applyEdit false: the user opts in."""
    fake_local.push(GOOD)
    lsp.open(URI, CART)
    result = await refactor_total(lsp, URI)
    assert result["applied"] is True and "edit" not in result, result
    assert len(lsp.applied) == 1


async def test_a_request_the_client_gave_up_on_leaves_the_session_serving(lsp: Editor) -> None:
    """The answer to a listing the editor stopped waiting for arrives after all; the session
    goes on (in the tests' client too: `drop_late_responses`)."""
    lsp.open(URI, CART)
    given_up = asyncio.ensure_future(lsp.actions(URI, TOTAL_RANGE))
    await asyncio.sleep(0)
    given_up.cancel()
    # answered after the first one (the server answers listings in order)
    assert by_title(await lsp.actions(URI, TOTAL_RANGE), "Refactor with local model")
    assert lsp.client.error is None
    assert await lsp.actions(URI, TOTAL_RANGE), "still serving"
