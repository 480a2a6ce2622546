"""The usage ledger: one SQLite row per run, the daily Claude budget, and the savings figure.

"Saved by running locally" prices the local tokens at the configured Claude model's rates
(`pricing.py`), so the number is what the same work would have cost on Claude; it counts only
runs whose result reached the user (an edit the editor refused saved nothing). Each row says
what became of the result (`delivery`: applied, refused, no-answer, cancelled, ...), as the
delivery path saw it. Rows arrive as `RunRecord`s of plain values, built by the engine. The
database is in WAL mode behind one lock (one writer), so concurrent runs cannot corrupt it;
the file is created user-only.

Today's spend also counts the Claude calls of this process that have no row yet — a call in
flight (its estimate, reserved when the budget allowed it) or a run still waiting to be
delivered (a workspace job's units, an edit awaiting the user's yes) — so parallel runs
cannot overspend `budget.dailyUsd` between them. A run's row releases its calls' holds.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import platformdirs

from ladder_lsp.store.pricing import cost

if TYPE_CHECKING:
    from ladder_lsp.settings import Settings

log = logging.getLogger(__name__)
LEDGER_ENV = "LADDER_LEDGER"


# The tier names the engine records (the values of `backends.base.Tier`), as stored.
LOCAL = "local"
CLAUDE = "claude"


@attrs.frozen
class AttemptRecord:
    """One model call of a run: which tier and model, and the tokens it used."""

    tier: str  # LOCAL or CLAUDE
    model: str
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    endpoint: str = ""  # which local server answered (the pool's member name)
    spend_key: str = ""  # the hold this Claude call's cost was kept under until recorded


@attrs.frozen
class RunRecord:
    """One run as the ledger stores it: plain values, so the store needs no engine types
    (the engine builds it: `engine.delivery.record_of`)."""

    action: str
    path: str  # hashed before it is stored
    status: str  # the engine's result: edit, explained, rejected, failed, no-change, cancelled
    delivery: str  # what became of it: applied, refused, no-answer, cancelled, ...
    reached_user: bool  # the result is in the user's hands (savings count only then)
    tier: str | None  # the tier of the result (LOCAL, CLAUDE), None when no tier served
    model: str
    attempts: tuple[AttemptRecord, ...]  # one per model call
    message: str
    seconds: float


SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    ts REAL NOT NULL,
    day TEXT NOT NULL,
    action TEXT NOT NULL,
    file_hash TEXT NOT NULL,
    tier TEXT,
    model TEXT,
    local_input_tokens INTEGER NOT NULL DEFAULT 0,
    local_output_tokens INTEGER NOT NULL DEFAULT 0,
    claude_input_tokens INTEGER NOT NULL DEFAULT 0,
    claude_output_tokens INTEGER NOT NULL DEFAULT 0,
    cache_read_tokens INTEGER NOT NULL DEFAULT 0,
    cache_write_tokens INTEGER NOT NULL DEFAULT 0,
    cost_usd REAL NOT NULL DEFAULT 0,
    saved_usd REAL NOT NULL DEFAULT 0,
    duration_s REAL NOT NULL DEFAULT 0,
    outcome TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    delivery TEXT NOT NULL DEFAULT '',
    endpoint TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS runs_day ON runs(day);
-- All-time savings, kept as rows arrive (from any process: a trigger), so the status
-- after each run reads one row rather than summing a table that grows with every run
-- (`_start_totals` sums a ledger from before it once).
CREATE TABLE IF NOT EXISTS totals (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    saved_usd REAL NOT NULL
);
CREATE TRIGGER IF NOT EXISTS runs_saved AFTER INSERT ON runs BEGIN
    UPDATE totals SET saved_usd = saved_usd + NEW.saved_usd WHERE id = 1;
END;
"""


def default_path(settings: Settings) -> Path:
    if settings.ledger.path:
        return Path(settings.ledger.path).expanduser()
    if os.environ.get(LEDGER_ENV):
        return Path(os.environ[LEDGER_ENV]).expanduser()
    return Path(platformdirs.user_state_dir("ladder-lsp")) / "ledger.sqlite3"


