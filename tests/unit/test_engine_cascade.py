"""The Engine's cascade with in-process fake backends (tests/fakes/backends.py): the local
answer accepted; rejected, retried with the reason, escalated to Claude; a local server that
is down or goes away; Claude left out — local-only file, no key, budget — and the user told
why; an explicit Claude run. Complements the HTTP-level tests (test_engine_outcome.py, e2e)."""

from __future__ import annotations

from typing import Any

import pytest

from ladder_lsp.analysis.text import split_lines
from ladder_lsp.backends.base import FailureKind, Tier
from ladder_lsp.engine.actions import BUILTIN
from ladder_lsp.engine.delivery import Disposition, record
from ladder_lsp.engine.engine import Engine
from ladder_lsp.engine.run_types import RunInput, RunOutcome
from ladder_lsp.pipeline.target import make_target
from ladder_lsp.settings import Settings, merge_raw, parse_settings
from ladder_lsp.store.ledger import Ledger
from ladder_lsp.store.pricing import cost
from tests.fakes.backends import (
    CLAUDE_MODEL,
    DOWN,
    LOCAL_MODEL,
    Answer,
    FakeBackend,
    FakeBackends,
    FakeLocalServer,
)

REFACTOR = next(a for a in BUILTIN if a.id == "refactor")
KEY = "sk-ant-api03-fake-key-for-the-cascade-0123"
CODE = "def total(items):\n    t = 0\n    for i in items:\n        t = t + i\n    return t\n"
GOOD = Answer("```python\ndef total(items):\n    return sum(items)\n```")
BAD = Answer("```python\ndef total(items):\n    return sum(items\n```")  # a syntax error
REJECTED = "No edit: the local model's answer was rejected — syntax"
RETRY_HINT = "A previous answer was rejected because"
L, C = Tier.LOCAL, Tier.CLAUDE


@pytest.fixture(autouse=True)
def no_key_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)


def settings(**overrides: Any) -> Settings:
    """Auto routing with a Claude key and no embedded engine, changed by `overrides`."""
    base = {"local": {"embeddedModel": "off"}, "claude": {"apiKey": KEY}}
    parsed, problems = parse_settings(merge_raw(base, overrides))
    assert problems == []
    return parsed


class Run:
    """One Engine run against fakes: the outcome and every progress line."""

    def __init__(self, backends: FakeBackends) -> None:
        self.backends = backends
        self.reports: list[str] = []
        self.last_input: RunInput | None = None

    async def __call__(
        self,
        the_settings: Settings | None = None,
        *,
        path: str = "/p/cart.py",
        tier: Tier | None = None,
        ledger: Ledger | None = None,
        code: str = CODE,
    ) -> RunOutcome:
        lines = tuple(split_lines(code))
        target = make_target(f"file://{path}", 1, lines, (0, 0), (len(lines), 0))
        inp = RunInput(REFACTOR, target, "python", path, tier=tier)
        self.last_input = inp
        engine = Engine(the_settings or settings(), ledger, backends=self.backends)
        try:
            return await engine.run(inp, self.reports.append)
        finally:
            await engine.aclose()

    @property
    def local(self) -> FakeLocalServer:
        return self.backends.local_server

    @property
    def claude(self) -> FakeBackend:
        return self.backends.claude_backend


def fakes(
    *local: Answer,
    claude: tuple[Answer, ...] = (),
    down: bool = False,
    embedded: FakeBackend | None = None,
) -> Run:
    return Run(
        FakeBackends(
            FakeLocalServer(*local, down=down),
            FakeBackend(Tier.CLAUDE, *claude),
            embedded,
        )
    )


# -- the local model serves ----------------------------------------------------------------


async def test_a_local_answer_that_passes_the_checks_is_the_edit() -> None:
    run = fakes(GOOD)
    outcome = await run()
    assert outcome.status == "edit", outcome
    assert outcome.message == f"Refactor by local model ({LOCAL_MODEL}): 1 line(s) changed."
    assert (outcome.tier, outcome.model) == (L, LOCAL_MODEL)
    assert [a.tier for a in outcome.attempts] == [L]
    assert run.claude.requests == [] and run.backends.claude_keys == []
    assert run.reports[0] == f"local model · {LOCAL_MODEL}"


async def test_a_rejected_local_answer_is_retried_locally_with_the_reason() -> None:
    run = fakes(BAD, GOOD)
    outcome = await run()
    assert outcome.status == "edit" and outcome.tier is L, outcome
    first, retry = run.local.requests
    assert RETRY_HINT not in first.user and RETRY_HINT in retry.user
    assert f"local model · {LOCAL_MODEL} (retry)" in run.reports
    assert run.claude.requests == []


