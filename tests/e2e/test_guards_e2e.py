"""The two real SmolLM2 failures from issue #7, end to end through the LSP: each answer is
rejected with the guard's reason in the user's message, the local retry is told why, and the
document is left alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types

from tests.e2e.editor import Editor
from tests.e2e.test_run_local import CART, TOTAL_RANGE, by_title
from tests.fakes.lmstudio import FakeLMStudio, Reply

AREA_URI = "file:///work/project/geometry.py"
CART_URI = "file:///work/project/cart.py"
AREA = "def area(r):\n    return 3.14159*r*r\n"
AREA_RANGE = types.Range(types.Position(0, 0), types.Position(2, 0))

# What SmolLM2-135M really answered (issue #7).
AREA_ANSWER = "```python\ndef area(r):\n    return 3.14159*r**2\n```"
TOTAL_ANSWER = (
    "```python\ndef total(items):\n    return sum(item * item.price for item in items)\n```"
)


def settings(fake_local: FakeLMStudio, ledger: Path) -> dict[str, Any]:
    """Local only, with the retry on failure: the second attempt must be told why."""
    return {
        "local": {"baseUrl": fake_local.base_url},
        "ledger": {"path": str(ledger / "ledger.sqlite3")},
        "routing": {"mode": "local", "escalateOnFailure": True},
    }


@pytest.fixture(scope="module")
def module_options(
    shared_fake_local: FakeLMStudio, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    return settings(shared_fake_local, tmp_path_factory.mktemp("ledger"))


@pytest.fixture
def init_options(fake_local: FakeLMStudio, tmp_path: Path) -> dict[str, Any]:
    return settings(fake_local, tmp_path)


def warnings(lsp: Editor) -> list[str]:
    return [
        m.message
        for m in lsp.client.messages
        if m.type in (types.MessageType.Warning, types.MessageType.Error)
    ]


async def test_docstring_answer_that_changes_code_is_rejected(
    lsp: Editor, fake_local: FakeLMStudio
) -> None:
    fake_local.push(Reply(AREA_ANSWER), Reply(AREA_ANSWER))
    lsp.open(AREA_URI, AREA)
    action = by_title(await lsp.actions(AREA_URI, AREA_RANGE), "Add docstring with local model")
    result = await lsp.execute(action)
    assert result["applied"] is False, result
    assert lsp.applied == []
    assert lsp.docs[AREA_URI].text == AREA
    reason = "changed code while adding a docstring: line 2; no docstring was added"
    (shown,) = warnings(lsp)
    assert reason in shown, shown
    assert reason in result["reason"]
    first, retry = fake_local.chat_requests()
    assert "rejected" not in first["messages"][1]["content"]
    assert f"A previous answer was rejected because: {reason}." in retry["messages"][1]["content"]


async def test_refactor_answer_that_drops_self_is_rejected(
    lsp: Editor, fake_local: FakeLMStudio
) -> None:
    fake_local.push(Reply(TOTAL_ANSWER), Reply(TOTAL_ANSWER))
    lsp.open(CART_URI, CART)
    action = by_title(await lsp.actions(CART_URI, TOTAL_RANGE), "Refactor with local model")
    result = await lsp.execute(action)
    assert result["applied"] is False, result
    assert lsp.applied == []
    assert lsp.docs[CART_URI].text == CART
    (shown,) = warnings(lsp)
    assert "removed parameter `self` from `total`" in shown, shown
    retry = fake_local.chat_requests()[1]["messages"][1]["content"]
    assert "rejected because: removed parameter `self` from `total`" in retry


async def test_a_good_docstring_after_a_bad_one_lands(
    lsp: Editor, fake_local: FakeLMStudio
) -> None:
    documented = 'def area(r):\n    """Area of a circle of radius `r`."""\n    return 3.14159*r*r\n'
    good = f"```python\n{documented}```"
    fake_local.push(Reply(AREA_ANSWER), Reply(good))
    lsp.open(AREA_URI, AREA)
    action = by_title(await lsp.actions(AREA_URI, AREA_RANGE), "Add docstring with local model")
    result = await lsp.execute(action)
    assert result["applied"] is True, result
    assert lsp.docs[AREA_URI].text == documented
