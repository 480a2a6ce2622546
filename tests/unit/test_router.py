"""Routing: the complexity score's explainable parts, and the tier policy table."""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from ladder_lsp.backends.base import Tier
from ladder_lsp.engine.actions import BUILTIN, ActionSpec
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
