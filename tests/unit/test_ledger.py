"""The usage ledger: rows per run, savings, the daily spend, concurrency, permissions."""

from __future__ import annotations

import os
import sqlite3
import stat
import sys
import threading
from pathlib import Path
from typing import Any

import attrs
import pytest

from ladder_lsp.backends.base import Tier, Usage
from ladder_lsp.engine.actions import BUILTIN
from ladder_lsp.engine.delivery import Disposition, record_of
from ladder_lsp.engine.routing import over_budget
from ladder_lsp.engine.run_types import Attempt, RunInput, RunOutcome
from ladder_lsp.pipeline.target import Target
from ladder_lsp.settings import parse_settings
from ladder_lsp.store.ledger import CLAUDE, LOCAL, AttemptRecord, Ledger
from ladder_lsp.store.pricing import cost
from tests.unit.conftest import CLAUDE_MODEL, rows

REFACTOR = next(a for a in BUILTIN if a.id == "refactor")


def run_input(path: str = "/home/me/proj/cart.py") -> RunInput:
    lines = ("def f():\n", "    return 1\n")
    target = Target(uri="file://" + path, version=1, lines=lines, start_line=0, end_line=2)
    return RunInput(spec=REFACTOR, target=target, language="python", path=path)


DEFAULT_DELIVERY = {
    "edit": Disposition.APPLIED,
    "explained": Disposition.SHOWN,
    "cancelled": Disposition.CANCELLED,
}


def record(
    led: Ledger,
    inp: RunInput,
    outcome: RunOutcome,
    seconds: float,
    delivery: Disposition | None = None,
) -> None:
    """A run as the delivery path records it (by default: its result reached the user)."""
    disposition = delivery or DEFAULT_DELIVERY.get(outcome.status, Disposition.NONE)
    led.record(record_of(inp, outcome, disposition, seconds))


def local(inp: int, out: int) -> Attempt:
    return Attempt(Tier.LOCAL, "qwen2.5-coder-7b-instruct", Usage(inp, out))


def claude(inp: int, out: int, read: int = 0, write: int = 0, model: str = CLAUDE_MODEL) -> Attempt:
    return Attempt(Tier.CLAUDE, model, Usage(inp, out, read, write))


# -- record_run --------------------------------------------------------------------------------


def test_local_run_costs_nothing_and_saves_the_claude_price(ledger: Ledger) -> None:
    outcome = RunOutcome(
        "edit", "Refactor by local model", Tier.LOCAL, "qwen", attempts=(local(1000, 400),)
    )
    record(ledger, run_input(), outcome, 1.5)
    [row] = rows(ledger)
    assert row["tier"] == "local" and row["model"] == "qwen"
    assert (row["local_input_tokens"], row["local_output_tokens"]) == (1000, 400)
    assert row["claude_input_tokens"] == 0 and row["cost_usd"] == 0
    assert row["saved_usd"] == pytest.approx((1000 * 3.0 + 400 * 15.0) / 1e6)
    assert row["outcome"] == "applied" and row["action"] == "refactor"
    assert row["duration_s"] == 1.5


def test_savings_use_the_configured_claude_models_price(tmp_path: Path) -> None:
    led = Ledger(tmp_path / "l.sqlite3", "claude-opus-4-1")
    try:
        outcome = RunOutcome("edit", "ok", Tier.LOCAL, "qwen", attempts=(local(1000, 1000),))
        record(led, run_input(), outcome, 0.0)
        assert rows(led)[0]["saved_usd"] == pytest.approx((15.0 + 75.0) * 1000 / 1e6)
    finally:
        led.close()


def test_claude_run_records_cost_with_cache_tokens(ledger: Ledger) -> None:
    outcome = RunOutcome(
        "edit", "ok", Tier.CLAUDE, CLAUDE_MODEL, attempts=(claude(1000, 200, read=5000, write=800),)
    )
    record(ledger, run_input(), outcome, 2.0)
    [row] = rows(ledger)
    expected = (1000 * 3.0 + 200 * 15.0 + 5000 * 0.30 + 800 * 3.75) / 1e6
    assert row["cost_usd"] == pytest.approx(expected)
    assert (row["cache_read_tokens"], row["cache_write_tokens"]) == (5000, 800)
    assert row["saved_usd"] == 0.0
    assert row["outcome"] == "applied"


