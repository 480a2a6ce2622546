"""Routing: the complexity score's explainable parts, the tier policy table, the cascade's
plan and what follows each failure, and when Claude is not used (availability, budget)."""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from ladder_lsp.backends.base import ChatRequest, FailureKind, Tier
from ladder_lsp.engine import routing
from ladder_lsp.engine.actions import BUILTIN, ActionSpec
from ladder_lsp.engine.prompts import estimate_tokens
from ladder_lsp.engine.routing import Availability, Decision, Score, decide, score
from ladder_lsp.settings import Settings, parse_settings

SPECS = {a.id: a for a in BUILTIN}
REFACTOR = SPECS["refactor"]
DOCSTRING = SPECS["docstring"]

SIMPLE = "def add(a, b):\n    return a + b\n"
BRANCHY = """\
def classify(items, limit):
    out = []
    for item in items:
        if item.kind == "a":
            for sub in item.children:
                if sub.value > limit:
                    while sub.parent:
                        sub = sub.parent
                    out.append(helper(sub))
        elif item.kind == "b":
            try:
                out.append(convert(item))
            except ValueError:
                pass
    return out
"""


def parts_dict(s: Score) -> dict[str, float]:
    return dict(s.parts)


# -- score -------------------------------------------------------------------------------------


def test_simple_code_scores_low_and_fits() -> None:
    s = score(DOCSTRING, SIMPLE, "python")
    assert s.fits_local
    assert s.total < 10
    assert "2 lines" in parts_dict(s)  # the trailing newline does not count as a line
    assert s.reason == "2 lines"


def test_line_count_part_is_capped_at_40() -> None:
    code = "x = 1\n" * 1000
    s = score(DOCSTRING, code, "text", context_tokens=1_000_000)
    assert parts_dict(s)["1000 lines"] == 40.0


def test_python_shape_adds_branches_nesting_and_external_names() -> None:
    s = score(DOCSTRING, BRANCHY, "python")
    parts = parts_dict(s)
    branches = next(k for k in parts if k.endswith("branches"))
    assert int(branches.split()[0]) >= 6
    nesting = next(k for k in parts if k.startswith("nesting depth"))
    assert int(nesting.split()[-1]) >= 4
    external = next(k for k in parts if k.endswith("names defined elsewhere"))
    assert external == "2 names defined elsewhere"  # helper, convert; not builtins or args
    assert s.total == pytest.approx(sum(parts.values()))
    assert s.total > score(DOCSTRING, SIMPLE, "python").total


def test_parts_are_sorted_biggest_first_and_reason_is_the_biggest() -> None:
    s = score(REFACTOR, BRANCHY, "python")
    points = [p for _, p in s.parts]
    assert points == sorted(points, reverse=True)
    assert s.reason == s.parts[0][0]


def test_non_python_code_gets_no_ast_parts() -> None:
    s = score(DOCSTRING, BRANCHY, "javascript")
    assert not any("branches" in why or "nesting" in why for why, _ in s.parts)


def test_syntax_errors_do_not_break_scoring() -> None:
    s = score(DOCSTRING, "def broken(:\n    if\n", "python")
    assert s.fits_local and s.total > 0


def test_very_deep_expression_does_not_crash_listing() -> None:
    code = "x = " + " + ".join(["a"] * 1500) + "\n"  # parses, but deeper than recursion
    s = score(DOCSTRING, code, "python", context_tokens=10**6)
    assert "1 names defined elsewhere" in parts_dict(s)  # the AST walk completed


def test_indented_selection_is_dedented_before_parsing() -> None:
    code = "        if a:\n            b = 1\n"
    assert any(why == "1 branches" for why, _ in score(DOCSTRING, code, "python").parts)


