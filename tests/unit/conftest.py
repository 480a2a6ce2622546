"""Unit-test fixtures shared across files: a real SQLite ledger in the test's own folder."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from ladder_lsp.store.ledger import Ledger
from tests.ledger_file import ledger_rows

CLAUDE_MODEL = "claude-sonnet-4-5"


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    led = Ledger(tmp_path / "state" / "ledger.sqlite3", CLAUDE_MODEL)
    yield led
    led.close()


def rows(led: Ledger) -> list[sqlite3.Row]:
    """The ledger's rows as SQLite holds them, read past Ledger's own API."""
    return ledger_rows(led.path)