def test_escalated_run_pays_claude_and_saves_nothing(ledger: Ledger) -> None:
    outcome = RunOutcome(
        "edit",
        "ok",
        Tier.CLAUDE,
        CLAUDE_MODEL,
        attempts=(local(900, 300), local(950, 310), claude(1000, 300)),
    )
    record(ledger, run_input(), outcome, 9.0)
    [row] = rows(ledger)
    assert row["outcome"] == "escalated"
    assert (row["local_input_tokens"], row["local_output_tokens"]) == (1850, 610)
    assert row["cost_usd"] == pytest.approx(cost(CLAUDE_MODEL, Usage(1000, 300)))
    assert row["saved_usd"] == 0.0


def test_failed_local_run_saves_nothing(ledger: Ledger) -> None:
    outcome = RunOutcome(
        "rejected", "No edit: syntax error", Tier.LOCAL, attempts=(local(500, 100),)
    )
    record(ledger, run_input(), outcome, 1.0)
    [row] = rows(ledger)
    assert row["outcome"] == "rejected" and row["saved_usd"] == 0.0
    assert row["reason"] == "No edit: syntax error"


def test_explained_locally_counts_as_savings(ledger: Ledger) -> None:
    outcome = RunOutcome("explained", "Explained", Tier.LOCAL, "qwen", attempts=(local(100, 100),))
    record(ledger, run_input(), outcome, 1.0)
    assert rows(ledger)[0]["saved_usd"] > 0


def test_refused_run_without_tier_is_recorded(ledger: Ledger) -> None:
    record(ledger, run_input(), RunOutcome("failed", "x" * 2000), 0.0)
    [row] = rows(ledger)
    assert row["tier"] is None and row["outcome"] == "failed"
    assert len(row["reason"]) == 500


def test_the_engine_hands_the_store_plain_values() -> None:
    outcome = RunOutcome("edit", "ok", Tier.CLAUDE, CLAUDE_MODEL, attempts=(local(10, 2),))
    row = record_of(run_input(), outcome, Disposition.APPLIED, 1.0)
    assert row.tier == CLAUDE == Tier.CLAUDE.value
    assert row.attempts == (AttemptRecord(LOCAL, "qwen2.5-coder-7b-instruct", 10, 2),)
    assert LOCAL == Tier.LOCAL.value and {t.value for t in Tier} == {LOCAL, CLAUDE}


def test_ledger_stores_a_hash_not_the_path(ledger: Ledger) -> None:
    path = "/home/me/secret-project/cart.py"
    record(ledger, run_input(path), RunOutcome("failed", "x"), 0.0)
    record(ledger, run_input(path), RunOutcome("failed", "x"), 0.0)
    first, second = rows(ledger)
    assert first["file_hash"] == second["file_hash"]
    assert "secret-project" not in first["file_hash"]
    assert b"secret-project" not in ledger.path.read_bytes()


# -- reading -----------------------------------------------------------------------------------


def test_spent_today_sums_claude_costs(ledger: Ledger) -> None:
    assert ledger.spent_today() == 0.0
    record(
        ledger,
        run_input(),
        RunOutcome("edit", "", Tier.CLAUDE, CLAUDE_MODEL, attempts=(claude(100_000, 10_000),)),
        1.0,
    )
    record(
        ledger,
        run_input(),
        RunOutcome("edit", "", Tier.LOCAL, "q", attempts=(local(100_000, 10_000),)),
        1.0,
    )
    record(
        ledger,
        run_input(),
        RunOutcome("edit", "", Tier.CLAUDE, CLAUDE_MODEL, attempts=(claude(200_000, 0),)),
        1.0,
    )
    expected = (100_000 * 3 + 10_000 * 15 + 200_000 * 3) / 1e6
    assert ledger.spent_today() == pytest.approx(expected)
    assert ledger.summary_today()["today_usd"] == pytest.approx(expected)


def test_spent_today_ignores_other_days(ledger: Ledger) -> None:
    record(
        ledger,
        run_input(),
        RunOutcome("edit", "", Tier.CLAUDE, CLAUDE_MODEL, attempts=(claude(1_000_000, 0),)),
        1.0,
    )
    db = sqlite3.connect(ledger.path)
    db.execute("UPDATE runs SET day = '2000-01-01'")
    db.commit()
    db.close()
    assert ledger.spent_today() == 0.0
    assert ledger.summary_today()["today_usd"] == 0.0