def test_action_and_diagnostics_add_weight() -> None:
    base = score(DOCSTRING, SIMPLE, "python")
    tests = score(SPECS["tests"], SIMPLE, "python")
    assert tests.total == pytest.approx(base.total + 15)
    assert "write tests is demanding" in parts_dict(tests)
    fix = score(SPECS["fix"], SIMPLE, "python", diagnostics=["x undefined", "y unused"])
    assert parts_dict(fix)["2 diagnostics"] == 10.0
    assert parts_dict(fix)["fix is demanding"] == 5.0


def test_custom_action_gets_default_weight() -> None:
    custom = ActionSpec("typehints", "Add type hints", "refactor.rewrite", "", custom_prompt="x")
    assert parts_dict(score(custom, SIMPLE, "python"))["add type hints is demanding"] == 10.0


def test_above_context_does_not_fit_and_says_why() -> None:
    code = "value = compute(1, 2, 3)  # a fairly long line of code\n" * 312
    s = score(REFACTOR, code, "python", context_tokens=8192)
    assert not s.fits_local
    assert s.reason == "312 lines, above local limit"
    assert s.total == 100.0
    big = score(REFACTOR, code, "python", context_tokens=200_000)
    assert big.fits_local


def test_total_is_capped_at_100() -> None:
    s = score(SPECS["tests"], BRANCHY * 40, "python", diagnostics=["e"] * 9, context_tokens=10**7)
    assert s.total == 100.0 and s.fits_local


# -- decide: the policy table ------------------------------------------------------------------

LOW = Score(total=5.0, parts=(("2 lines", 5.0),))
HIGH = Score(total=80.0, parts=(("9 branches", 20.0), ("300 lines", 40.0)))
HUGE = Score(total=100.0, parts=(("900 lines, above local limit", 100.0),), fits_local=False)

CLAUDE_OK = Availability(local_ok=True, claude_ok=True, claude_problem="")
NO_KEY = Availability(local_ok=True, claude_ok=False, claude_problem="no Claude API key")
PRIVATE = attrs.evolve(CLAUDE_OK, private_reason="the file matches privacy.localOnly (**/.env*)")
LOCAL_DOWN = attrs.evolve(CLAUDE_OK, local_ok=False, local_problem="local server unreachable")


def settings(mode: str = "auto", budget: float = 5.0) -> Settings:
    s, problems = parse_settings({"routing": {"mode": mode}, "budget": {"dailyUsd": budget}})
    assert problems == []
    return s


