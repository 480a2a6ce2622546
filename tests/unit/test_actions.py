"""The action catalogue: ids, kinds, custom actions, titles and `only` filtering."""

from __future__ import annotations

import pytest

from ladder_lsp.engine.actions import (
    BUILTIN,
    BUILTIN_IDS,
    catalogue,
    find_action,
    instruction_problem,
    kind_allowed,
    title,
)
from ladder_lsp.settings import Settings, parse_settings


def with_custom(*items: dict[str, str]) -> Settings:
    settings, _ = parse_settings({"actions": {"custom": list(items)}})
    return settings


def test_builtin_catalogue_and_kinds() -> None:
    kinds = {a.id: a.kind for a in catalogue(Settings())}
    assert kinds == {
        "refactor": "refactor.rewrite",
        "edit": "refactor.rewrite",
        "docstring": "refactor.rewrite",
        "explain": "source",
        "fix": "quickfix",
        "tests": "refactor",
    }
    assert [a.id for a in BUILTIN if not a.edits_code] == ["explain"]


def test_custom_actions_follow_the_builtins() -> None:
    settings = with_custom(
        {"id": "hints", "title": "Add type hints", "prompt": "Type {code}"},
        {"id": "summary", "title": "Summarise", "prompt": "Sum", "kind": "source.summary"},
        {"id": "sourcery", "title": "Sourcery", "prompt": "x", "kind": "sourcery"},
    )
    actions = catalogue(settings)
    assert [a.id for a in actions][-3:] == ["hints", "summary", "sourcery"]
    hints = find_action("hints", settings)
    assert hints is not None
    assert (hints.verb, hints.kind, hints.custom_prompt) == (
        "Add type hints",
        "refactor.rewrite",
        "Type {code}",
    )
    assert hints.edits_code
    summary = find_action("summary", settings)
    assert summary is not None and not summary.edits_code  # a source.* action answers
    sourcery = find_action("sourcery", settings)
    assert sourcery is not None and sourcery.edits_code  # "sourcery" is not a source kind


def test_a_custom_action_never_shadows_a_builtin() -> None:
    settings = with_custom({"id": "refactor", "title": "Mine", "prompt": "p"})
    assert [a.id for a in catalogue(settings)] == [a.id for a in BUILTIN]
    assert find_action("refactor", settings) is BUILTIN[0]
    assert {a.id for a in BUILTIN} == BUILTIN_IDS


def test_find_action_unknown_is_none() -> None:
    assert find_action("nope", Settings()) is None
    assert find_action("refactor", Settings()) is BUILTIN[0]


def test_titles_say_where_and_why() -> None:
    refactor = BUILTIN[0]
    assert title(refactor, "local model") == "Refactor with local model"
    assert (
        title(refactor, "Claude", why="312 lines, above local limit")
        == "Refactor with Claude (312 lines, above local limit)"
    )


def test_fix_title_names_the_diagnostic_shortened() -> None:
    fix = next(a for a in BUILTIN if a.id == "fix")
    assert title(fix, "local model", diagnostic="undefined name 'x'\nmore") == (
        "Fix \"undefined name 'x'\" with local model"
    )
    long = title(fix, "Claude", diagnostic="y" * 100)
    assert '"' + "y" * 57 + '…"' in long


@pytest.mark.parametrize(
    ("kind", "only", "allowed"),
    [
        ("refactor.rewrite", None, True),
        ("refactor.rewrite", [], True),
        ("refactor.rewrite", ["refactor"], True),
        ("refactor", ["refactor.rewrite"], False),
        ("quickfix", ["refactor"], False),
        ("source", ["source"], True),
        ("sourcery", ["source"], False),
        ("refactor.rewrite", ["quickfix", "refactor.rewrite"], True),
    ],
)
def test_only_filter(kind: str, only: list[str] | None, allowed: bool) -> None:
    assert kind_allowed(kind, only) is allowed


def test_edit_asks_for_an_instruction_in_its_title_and_needs_one() -> None:
    edit = find_action("edit", Settings())
    assert edit is not None and edit.needs_instruction
    assert title(edit, "local model") == "Edit with local model…"
    assert title(edit, "Claude", why="complexity 70") == "Edit with Claude… (complexity 70)"
    assert "needs an instruction" in instruction_problem(edit, "  ")
    assert "nothing was sent" in instruction_problem(edit, "")
    assert instruction_problem(edit, "use pathlib") == ""
    refactor = find_action("refactor", Settings())
    assert refactor is not None and instruction_problem(refactor, "") == "", "optional there"
    assert "at most" in instruction_problem(refactor, "x" * 5000)