def test_usage_report_shape(ledger: Ledger) -> None:
    record(
        ledger,
        run_input(),
        RunOutcome("edit", "", Tier.LOCAL, "q", attempts=(local(1000, 500),)),
        1.0,
    )
    record(
        ledger,
        run_input(),
        RunOutcome("edit", "", Tier.LOCAL, "q", attempts=(local(1000, 500),)),
        1.0,
    )
    record(
        ledger,
        run_input(),
        RunOutcome("edit", "", Tier.CLAUDE, CLAUDE_MODEL, attempts=(claude(1000, 500),)),
        1.0,
    )
    record(ledger, run_input(), RunOutcome("failed", "refused"), 0.0)
    report = ledger.usage_report()
    assert set(report) == {"days", "tiers", "savedUsd", "localShare", "deliveries"}
    [day] = report["days"]
    assert set(day) == {"day", "tiers", "costUsd", "savedUsd", "deliveries"}
    assert day["deliveries"] == report["deliveries"] == {"applied": 3}
    assert set(day["tiers"]) == {"local", "claude", "none"}
    assert day["tiers"]["local"] == {
        "runs": 2,
        "localTokens": 3000,
        "claudeTokens": 0,
        "costUsd": 0.0,
    }
    assert day["tiers"]["claude"]["claudeTokens"] == 1500
    claude_cost = round(cost(CLAUDE_MODEL, Usage(1000, 500)), 4)
    assert day["tiers"]["claude"]["costUsd"] == claude_cost
    assert day["costUsd"] == claude_cost
    saved = round(2 * cost(CLAUDE_MODEL, Usage(1000, 500)), 4)
    assert day["savedUsd"] == saved and report["savedUsd"] == saved
    assert report["tiers"]["local"]["runs"] == 2
    assert report["localShare"] == 0.5
    text = ledger.format_report()
    assert "local share of runs: 50%" in text and day["day"] in text


def test_empty_report(ledger: Ledger) -> None:
    assert ledger.usage_report() == {
        "days": [],
        "tiers": {},
        "savedUsd": 0.0,
        "localShare": 0.0,
        "deliveries": {},
    }
    assert ledger.count() == 0


# -- robustness --------------------------------------------------------------------------------


def test_concurrent_writers_lose_nothing(ledger: Ledger) -> None:
    outcome = RunOutcome("edit", "", Tier.CLAUDE, CLAUDE_MODEL, attempts=(claude(1000, 100),))
    start = threading.Barrier(8)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            start.wait()
            for _ in range(50):
                record(ledger, run_input(f"/p/file{n}.py"), outcome, 0.1)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert ledger.count() == 400
    db = sqlite3.connect(ledger.path)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute("SELECT COUNT(DISTINCT file_hash) FROM runs").fetchone() == (8,)
    finally:
        db.close()
    assert ledger.spent_today() == pytest.approx(400 * cost(CLAUDE_MODEL, Usage(1000, 100)))