def connect(path: Path, schema: str) -> sqlite3.Connection:
    """The store's SQLite file (created user-only), in WAL mode, with `schema` applied: the
    ledger and the job journal share the file and these settings."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    db = sqlite3.connect(path, check_same_thread=False, timeout=30)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA busy_timeout=30000")
        db.execute("PRAGMA synchronous=NORMAL")  # WAL: safe, and no fsync per write
        db.executescript(schema)
    except sqlite3.Error:
        db.close()
        raise
    return db


class Ledger:
    def __init__(self, path: Path, claude_model: str) -> None:
        self.path = path
        self.claude_model = claude_model
        self._lock = threading.Lock()  # the database
        self._held_lock = threading.Lock()  # `_held` only: never taken around I/O
        self._held: dict[str, float] = {}  # spend key -> USD not in a row yet
        self._db = connect(path, SCHEMA)
        try:
            _add_missing_columns(self._db)
            _start_totals(self._db)
        except sqlite3.Error:
            self._db.close()
            raise

    @classmethod
    def open(cls, settings: Settings) -> Ledger | None:
        """The ledger, or None (logged) when its file cannot be opened: runs still work."""
        path = default_path(settings)
        try:
            return cls(path, settings.claude.model)
        except (OSError, sqlite3.Error) as exc:
            log.warning("usage ledger unavailable at %s: %s", path, exc)
            return None

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- spend not recorded yet ---------------------------------------------------------------

    def reserve(self, key: str, usd: float, refusal: Callable[[float], str]) -> str:
        """Hold `usd` under `key` unless `refusal(spent today)` says why not (returned). The
        check and the hold are one step, so two calls cannot both take the last dollars."""
        with self._lock:
            recorded = self._recorded_today()
            with self._held_lock:
                why = refusal(recorded + sum(self._held.values()))
                if not why:
                    self._held[key] = usd
        return why

    def hold(self, key: str, usd: float) -> None:
        """Count `usd` under `key` (replacing its reservation) until a row names the key."""
        with self._held_lock:
            self._held[key] = usd

    def release(self, key: str) -> None:
        """The call under `key` cost nothing after all (it failed, or was cancelled)."""
        with self._held_lock:
            self._held.pop(key, None)

    # -- writing ---------------------------------------------------------------------------

    def record(self, run: RunRecord) -> None:
        claude_calls = [a for a in run.attempts if a.tier == CLAUDE]
        local = _total([a for a in run.attempts if a.tier != CLAUDE])
        claude = _total(claude_calls)
        spent = sum(cost(a.model, a) for a in claude_calls)
        # Savings count only when the local model's result reached the user: local tokens
        # spent before an escalation, on a failed run or on a refused edit saved nothing.
        served_locally = run.tier == LOCAL and run.status in ("edit", "explained")
        saved = cost(self.claude_model, local) if served_locally and run.reached_user else 0.0
        tiers = {a.tier for a in run.attempts}
        status = run.status
        if status == "edit":
            status = run.delivery
            if run.delivery == "applied" and LOCAL in tiers and run.tier == CLAUDE:
                status = "escalated"
        now = time.time()
        row = (
            now,
            _day(now),
            run.action,
            _hash(run.path),
            run.tier,
            run.model,
            local.input_tokens,
            local.output_tokens,
            claude.input_tokens,
            claude.output_tokens,
            claude.cache_read_tokens,
            claude.cache_write_tokens,
            spent,
            saved,
            run.seconds,
            status,
            run.message[:500],
            run.delivery,
            _served_by(run),
        )
        with self._lock:
            try:
                self._db.execute(
                    "INSERT INTO runs (ts, day, action, file_hash, tier, model, "
                    "local_input_tokens, local_output_tokens, claude_input_tokens, "
                    "claude_output_tokens, cache_read_tokens, cache_write_tokens, cost_usd, "
                    "saved_usd, duration_s, outcome, reason, delivery, endpoint) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    row,
                )
                self._db.commit()
            except sqlite3.Error as exc:  # bookkeeping must never fail the user's run
                log.warning("could not record the run in the usage ledger %s: %s", self.path, exc)
                with contextlib.suppress(sqlite3.Error):
                    self._db.rollback()
                return  # its calls stay held: the money was spent
            with self._held_lock:  # still under the database lock: no reservation in between
                for call in claude_calls:
                    self._held.pop(call.spend_key, None)

    # -- reading ---------------------------------------------------------------------------

    def spent_today(self) -> float:
        """Claude spend today: the rows, and this process's calls not recorded yet."""
        with self._lock:
            recorded = self._recorded_today()
        with self._held_lock:
            return recorded + sum(self._held.values())

    def _recorded_today(self) -> float:
        (value,) = self._db.execute(
            "SELECT COALESCE(SUM(cost_usd), 0) FROM runs WHERE day = ?", (_day(time.time()),)
        ).fetchone()
        return float(value)

    def summary_today(self) -> dict[str, float]:
        with self._lock:
            today, saved = self._db.execute(
                "SELECT COALESCE(SUM(cost_usd), 0), (SELECT saved_usd FROM totals WHERE id = 1) "
                "FROM runs WHERE day = ?",
                (_day(time.time()),),
            ).fetchone()
        return {"today_usd": float(today), "saved_usd": float(saved)}

    def count(self) -> int:
        with self._lock:
            (n,) = self._db.execute("SELECT COUNT(*) FROM runs").fetchone()
        return int(n)

    def usage_report(self) -> dict[str, Any]:
        """Per day and tier: runs, tokens, cost; total savings and the local share."""
        with self._lock:
            rows = self._db.execute(
                "SELECT day, COALESCE(tier, 'none'), COUNT(*), SUM(local_input_tokens + "
                "local_output_tokens), SUM(claude_input_tokens + claude_output_tokens), "
                "SUM(cost_usd), SUM(saved_usd) FROM runs GROUP BY day, tier ORDER BY day DESC"
            ).fetchall()
            delivered = self._db.execute(
                "SELECT day, delivery, COUNT(*) FROM runs WHERE delivery NOT IN ('', 'none') "
                "GROUP BY day, delivery"
            ).fetchall()
        days: dict[str, dict[str, Any]] = {}
        tiers: dict[str, dict[str, float]] = {}
        saved_total = 0.0
        for day, tier, n, local_tok, claude_tok, spent, saved in rows:
            d = days.setdefault(
                day, {"day": day, "tiers": {}, "costUsd": 0.0, "savedUsd": 0.0, "deliveries": {}}
            )
            d["tiers"][tier] = {
                "runs": n,
                "localTokens": local_tok,
                "claudeTokens": claude_tok,
                "costUsd": round(spent, 4),
            }
            d["costUsd"] = round(d["costUsd"] + spent, 4)
            d["savedUsd"] = round(d["savedUsd"] + saved, 4)
            t = tiers.setdefault(tier, {"runs": 0, "costUsd": 0.0})
            t["runs"] += n
            t["costUsd"] = round(t["costUsd"] + spent, 4)
            saved_total += saved
        deliveries: dict[str, int] = {}
        for day, what, n in delivered:
            days[day]["deliveries"][what] = n
            deliveries[what] = deliveries.get(what, 0) + n
        runs = sum(int(t["runs"]) for t in tiers.values())
        local_runs = int(tiers.get("local", {}).get("runs", 0))
        return {
            "days": list(days.values()),
            "tiers": tiers,
            "savedUsd": round(saved_total, 4),
            "localShare": round(local_runs / runs, 3) if runs else 0.0,
            "deliveries": deliveries,
        }

    def format_report(self) -> str:
        report = self.usage_report()
        lines = [f"Ladder usage ({self.path})"]
        for day in report["days"]:
            lines.append(f"{day['day']}: spent ${day['costUsd']:.4f}, saved ${day['savedUsd']:.4f}")
            for tier, t in sorted(day["tiers"].items()):
                lines.append(
                    f"  {tier:<7} {t['runs']:>4} runs  local tok {t['localTokens'] or 0:>8}  "
                    f"claude tok {t['claudeTokens'] or 0:>8}  ${t['costUsd']:.4f}"
                )
            if day["deliveries"]:
                lines.append(f"  results: {_describe(day['deliveries'])}")
        lines.append(
            f"Total saved by running locally: ${report['savedUsd']:.4f}; "
            f"local share of runs: {report['localShare'] * 100:.0f}%"
        )
        return "\n".join(lines)