CASES: list[tuple[str, dict[str, Any], Availability, Score, Tier | None, Tier | None]] = [
    # (name, settings kwargs, availability, score, explicit, expected tier)
    ("auto simple → local", {}, CLAUDE_OK, LOW, None, Tier.LOCAL),
    ("auto complex → claude", {}, CLAUDE_OK, HIGH, None, Tier.CLAUDE),
    ("auto too big → claude", {}, CLAUDE_OK, HUGE, None, Tier.CLAUDE),
    ("auto complex, no key → local", {}, NO_KEY, HIGH, None, Tier.LOCAL),
    ("auto complex, private → local", {}, PRIVATE, HIGH, None, Tier.LOCAL),
    ("auto too big, private → local", {}, PRIVATE, HUGE, None, Tier.LOCAL),
    ("auto complex, budget 0 → local", {"budget": 0}, CLAUDE_OK, HIGH, None, Tier.LOCAL),
    ("auto local down → claude", {}, LOCAL_DOWN, LOW, None, Tier.CLAUDE),
    ("auto local down, budget 0 → none", {"budget": 0}, LOCAL_DOWN, LOW, None, None),
    ("auto local down, no key → none", {}, attrs.evolve(NO_KEY, local_ok=False), LOW, None, None),
    (
        "auto local down, private → none",
        {},
        attrs.evolve(PRIVATE, local_ok=False),
        LOW,
        None,
        None,
    ),
    ("auto explicit claude, budget 0", {"budget": 0}, CLAUDE_OK, LOW, Tier.CLAUDE, Tier.CLAUDE),
    ("auto explicit claude, no key", {}, NO_KEY, LOW, Tier.CLAUDE, None),
    ("auto explicit claude, private", {}, PRIVATE, LOW, Tier.CLAUDE, None),
    ("auto explicit local, complex", {}, CLAUDE_OK, HUGE, Tier.LOCAL, Tier.LOCAL),
    ("auto explicit local, down", {}, LOCAL_DOWN, LOW, Tier.LOCAL, None),
    ("local complex → local", {"mode": "local"}, CLAUDE_OK, HUGE, None, Tier.LOCAL),
    ("local down → none", {"mode": "local"}, LOCAL_DOWN, LOW, None, None),
    ("local explicit claude → none", {"mode": "local"}, CLAUDE_OK, LOW, Tier.CLAUDE, None),
    ("local explicit local", {"mode": "local"}, CLAUDE_OK, LOW, Tier.LOCAL, Tier.LOCAL),
    ("claude simple → claude", {"mode": "claude"}, CLAUDE_OK, LOW, None, Tier.CLAUDE),
    ("claude, local down → claude", {"mode": "claude"}, LOCAL_DOWN, LOW, None, Tier.CLAUDE),
    ("claude no key → none", {"mode": "claude"}, NO_KEY, LOW, None, None),
    ("claude private → none", {"mode": "claude"}, PRIVATE, LOW, None, None),
    (
        "claude budget 0 → claude",
        {"mode": "claude", "budget": 0},
        CLAUDE_OK,
        LOW,
        None,
        Tier.CLAUDE,
    ),
    ("claude explicit local", {"mode": "claude"}, NO_KEY, LOW, Tier.LOCAL, Tier.LOCAL),
]