def test_two_ledgers_on_one_file_share_it(ledger: Ledger) -> None:
    other = Ledger(ledger.path, CLAUDE_MODEL)
    try:
        record(other, run_input(), RunOutcome("failed", "x"), 0.0)
        record(ledger, run_input(), RunOutcome("failed", "x"), 0.0)
        assert ledger.count() == other.count() == 2
        served = RunOutcome("edit", "ok", Tier.LOCAL, "qwen", attempts=(local(1000, 400),))
        record(other, run_input(), served, 1.0)
        record(ledger, run_input(), served, 1.0)
        saved = sum(r["saved_usd"] for r in rows(ledger))
        assert saved > 0  # each sees the savings the other recorded
        assert ledger.summary_today()["saved_usd"] == pytest.approx(saved)
        assert other.summary_today()["saved_usd"] == pytest.approx(saved)
    finally:
        other.close()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_file_is_created_user_only(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        led = Ledger(tmp_path / "new" / "ledger.sqlite3", CLAUDE_MODEL)
    finally:
        os.umask(old)
    try:
        record(led, run_input(), RunOutcome("failed", "x"), 0.0)
        assert stat.S_IMODE(led.path.stat().st_mode) == 0o600
        assert stat.S_IMODE(led.path.parent.stat().st_mode) == 0o700
        wal = led.path.with_name(led.path.name + "-wal")
        if wal.exists():
            assert stat.S_IMODE(wal.stat().st_mode) & 0o077 == 0
    finally:
        led.close()


@pytest.mark.skipif(
    sys.platform == "win32" or os.geteuid() == 0, reason="needs POSIX permissions, not root"
)
def test_open_on_an_unwritable_path_returns_none(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        settings, _ = parse_settings({"ledger": {"path": str(locked / "sub" / "l.sqlite3")}})
        assert Ledger.open(settings) is None
        settings, _ = parse_settings({"ledger": {"path": str(locked / "l.sqlite3")}})
        assert Ledger.open(settings) is None
    finally:
        locked.chmod(0o700)


def test_open_below_a_regular_file_returns_none(tmp_path: Path) -> None:
    """Unwritable even for root: the parent "directory" is a file."""
    blocker = tmp_path / "blocker"
    blocker.write_text("not a directory")
    settings, _ = parse_settings({"ledger": {"path": str(blocker / "sub" / "l.sqlite3")}})
    assert Ledger.open(settings) is None


def test_open_on_a_directory_returns_none(tmp_path: Path) -> None:
    settings, _ = parse_settings({"ledger": {"path": str(tmp_path)}})
    assert Ledger.open(settings) is None


def test_open_uses_settings_path_and_claude_model(tmp_path: Path) -> None:
    target = tmp_path / "x" / "usage.sqlite3"
    settings, _ = parse_settings(
        {"ledger": {"path": str(target)}, "claude": {"model": "claude-haiku-4-5"}}
    )
    led = Ledger.open(settings)
    assert led is not None
    try:
        assert led.path == target and target.exists()
        assert led.claude_model == "claude-haiku-4-5"
    finally:
        led.close()


def test_a_failing_write_is_logged_not_raised(
    ledger: Ledger, caplog: pytest.LogCaptureFixture
) -> None:
    db = sqlite3.connect(ledger.path)
    db.execute("DROP TABLE runs")
    db.commit()
    db.close()
    record(ledger, run_input(), RunOutcome("failed", "x"), 0.0)  # must not raise
    assert "could not record" in caplog.text


# -- what the editor did with the result -------------------------------------------------------


@pytest.mark.parametrize(
    ("delivery", "words"),
    [
        (Disposition.REFUSED, "1 refused by the editor"),
        (Disposition.NO_ANSWER, "1 not answered by the editor"),
        (Disposition.CANCELLED, "1 cancelled"),
        (Disposition.RETURNED, "1 returned to an editor that cannot apply edits"),
    ],
)
def test_an_edit_that_did_not_land_claims_no_savings_and_says_so(
    ledger: Ledger, delivery: Disposition, words: str
) -> None:
    outcome = RunOutcome("edit", "ok", Tier.LOCAL, "qwen", attempts=(local(1000, 400),))
    record(ledger, run_input(), outcome, 1.0, Disposition.APPLIED)
    record(ledger, run_input(), outcome, 1.0, delivery)
    first, second = rows(ledger)
    assert first["outcome"] == "applied" and first["saved_usd"] > 0
    assert second["outcome"] == delivery.value and second["delivery"] == delivery.value
    assert second["saved_usd"] == 0.0
    report = ledger.usage_report()
    assert report["savedUsd"] == round(first["saved_usd"], 4)
    assert report["deliveries"] == {"applied": 1, delivery.value: 1}
    assert f"results: 1 applied, {words}" in ledger.format_report()


def test_a_ledger_from_before_the_delivery_column_gains_it(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE runs (id INTEGER PRIMARY KEY, ts REAL NOT NULL, day TEXT NOT NULL, "
        "action TEXT NOT NULL, file_hash TEXT NOT NULL, tier TEXT, model TEXT, "
        "local_input_tokens INTEGER NOT NULL DEFAULT 0, local_output_tokens INTEGER NOT NULL "
        "DEFAULT 0, claude_input_tokens INTEGER NOT NULL DEFAULT 0, claude_output_tokens "
        "INTEGER NOT NULL DEFAULT 0, cache_read_tokens INTEGER NOT NULL DEFAULT 0, "
        "cache_write_tokens INTEGER NOT NULL DEFAULT 0, cost_usd REAL NOT NULL DEFAULT 0, "
        "saved_usd REAL NOT NULL DEFAULT 0, duration_s REAL NOT NULL DEFAULT 0, "
        "outcome TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '');"
        "INSERT INTO runs (ts, day, action, file_hash, outcome, saved_usd) "
        "VALUES (0, '2026-01-01', 'refactor', 'x', 'applied', 0.25);"
    )
    db.commit()
    db.close()
    led = Ledger(path, CLAUDE_MODEL)
    try:
        outcome = RunOutcome("edit", "ok", Tier.LOCAL, "qwen", attempts=(local(10, 10),))
        record(led, run_input(), outcome, 1.0, Disposition.REFUSED)
        assert [r["delivery"] for r in rows(led)] == ["", "refused"]
        assert [r["endpoint"] for r in rows(led)] == ["", ""]
        assert led.count() == 2
        assert led.summary_today()["saved_usd"] == pytest.approx(0.25)  # the old row's savings
        record(led, run_input(), outcome, 1.0)
        saved = sum(r["saved_usd"] for r in rows(led))
        assert saved > 0.25 and led.summary_today()["saved_usd"] == pytest.approx(saved)
    finally:
        led.close()
    reopened = Ledger(path, CLAUDE_MODEL)  # the total is kept, not summed again on top
    try:
        assert reopened.summary_today()["saved_usd"] == pytest.approx(saved)
    finally:
        reopened.close()


def test_a_row_names_the_local_server_that_answered(ledger: Ledger) -> None:
    attempts = (
        Attempt(Tier.LOCAL, "qwen", Usage(100, 40), endpoint="localhost:1234"),
        Attempt(Tier.LOCAL, "qwen", Usage(100, 40), endpoint="gpu-box"),  # the retry
    )
    record(
        ledger,
        run_input(),
        RunOutcome("edit", "ok", Tier.LOCAL, "qwen", attempts=attempts),
        1.0,
        Disposition.APPLIED,
    )
    escalated = (attempts[0], Attempt(Tier.CLAUDE, CLAUDE_MODEL, Usage(100, 40)))
    record(
        ledger,
        run_input(),
        RunOutcome("edit", "ok", Tier.CLAUDE, CLAUDE_MODEL, attempts=escalated),
        1.0,
        Disposition.APPLIED,
    )
    assert [r["endpoint"] for r in rows(ledger)] == ["gpu-box", "localhost:1234"]


# -- spend not recorded yet ---------------------------------------------------------------------


def budget_of(daily: float, estimate: float) -> Any:
    """The refusal the engine passes to `reserve` (the routing policy's words)."""
    return lambda spent: over_budget(spent, estimate, daily)


def test_a_held_call_counts_today_until_its_run_is_recorded(ledger: Ledger) -> None:
    call = attrs.evolve(claude(1000, 200), spend_key="k1")
    price = cost(CLAUDE_MODEL, call.usage)
    ledger.hold("k1", price)
    assert ledger.spent_today() == pytest.approx(price), "in flight or awaiting delivery"
    outcome = RunOutcome("edit", "Refactor by Claude", Tier.CLAUDE, CLAUDE_MODEL, attempts=(call,))
    record(ledger, run_input(), outcome, 1.0)
    assert ledger.spent_today() == pytest.approx(price), "the row, not the row and the hold"


def test_reserving_is_one_step_so_two_calls_cannot_share_the_last_dollar(ledger: Ledger) -> None:
    assert ledger.reserve("a", 0.6, budget_of(1.0, 0.6)) == ""
    refused = ledger.reserve("b", 0.6, budget_of(1.0, 0.6))
    assert refused == "today's Claude budget is spent ($0.60 of $1.00)"
    ledger.release("a")  # the first call failed: nothing to charge
    assert ledger.reserve("b", 0.6, budget_of(1.0, 0.6)) == ""
    assert ledger.spent_today() == pytest.approx(0.6)


def test_reservations_from_many_threads_never_exceed_the_budget(ledger: Ledger) -> None:
    granted: list[str] = []

    def take(i: int) -> None:
        if not ledger.reserve(f"t{i}", 0.1, budget_of(1.0, 0.1)):
            granted.append(f"t{i}")

    threads = [threading.Thread(target=take, args=(i,)) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(granted) == 10 and ledger.spent_today() == pytest.approx(1.0)