async def test_twice_rejected_locally_the_run_escalates_to_claude() -> None:
    run = fakes(BAD, BAD, claude=(GOOD,))
    outcome = await run()
    assert outcome.status == "edit", outcome
    assert outcome.message == f"Refactor by Claude ({CLAUDE_MODEL}): 1 line(s) changed."
    assert [a.tier for a in outcome.attempts] == [L, L, C]
    assert len(run.local.requests) == 2
    [sent] = run.claude.requests
    assert RETRY_HINT in sent.user  # Claude hears why the local answer failed
    assert run.backends.claude_keys == [KEY]
    escalated = [s for s in outcome.steps if s.startswith("escalated to Claude: syntax")]
    assert len(escalated) == 1
    assert any(r.startswith("escalating to Claude: syntax") for r in run.reports)


async def test_without_escalation_on_failure_one_rejection_ends_the_run() -> None:
    run = fakes(BAD)
    outcome = await run(settings(routing={"escalateOnFailure": False}))
    assert outcome.status == "rejected" and outcome.message.startswith(REJECTED)
    assert len(run.local.requests) == 1 and run.claude.requests == []


# -- the local server cannot serve -----------------------------------------------------------


async def test_a_local_server_that_is_down_hands_the_run_to_claude() -> None:
    run = fakes(claude=(GOOD,), down=True)
    outcome = await run()
    assert outcome.status == "edit" and outcome.tier is C, outcome
    assert run.local.requests == []
    assert [a.tier for a in outcome.attempts] == [C]
    assert run.reports[0] == f"Claude · {CLAUDE_MODEL}"


async def test_a_local_server_going_away_mid_run_is_not_retried() -> None:
    run = fakes(Answer.failure(FailureKind.UNREACHABLE, DOWN), claude=(GOOD,))
    outcome = await run()
    assert outcome.status == "edit" and outcome.tier is C, outcome
    assert len(run.local.requests) == 1  # no local retry against a server that is gone
    assert outcome.steps[0] == f"local model: {DOWN}"


async def test_the_embedded_engine_serves_when_the_server_goes_away() -> None:
    embedded = FakeBackend(Tier.LOCAL, GOOD, model="embedded-smol", context=2048)
    run = fakes(Answer.failure(FailureKind.UNREACHABLE, DOWN), embedded=embedded)
    # no retry planned: the embedded engine's attempt is the one the server could not make
    outcome = await run(settings(local={"embeddedModel": ""}, routing={"escalateOnFailure": False}))
    assert outcome.status == "edit" and outcome.model == "embedded-smol", outcome
    assert len(embedded.requests) == 1 and run.claude.requests == []


async def test_local_down_and_claude_not_allowed_says_both_reasons() -> None:
    run = fakes(down=True)
    outcome = await run(settings(claude={"apiKey": ""}))
    assert outcome.status == "failed"
    assert outcome.message == f"{DOWN}; Claude: no Claude API key"
    assert run.local.requests == [] and run.claude.requests == []


# -- Claude is left out, and the user is told why --------------------------------------------


async def test_a_local_only_file_never_escalates() -> None:
    run = fakes(BAD, BAD, claude=(GOOD,))
    outcome = await run(path="/p/secrets/db.py")
    assert outcome.status == "rejected" and outcome.message.startswith(REJECTED), outcome
    assert len(run.local.requests) == 2 and run.claude.requests == []


async def test_claude_asked_for_a_local_only_file_refuses_with_the_rule() -> None:
    run = fakes(claude=(GOOD,))
    outcome = await run(path="/p/secrets/db.py", tier=C)
    assert outcome.status == "failed"
    assert outcome.message == (
        "Claude is not available: the file matches privacy.localOnly (**/secrets/**)"
    )
    assert run.local.requests == [] and run.claude.requests == []


async def test_without_a_key_the_run_stays_local() -> None:
    run = fakes(BAD, BAD, claude=(GOOD,))
    outcome = await run(settings(claude={"apiKey": ""}))
    assert outcome.status == "rejected" and outcome.message.startswith(REJECTED), outcome
    assert run.backends.claude_keys == [] and run.claude.requests == []


async def test_claude_asked_without_a_key_refuses_and_says_so() -> None:
    run = fakes(claude=(GOOD,))
    outcome = await run(settings(claude={"apiKey": ""}), tier=C)
    assert (outcome.status, outcome.message) == (
        "failed",
        "Claude is not available: no Claude API key",
    )
    assert run.local.requests == [] and run.claude.requests == []