@pytest.mark.parametrize(
    ("kwargs", "available", "the_score", "explicit", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_policy_table(
    kwargs: dict[str, Any],
    available: Availability,
    the_score: Score,
    explicit: Tier | None,
    expected: Tier | None,
) -> None:
    d = decide(REFACTOR, settings(**kwargs), available, the_score, explicit=explicit)
    assert d.tier is expected
    if expected is None:
        assert d.refusal  # unavailable-with-reason, never silently missing
    else:
        assert d.refusal == ""


def test_escalate_above_is_a_strict_threshold() -> None:
    s, _ = parse_settings({"routing": {"escalateAbove": 80}})
    assert decide(REFACTOR, s, CLAUDE_OK, HIGH).tier is Tier.LOCAL  # 80 is not above 80
    s, _ = parse_settings({"routing": {"escalateAbove": 79.5}})
    assert decide(REFACTOR, s, CLAUDE_OK, HIGH).tier is Tier.CLAUDE


def test_plain_default_choice_has_no_why() -> None:
    assert decide(REFACTOR, settings(), CLAUDE_OK, LOW) == Decision(Tier.LOCAL)
    assert decide(REFACTOR, settings("claude"), CLAUDE_OK, LOW) == Decision(Tier.CLAUDE)


def test_auto_escalation_explains_itself() -> None:
    too_big = decide(REFACTOR, settings(), CLAUDE_OK, HUGE)
    assert too_big.why == "900 lines, above local limit"
    complex_ = decide(REFACTOR, settings(), CLAUDE_OK, HIGH)
    assert complex_.why == "complexity 80: 9 branches"
    down = decide(REFACTOR, settings(), LOCAL_DOWN, LOW)
    assert down.why == "local server unreachable"


# -- refusal texts -----------------------------------------------------------------------------


def test_refusal_names_the_missing_key() -> None:
    d = decide(REFACTOR, settings("claude"), NO_KEY, LOW)
    assert d.refusal == "Claude is not available: no Claude API key"


def test_refusal_names_the_privacy_rule() -> None:
    d = decide(REFACTOR, settings(), PRIVATE, LOW, explicit=Tier.CLAUDE)
    assert d.refusal == ("Claude is not available: the file matches privacy.localOnly (**/.env*)")


def test_refusal_when_local_is_down_in_local_mode() -> None:
    d = decide(REFACTOR, settings("local"), LOCAL_DOWN, LOW)
    assert d.refusal == "local server unreachable"
    bare = attrs.evolve(LOCAL_DOWN, local_problem="")
    assert decide(REFACTOR, settings("local"), bare, LOW).refusal == "the local model is down"


def test_refusal_for_claude_in_local_mode_names_the_setting() -> None:
    d = decide(REFACTOR, settings("local"), CLAUDE_OK, LOW, explicit=Tier.CLAUDE)
    assert "routing.mode" in d.refusal and "local" in d.refusal


def test_refusal_when_nothing_can_serve_names_both_tiers() -> None:
    d = decide(REFACTOR, settings(budget=0), LOCAL_DOWN, LOW)
    assert d.refusal == (
        "local server unreachable; Claude: automatic use is off (budget.dailyUsd = 0)"
    )
    d = decide(REFACTOR, settings(), attrs.evolve(NO_KEY, local_ok=False), LOW)
    assert d.refusal == "the local model is down; Claude: no Claude API key"


# -- availability ------------------------------------------------------------------------------


def test_a_local_server_not_asked_yet_counts_as_up() -> None:
    a = routing.availability(None, "", has_claude_key=False, private_reason="")
    assert a == Availability(local_ok=True, claude_ok=False, claude_problem="no Claude API key")


def test_a_down_server_keeps_its_problem_and_a_key_makes_claude_available() -> None:
    a = routing.availability(False, "not reachable", has_claude_key=True, private_reason="p")
    assert a == Availability(
        local_ok=False,
        local_problem="not reachable",
        claude_ok=True,
        claude_problem="",
        private_reason="p",
    )
    up = routing.availability(True, "stale problem", has_claude_key=True, private_reason="")
    assert up.local_ok and up.local_problem == ""


@pytest.mark.parametrize(
    ("available", "budget", "allowed"),
    [
        (CLAUDE_OK, 5.0, True),
        (NO_KEY, 5.0, False),
        (PRIVATE, 5.0, False),
        (CLAUDE_OK, 0.0, False),  # 0: no automatic Claude use
    ],
    ids=["key and budget", "no key", "local-only code", "budget 0"],
)
def test_claude_is_allowed_without_asking_only_with_key_budget_and_shareable_code(
    available: Availability, budget: float, allowed: bool
) -> None:
    assert routing.claude_allowed(settings(budget=budget), available) is allowed


def test_only_the_router_choosing_is_auto() -> None:
    assert routing.is_auto(settings(), None)
    assert not routing.is_auto(settings(), Tier.LOCAL)
    assert not routing.is_auto(settings("local"), None)
    assert not routing.is_auto(settings("claude"), None)


# -- the cascade -------------------------------------------------------------------------------

L, C = Tier.LOCAL, Tier.CLAUDE


def test_the_plan_is_local_a_local_retry_then_claude() -> None:
    assert routing.plan(L, settings(), CLAUDE_OK, explicit=False) == [L, L, C]


@pytest.mark.parametrize(
    ("first", "kwargs", "available", "explicit", "expected"),
    [
        (C, {}, CLAUDE_OK, False, [C]),
        (L, {}, CLAUDE_OK, True, [L]),
        (C, {}, CLAUDE_OK, True, [C]),
        (L, {}, NO_KEY, False, [L, L]),
        (L, {}, PRIVATE, False, [L, L]),
        (L, {"budget": 0}, CLAUDE_OK, False, [L, L]),
        (L, {"mode": "local"}, CLAUDE_OK, False, [L, L]),
    ],
    ids=[
        "claude first",
        "explicit local",
        "explicit claude",
        "no key",
        "local-only file",
        "budget 0",
        "local mode",
    ],
)
def test_the_plan_leaves_out_what_may_not_run(
    first: Tier,
    kwargs: dict[str, Any],
    available: Availability,
    explicit: bool,
    expected: list[Tier],
) -> None:
    assert routing.plan(first, settings(**kwargs), available, explicit=explicit) == expected


def test_without_escalation_on_failure_there_is_one_local_attempt() -> None:
    s, _ = parse_settings({"routing": {"escalateOnFailure": False}})
    assert routing.plan(L, s, CLAUDE_OK, explicit=False) == [L]


def test_escalation_is_claude_after_the_local_model() -> None:
    assert routing.is_escalation([L, L], C)
    assert not routing.is_escalation([], C)
    assert not routing.is_escalation([L], L)
    assert not routing.is_escalation([C], L)


def after(
    queue: list[Tier],
    failed: Tier,
    kind: FailureKind | None,
    tried: list[Tier],
    *,
    auto: bool = True,
    claude_allowed: bool = True,
    local_ok: bool = True,
    local_fallback: bool = False,
) -> list[Tier]:
    return routing.after_failure(
        queue,
        failed,
        kind,
        tried,
        auto=auto,
        claude_allowed=claude_allowed,
        local_ok=local_ok,
        local_fallback=local_fallback,
    )


def test_a_rejected_answer_moves_on_to_the_next_step() -> None:
    assert after([L, C], L, None, [L]) == [L, C]
    assert after([C], L, None, [L, L]) == [C]
    assert after([], C, None, [C]) == []


@pytest.mark.parametrize("kind", sorted(routing.LOCAL_DOWN))
def test_a_local_server_that_cannot_serve_is_not_retried(kind: FailureKind) -> None:
    assert after([L, C], L, kind, [L]) == [C]
    assert after([L], L, kind, [L]) == [C]  # auto: Claude takes over when allowed
    assert after([L], L, kind, [L], claude_allowed=False) == []
    assert after([L], L, kind, [L], auto=False) == []


def test_the_embedded_engine_takes_over_once_when_the_server_goes_away() -> None:
    unreachable = FailureKind.UNREACHABLE
    assert after([L, C], L, unreachable, [L], local_fallback=True) == [L, L, C]
    assert after([L, C], L, unreachable, [L, L], local_fallback=True) == [C]
    assert after([L, C], L, unreachable, [L], local_fallback=False) == [C]


@pytest.mark.parametrize("kind", sorted(routing.CLAUDE_DOWN))
def test_a_claude_that_cannot_serve_hands_back_to_the_local_model(kind: FailureKind) -> None:
    assert after([], C, kind, [C]) == [L]
    assert after([], C, kind, [C], local_ok=False) == []
    assert after([], C, kind, [C], auto=False) == []
    assert after([], C, kind, [L, L, C]) == []  # the local model had its turn


def test_other_failures_go_on_with_the_plan() -> None:
    assert after([L, C], L, FailureKind.TIMEOUT, [L]) == [L, C]
    assert after([], C, FailureKind.STREAM_CUT, [C]) == []


# -- the budget --------------------------------------------------------------------------------


def test_budget_zero_stops_only_automatic_use() -> None:
    assert routing.budget_applies(5.0, explicit=False)
    assert routing.budget_applies(5.0, explicit=True)
    assert routing.budget_applies(0.0, explicit=False)
    assert not routing.budget_applies(0.0, explicit=True)


def test_over_budget_says_what_was_spent() -> None:
    assert routing.over_budget(1.0, 0.5, 5.0) == ""
    assert routing.over_budget(4.9, 0.2, 5.0) == "today's Claude budget is spent ($4.90 of $5.00)"


def test_a_call_is_estimated_at_its_prompt_and_half_its_answer_room() -> None:
    request = ChatRequest(system="rules", user="the code", max_tokens=1001)
    usage = routing.estimated_usage(request)
    assert usage.input_tokens == estimate_tokens("rulesthe code")
    assert usage.output_tokens == 500
