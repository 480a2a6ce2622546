"""When an edit waits for the user's yes (`edits.confirm`) and what the question says."""

from __future__ import annotations

import pytest

from ladder_lsp.backends.base import Tier
from ladder_lsp.engine.confirm import changed_lines, confirmation_for
from ladder_lsp.engine.run_types import RunOutcome
from ladder_lsp.pipeline.edits import LineEdit


def outcome(tier: Tier | None, model: str = "qwen2.5-coder-7b") -> RunOutcome:
    return RunOutcome("edit", "done", tier, model)


@pytest.mark.parametrize(
    ("mode", "tier", "asks"),
    [
        ("never", Tier.LOCAL, False),
        ("never", Tier.CLAUDE, False),
        ("claude", Tier.LOCAL, False),
        ("claude", Tier.CLAUDE, True),
        ("always", Tier.LOCAL, True),
        ("always", Tier.CLAUDE, True),
    ],
)
def test_the_setting_decides_who_needs_a_yes(mode: str, tier: Tier, asks: bool) -> None:
    assert (confirmation_for(mode, outcome(tier), lines=3) is not None) is asks


def test_the_question_counts_lines_and_names_the_model_the_label_the_tier() -> None:
    found = confirmation_for("always", outcome(Tier.LOCAL), lines=12)
    assert found is not None
    assert found.question == "Apply 12 changed lines from qwen2.5-coder-7b?"
    assert found.label == "Ladder: qwen2.5-coder-7b (local model)"
    one = confirmation_for("always", outcome(Tier.CLAUDE, "claude-sonnet-5-5"), lines=1)
    assert one is not None and one.question == "Apply 1 changed line from claude-sonnet-5-5?"
    assert one.label == "Ladder: claude-sonnet-5-5 (Claude)"


def test_a_new_file_is_named_in_the_question() -> None:
    found = confirmation_for("always", outcome(Tier.LOCAL), lines=8, file_name="test_cart.py")
    assert (
        found is not None and found.question == "Add 8 lines to test_cart.py from qwen2.5-coder-7b?"
    )


def test_an_outcome_without_a_tier_is_never_asked_about() -> None:
    assert confirmation_for("always", outcome(None), lines=1) is None


def test_changed_lines_counts_the_larger_side_of_each_edit() -> None:
    edits = [
        LineEdit(0, 2, ("a\n",)),  # two lines become one: 2
        LineEdit(5, 5, ("b\n", "c\n", "d\n")),  # three inserted: 3
        LineEdit(9, 10, ()),  # one deleted: 1
    ]
    assert changed_lines(edits) == 6