async def test_over_budget_claude_is_not_called_and_the_user_hears_both_reasons(
    ledger: Ledger,
) -> None:
    run = fakes(BAD, BAD, claude=(GOOD,))
    outcome = await run(settings(budget={"dailyUsd": 0.0001}), ledger=ledger)
    assert outcome.status == "rejected", outcome
    assert outcome.message.startswith(REJECTED)
    assert outcome.message.endswith(
        "; Claude was not used: today's Claude budget is spent ($0.00 of $0.00)."
    )
    assert run.claude.requests == []


async def test_budget_zero_stops_automatic_escalation_only() -> None:
    run = fakes(BAD, BAD, claude=(GOOD,))
    outcome = await run(settings(budget={"dailyUsd": 0}))
    assert outcome.status == "rejected" and run.claude.requests == []
    explicit = fakes(claude=(GOOD,))
    outcome = await explicit(settings(budget={"dailyUsd": 0}), tier=C)
    assert outcome.status == "edit" and outcome.tier is C, outcome


async def test_a_claude_that_cannot_serve_after_the_local_model_says_both_reasons() -> None:
    limited = Answer.failure(FailureKind.RATE_LIMITED, "Claude is rate-limited.")
    run = fakes(BAD, BAD, claude=(limited,))
    outcome = await run()
    assert outcome.status == "rejected", outcome
    assert outcome.message.startswith(REJECTED)
    assert outcome.message.endswith("; Claude was not used: Claude is rate-limited.")
    assert len(run.local.requests) == 2  # the local model had its turn: no third try


# -- an explicit Claude run ----------------------------------------------------------------


async def test_an_explicit_claude_run_uses_claude_only() -> None:
    run = fakes(GOOD, claude=(GOOD,))
    outcome = await run(tier=C)
    assert outcome.status == "edit" and outcome.tier is C, outcome
    assert run.local.requests == []
    assert [a.tier for a in outcome.attempts] == [C]


async def test_an_explicit_claude_run_rejected_does_not_fall_back() -> None:
    run = fakes(GOOD, claude=(BAD,))
    outcome = await run(tier=C)
    assert outcome.status == "rejected"
    assert outcome.message.startswith("No edit: Claude's answer was rejected — syntax")
    assert run.local.requests == []


# -- selections too big to send ------------------------------------------------------------


async def test_a_selection_no_model_could_take_fails_at_once_and_says_why() -> None:
    run = fakes(GOOD, claude=(GOOD,))
    outcome = await run(code="value = compute(1, 2, 3)\n" * 400_000)  # 10 MB
    assert outcome.status == "failed"
    assert outcome.message.startswith("The selection is too large for any model: it needs about")
    assert "largest context window is 200,000" in outcome.message
    assert run.local.requests == [] and run.claude.requests == []


async def test_a_big_selection_is_still_scanned_for_secrets_before_claude_sees_it() -> None:
    big = "".join(f"value_{i} = compute({i})\n" for i in range(4_000))  # 90 kB: a thread's work
    secret = 'TOKEN = "AKIAABCDEFGHIJKLMNOP"\n'
    run = fakes(claude=(GOOD,))
    outcome = await run(code=big + secret, tier=C)
    assert outcome.status == "failed"
    assert outcome.message == (
        "Claude is not available: the selection seems to contain an AWS access key"
    )
    assert run.claude.requests == []


async def test_claudes_cost_counts_against_the_budget_before_the_run_is_recorded(
    ledger: Ledger,
) -> None:
    """A workspace job delivers (and records) its units only at its end, and an edit may wait
    for the user's yes: until then its Claude spend is held in the ledger, so the next
    escalation sees it; recording the run moves it into a row without counting it twice."""
    run = fakes(claude=(GOOD,))
    outcome = await run(tier=C, ledger=ledger)
    assert outcome.status == "edit" and outcome.tier is C
    [call] = outcome.attempts
    price = cost(call.model, call.usage)
    assert price > 0 and ledger.spent_today() == pytest.approx(price)
    assert run.last_input is not None
    await record(ledger, run.last_input, outcome, Disposition.APPLIED, 1.0)
    assert ledger.spent_today() == pytest.approx(price)


async def test_a_failed_claude_call_releases_what_it_reserved(ledger: Ledger) -> None:
    limited = Answer.failure(FailureKind.RATE_LIMITED, "Claude is rate-limited.")
    run = fakes(claude=(limited,))
    outcome = await run(settings(budget={"dailyUsd": 5.0}), tier=C, ledger=ledger)
    assert outcome.status == "failed"
    assert ledger.spent_today() == 0.0