DELIVERY_WORDS = {
    "applied": "applied",
    "shown": "shown",
    "printed": "printed as a diff",
    "refused": "refused by the editor",
    "no-answer": "not answered by the editor",
    "returned": "returned to an editor that cannot apply edits",
    "stale": "not applied (code changed meanwhile)",
    "blocked": "blocked by Ladder's checks",
    "cancelled": "cancelled",
}


def _describe(deliveries: dict[str, int]) -> str:
    """`{"applied": 3, "refused": 1}` → "3 applied, 1 refused by the editor"."""
    order = list(DELIVERY_WORDS)
    keys = sorted(deliveries, key=lambda k: order.index(k) if k in order else len(order))
    return ", ".join(f"{deliveries[k]} {DELIVERY_WORDS.get(k, k)}" for k in keys)


def _add_missing_columns(db: sqlite3.Connection) -> None:
    """Ledgers written by earlier versions lack later columns; add them in place."""
    have = {row[1] for row in db.execute("PRAGMA table_info(runs)")}
    for column in ("delivery", "endpoint"):
        if column not in have:
            db.execute(f"ALTER TABLE runs ADD COLUMN {column} TEXT NOT NULL DEFAULT ''")
            db.commit()


def _start_totals(db: sqlite3.Connection) -> None:
    """The totals row, summed from the rows so far, if the ledger has none yet. Rows that
    came before it are in the sum and rows after it reach the trigger: none is missed or
    counted twice, as no other writer runs while the sum is taken."""
    if db.execute("SELECT 1 FROM totals").fetchone() is not None:
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        db.execute(
            "INSERT OR IGNORE INTO totals (id, saved_usd) "
            "SELECT 1, COALESCE(SUM(saved_usd), 0) FROM runs"
        )
        db.commit()
    except sqlite3.Error:
        db.rollback()
        raise


def _served_by(run: RunRecord) -> str:
    """The local server of the run's last local answer ('' when none answered)."""
    local = [a.endpoint for a in run.attempts if a.tier == LOCAL and a.endpoint]
    return local[-1] if local else ""


def _total(attempts: Sequence[AttemptRecord]) -> AttemptRecord:
    """The attempts' tokens added up, as one record (tier and model left empty)."""
    return AttemptRecord(
        tier="",
        model="",
        input_tokens=sum(a.input_tokens for a in attempts),
        output_tokens=sum(a.output_tokens for a in attempts),
        cache_read_tokens=sum(a.cache_read_tokens for a in attempts),
        cache_write_tokens=sum(a.cache_write_tokens for a in attempts),
    )


def _day(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts).date().isoformat()


def _hash(path: str) -> str:
    """The ledger identifies files without storing their paths."""
    return hashlib.sha256(path.encode("utf-8", "replace")).hexdigest()[:16]
