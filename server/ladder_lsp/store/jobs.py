"""The job journal: workspace jobs in the ledger's SQLite file, so a crash or Ctrl-C loses no
finished unit and `--resume JOB_ID` runs only what is left.

One row per job (its workspace, instruction, plan and the hash of every file as the job read
it) and one per finished unit (its result as JSON: status, answer's edits, tier, tokens). A
unit's row is committed the moment it finishes. Unlike the ledger's rows these hold paths and
code — they must, to resume — in the same user-only file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from ladder_lsp.store.ledger import connect, default_path

if TYPE_CHECKING:
    from ladder_lsp.settings import Settings

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    ts REAL NOT NULL,
    root TEXT NOT NULL,
    instruction TEXT NOT NULL,
    plan TEXT NOT NULL,
    hashes TEXT NOT NULL,
    state TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS job_units (
    job_id TEXT NOT NULL,
    unit_id TEXT NOT NULL,
    result TEXT NOT NULL,
    PRIMARY KEY (job_id, unit_id)
);
"""


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


@attrs.frozen
class JobRecord:
    id: str
    root: str
    instruction: str
    plan: dict[str, Any]
    hashes: dict[str, str]  # workspace-relative path -> hash of the text the job read
    state: str  # running, done, applied, cancelled
    units: dict[str, dict[str, Any]]  # unit id -> result JSON


class JobJournal:
    """Jobs in the ledger's file; every method is blocking (call it in a thread)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._db = connect(path, SCHEMA)

    @classmethod
    def open(cls, settings: Settings) -> JobJournal | None:
        path = default_path(settings)
        try:
            return cls(path)
        except (OSError, sqlite3.Error) as exc:
            log.warning("job journal unavailable at %s: %s", path, exc)
            return None

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _write(self, sql: str, args: tuple[Any, ...]) -> None:
        with self._lock:
            self._db.execute(sql, args)
            self._db.commit()

    def create(
        self, job_id: str, root: str, instruction: str, plan: dict[str, Any], hashes: dict[str, str]
    ) -> None:
        self._write(
            "INSERT INTO jobs (id, ts, root, instruction, plan, hashes, state) "
            "VALUES (?,?,?,?,?,?,?)",
            (
                job_id,
                time.time(),
                root,
                instruction,
                json.dumps(plan),
                json.dumps(hashes),
                "running",
            ),
        )

    def set_hashes(self, job_id: str, hashes: dict[str, str]) -> None:
        self._write("UPDATE jobs SET hashes = ? WHERE id = ?", (json.dumps(hashes), job_id))

    def set_state(self, job_id: str, state: str) -> None:
        self._write("UPDATE jobs SET state = ? WHERE id = ?", (state, job_id))

    def save_unit(self, job_id: str, unit_id: str, result: dict[str, Any]) -> None:
        self._write(
            "INSERT OR REPLACE INTO job_units (job_id, unit_id, result) VALUES (?,?,?)",
            (job_id, unit_id, json.dumps(result)),
        )

    def forget_units(self, job_id: str, unit_ids: list[str]) -> None:
        with self._lock:
            self._db.executemany(
                "DELETE FROM job_units WHERE job_id = ? AND unit_id = ?",
                [(job_id, u) for u in unit_ids],
            )
            self._db.commit()

    def load(self, job_id: str) -> JobRecord | None:
        with self._lock:
            row = self._db.execute(
                "SELECT id, root, instruction, plan, hashes, state FROM jobs WHERE id = ?",
                (job_id,),
            ).fetchone()
            if row is None:
                return None
            units = self._db.execute(
                "SELECT unit_id, result FROM job_units WHERE job_id = ?", (job_id,)
            ).fetchall()
        return JobRecord(
            id=row[0],
            root=row[1],
            instruction=row[2],
            plan=json.loads(row[3]),
            hashes=json.loads(row[4]),
            state=row[5],
            units={uid: json.loads(result) for uid, result in units},
        )
