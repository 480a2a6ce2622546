"""The ledger's rows read straight from its SQLite file, past `Ledger`'s own API (tests only)."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def ledger_rows(path: Path) -> list[sqlite3.Row]:
    """Every row of the ledger file at `path`, oldest first."""
    db = sqlite3.connect(path)
    db.row_factory = sqlite3.Row
    try:
        return db.execute("SELECT * FROM runs ORDER BY id").fetchall()
    finally:
        db.close()
