"""The usage ledger: one SQLite row per run, the daily Claude budget, and the savings figure.

"Saved by running locally" prices the local tokens at the configured Claude model's rates, so
the number is what the same work would have cost on Claude. The database is in WAL mode behind
one lock (one writer), so concurrent runs cannot corrupt it; the file is created user-only.
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

from .backends.base import Tier, Usage

if TYPE_CHECKING:
    from .config import Settings
    from .jobs import RunInput, RunOutcome

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
    reason TEXT NOT NULL DEFAULT ''
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

    def record_run(self, inp: RunInput, outcome: RunOutcome, seconds: float) -> None:
        local = Usage()
        claude = Usage()
        spent = 0.0
        for attempt in outcome.attempts:
            if attempt.tier is Tier.CLAUDE:
                claude = _add(claude, attempt.usage)
                spent += cost(attempt.model, attempt.usage)
            else:
                local = _add(local, attempt.usage)
        # Savings count only when the local model delivered the result: local tokens spent
        # before an escalation (or on a failed run) saved nothing.
        served_locally = outcome.tier is Tier.LOCAL and outcome.status in ("edit", "explained")
        saved = cost(self.claude_model, local) if served_locally else 0.0
        tiers = {a.tier for a in outcome.attempts}
        status: str = outcome.status
        if status == "edit":
            status = (
                "escalated" if Tier.LOCAL in tiers and outcome.tier is Tier.CLAUDE else ("applied")
            )
        now = time.time()
        row = (
            now,
            _day(now),
            inp.spec.id,
            _hash(inp.path),
            outcome.tier.value if outcome.tier else None,
            outcome.model,
            local.input_tokens,
            local.output_tokens,
            claude.input_tokens,
            claude.output_tokens,
            claude.cache_read_tokens,
            claude.cache_write_tokens,
            spent,
            saved,
            seconds,
            status,
            outcome.message[:500],
        )
        with self._lock:
            try:
                self._db.execute(
                    "INSERT INTO runs (ts, day, action, file_hash, tier, model, "
                    "local_input_tokens, local_output_tokens, claude_input_tokens, "
                    "claude_output_tokens, cache_read_tokens, cache_write_tokens, cost_usd, "
                    "saved_usd, duration_s, outcome, reason) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
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
        days: dict[str, dict[str, Any]] = {}
        tiers: dict[str, dict[str, float]] = {}
        saved_total = 0.0
        for day, tier, n, local_tok, claude_tok, spent, saved in rows:
            d = days.setdefault(day, {"day": day, "tiers": {}, "costUsd": 0.0, "savedUsd": 0.0})
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
        runs = sum(int(t["runs"]) for t in tiers.values())
        local_runs = int(tiers.get("local", {}).get("runs", 0))
        return {
            "days": list(days.values()),
            "tiers": tiers,
            "savedUsd": round(saved_total, 4),
            "localShare": round(local_runs / runs, 3) if runs else 0.0,
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
        lines.append(
            f"Total saved by running locally: ${report['savedUsd']:.4f}; "
            f"local share of runs: {report['localShare'] * 100:.0f}%"
        )
        return "\n".join(lines)


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
