"""The usage ledger: one SQLite row per run, the daily Claude budget, and the savings figure.

"Saved by running locally" prices the local tokens at the configured Claude model's rates, so
the number is what the same work would have cost on Claude; it counts only runs whose result
reached the user (an edit the editor refused saved nothing). Each row says what became of the
result (`delivery`: applied, refused, no-answer, cancelled, ...), as the delivery path saw
it. The database is in WAL mode behind one lock (one writer), so concurrent runs cannot corrupt
it; the file is created user-only.
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
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import platformdirs

from ladder_lsp.backends.base import Tier, Usage

if TYPE_CHECKING:
    from ladder_lsp.settings import Settings

log = logging.getLogger(__name__)
LEDGER_ENV = "LADDER_LEDGER"


@attrs.frozen
class Price:
    """USD per million tokens."""

    input: float
    output: float
    cache_read: float
    cache_write: float


# One table, by model family prefix (longest match wins). Anthropic list prices.
PRICES: dict[str, Price] = {
    "claude-opus-4-5": Price(5.0, 25.0, 0.50, 6.25),
    "claude-opus-4-6": Price(5.0, 25.0, 0.50, 6.25),
    "claude-opus-4": Price(15.0, 75.0, 1.50, 18.75),
    "claude-opus": Price(5.0, 25.0, 0.50, 6.25),
    "claude-sonnet": Price(3.0, 15.0, 0.30, 3.75),
    "claude-haiku-4": Price(1.0, 5.0, 0.10, 1.25),
    "claude-haiku": Price(1.0, 5.0, 0.10, 1.25),
    "claude-3-opus": Price(15.0, 75.0, 1.50, 18.75),
    "claude-3-7-sonnet": Price(3.0, 15.0, 0.30, 3.75),
    "claude-3-5-sonnet": Price(3.0, 15.0, 0.30, 3.75),
    "claude-3-5-haiku": Price(0.80, 4.0, 0.08, 1.0),
    "claude-3-haiku": Price(0.25, 1.25, 0.03, 0.30),
}
FAMILIES = ("opus", "sonnet", "haiku")


def price_for(model: str) -> Price | None:
    """The model's price; an unknown Claude id is priced by its family, else as Sonnet, so the
    daily budget still holds for ids this table has not heard of. None: not a Claude model."""
    name = model.lower().rsplit("/", 1)[-1].removeprefix("anthropic.")
    matches = [k for k in PRICES if name.startswith(k)]
    if matches:
        return PRICES[max(matches, key=len)]
    family = next((f for f in FAMILIES if f in name), None)
    if family:
        return PRICES[f"claude-{family}"]
    return PRICES["claude-sonnet"] if "claude" in name else None


def cost(model: str, usage: Usage) -> float:
    price = price_for(model)
    if price is None:
        return 0.0
    return (
        usage.input_tokens * price.input
        + usage.output_tokens * price.output
        + usage.cache_read_tokens * price.cache_read
        + usage.cache_write_tokens * price.cache_write
    ) / 1_000_000


@attrs.frozen
class RunRecord:
    """One run as the ledger stores it: plain values, so the store needs no engine types."""

    action: str
    path: str  # hashed before it is stored
    status: str  # the engine's result: edit, explained, rejected, failed, no-change, cancelled
    delivery: str  # what became of it: applied, refused, no-answer, cancelled, ...
    reached_user: bool  # the result is in the user's hands (savings count only then)
    tier: Tier | None
    model: str
    attempts: tuple[tuple[Tier, str, Usage], ...]  # (tier, model, usage) per model call
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
    delivery TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS runs_day ON runs(day);
"""


def default_path(settings: Settings) -> Path:
    if settings.ledger.path:
        return Path(settings.ledger.path).expanduser()
    if os.environ.get(LEDGER_ENV):
        return Path(os.environ[LEDGER_ENV]).expanduser()
    return Path(platformdirs.user_state_dir("ladder-lsp")) / "ledger.sqlite3"


class Ledger:
    def __init__(self, path: Path, claude_model: str) -> None:
        self.path = path
        self.claude_model = claude_model
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not path.exists():
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        self._db = sqlite3.connect(path, check_same_thread=False, timeout=30)
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA busy_timeout=30000")
            self._db.execute("PRAGMA synchronous=NORMAL")  # WAL: safe, and no fsync per run
            self._db.executescript(SCHEMA)
            _add_missing_columns(self._db)
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

    # -- writing ---------------------------------------------------------------------------

    def record(self, run: RunRecord) -> None:
        local = Usage()
        claude = Usage()
        spent = 0.0
        for tier, model, usage in run.attempts:
            if tier is Tier.CLAUDE:
                claude = _add(claude, usage)
                spent += cost(model, usage)
            else:
                local = _add(local, usage)
        # Savings count only when the local model's result reached the user: local tokens
        # spent before an escalation, on a failed run or on a refused edit saved nothing.
        served_locally = run.tier is Tier.LOCAL and run.status in ("edit", "explained")
        saved = cost(self.claude_model, local) if served_locally and run.reached_user else 0.0
        tiers = {tier for tier, _, _ in run.attempts}
        status = run.status
        if status == "edit":
            status = run.delivery
            if run.delivery == "applied" and Tier.LOCAL in tiers and run.tier is Tier.CLAUDE:
                status = "escalated"
        now = time.time()
        row = (
            now,
            _day(now),
            run.action,
            _hash(run.path),
            run.tier.value if run.tier else None,
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
        )
        with self._lock:
            try:
                self._db.execute(
                    "INSERT INTO runs (ts, day, action, file_hash, tier, model, "
                    "local_input_tokens, local_output_tokens, claude_input_tokens, "
                    "claude_output_tokens, cache_read_tokens, cache_write_tokens, cost_usd, "
                    "saved_usd, duration_s, outcome, reason, delivery) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    row,
                )
                self._db.commit()
            except sqlite3.Error as exc:  # bookkeeping must never fail the user's run
                log.warning("could not record the run in the usage ledger %s: %s", self.path, exc)
                with contextlib.suppress(sqlite3.Error):
                    self._db.rollback()

    # -- reading ---------------------------------------------------------------------------

    def spent_today(self) -> float:
        with self._lock:
            (value,) = self._db.execute(
                "SELECT COALESCE(SUM(cost_usd), 0) FROM runs WHERE day = ?", (_day(time.time()),)
            ).fetchone()
        return float(value)

    def summary_today(self) -> dict[str, float]:
        with self._lock:
            today, saved = self._db.execute(
                "SELECT COALESCE(SUM(CASE WHEN day = ? THEN cost_usd END), 0), "
                "COALESCE(SUM(saved_usd), 0) FROM runs",
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
    if "delivery" not in have:
        db.execute("ALTER TABLE runs ADD COLUMN delivery TEXT NOT NULL DEFAULT ''")
        db.commit()


def _add(a: Usage, b: Usage) -> Usage:
    return Usage(
        a.input_tokens + b.input_tokens,
        a.output_tokens + b.output_tokens,
        a.cache_read_tokens + b.cache_read_tokens,
        a.cache_write_tokens + b.cache_write_tokens,
    )


def _day(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts).date().isoformat()


def _hash(path: str) -> str:
    """The ledger identifies files without storing their paths."""
    return hashlib.sha256(path.encode("utf-8", "replace")).hexdigest()[:16]
