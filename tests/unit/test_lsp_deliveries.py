"""Per-document delivery order (lsp/deliveries.py): the next delivery waits for the echo of
the previous applied edit, and not for an echo a closed document no longer owes."""

from __future__ import annotations

import asyncio

import pytest

from ladder_lsp.lsp import deliveries
from ladder_lsp.lsp.deliveries import Deliveries

KEY = "/p/cart.py"


@pytest.fixture(autouse=True)
def long_echo_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """A wait for an echo lasts far longer than the hang guard below, so a test that waits
    when it must not fails instead of passing slowly."""
    monkeypatch.setattr(deliveries, "ECHO_TIMEOUT", 60.0)


async def deliver_once(state: Deliveries, version: int) -> None:
    async with state.one_at_a_time(KEY, lambda: version):
        pass


async def test_the_next_delivery_waits_for_the_previous_edits_echo() -> None:
    state = Deliveries()
    editor = {"version": 3}
    async with state.one_at_a_time(KEY, lambda: editor["version"]):
        state.applied(KEY, 3)

    async def next_delivery() -> int:
        async with state.one_at_a_time(KEY, lambda: editor["version"]):
            return editor["version"]  # the version it delivers against

    waiting = asyncio.ensure_future(next_delivery())
    await asyncio.sleep(0.05)
    assert not waiting.done(), "delivered before the editor's didChange arrived"
    editor["version"] = 4
    state.document_changed(KEY)
    assert await asyncio.wait_for(waiting, 5) == 4


async def test_a_closed_document_owes_no_echo() -> None:
    state = Deliveries()
    async with state.one_at_a_time(KEY, lambda: 3):
        state.applied(KEY, 3)
    state.document_closed(KEY)
    assert state.pending() == 0
    await asyncio.wait_for(deliver_once(state, 3), 5)  # reopened at version 3: no wait


async def test_closing_while_a_delivery_holds_the_turn_keeps_its_lock() -> None:
    state = Deliveries()
    async with state.one_at_a_time(KEY, lambda: 3):
        state.applied(KEY, 3)
        state.document_closed(KEY)
        assert state.pending() == 1  # the holder still owns the lock
    assert state.pending() == 0


async def test_waiting_is_told_only_when_the_turn_has_to_wait() -> None:
    state = Deliveries()
    told: list[str] = []
    async with state.one_at_a_time(KEY, lambda: 3, lambda: told.append("first")):
        state.applied(KEY, 3)
    assert told == [], "nothing to wait for: the run's progress keeps going"
    editor = {"version": 3}

    async def next_delivery() -> None:
        async with state.one_at_a_time(KEY, lambda: editor["version"], lambda: told.append("next")):
            pass

    waiting = asyncio.ensure_future(next_delivery())
    await asyncio.sleep(0.01)
    assert told == ["next"], "it waits for the editor's echo of the applied edit"
    editor["version"] = 4
    state.document_changed(KEY)
    await asyncio.wait_for(waiting, 5)
