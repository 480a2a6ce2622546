"""Settings parsing: defaults, merging and validation problems."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ladder_lsp.engine.actions import BUILTIN_IDS
from ladder_lsp.settings import (
    DEFAULT_CLAUDE_MODEL,
    DEFAULT_LOCAL_ONLY,
    CustomAction,
    Problem,
    Settings,
    merge_raw,
    parse_settings,
)

ROOT = Path(__file__).resolve().parents[2]
SECRET = "sk-ant-api03-SECRETSECRETSECRETSECRET"


def problems_at(problems: list[Problem], path: str) -> list[Problem]:
    return [p for p in problems if p.path == path]


# -- defaults ----------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [None, {}])
def test_empty_settings_are_the_contract_defaults(raw: Any) -> None:
    settings, problems = parse_settings(raw)
    assert problems == []
    assert settings == Settings()
    assert settings.local.base_url == "http://localhost:1234/v1"
    assert settings.local.model == "" and settings.local.api_key == ""
    assert settings.local.max_parallel == 4
    assert settings.local.timeout_seconds == 300
    assert settings.claude.model == DEFAULT_CLAUDE_MODEL
    assert settings.claude.model.startswith("claude-sonnet")
    assert settings.claude.api_key == "" and settings.claude.base_url == ""
    assert settings.claude.max_parallel == 4
    assert settings.routing.mode == "auto"
    assert settings.routing.escalate_on_failure is True
    assert settings.privacy.local_only == DEFAULT_LOCAL_ONLY
    assert set(DEFAULT_LOCAL_ONLY) == {"**/.env*", "**/*.pem", "**/*.key", "**/secrets/**"}
    assert settings.budget.daily_usd == 5.0
    assert settings.actions.custom == ()


def test_non_object_settings_warn_and_use_defaults() -> None:
    settings, problems = parse_settings(["not", "an", "object"])
    assert settings == Settings()
    assert len(problems) == 1 and problems[0].warn


def test_nested_values_are_read_and_others_keep_defaults() -> None:
    settings, problems = parse_settings(
        {
            "local": {"baseUrl": "http://127.0.0.1:8080/v1", "maxParallel": 2},
            "routing": {"mode": "local", "escalateAbove": 75},
            "privacy": {"localOnly": ["**/private/**"]},
        }
    )
    assert problems == []
    assert settings.local.base_url == "http://127.0.0.1:8080/v1"
    assert settings.local.max_parallel == 2
    assert settings.local.timeout_seconds == 300  # untouched sibling keeps its default
    assert settings.routing.mode == "local"
    assert settings.routing.escalate_above == 75.0
    assert isinstance(settings.routing.escalate_above, float)
    assert settings.privacy.local_only == ("**/private/**",)
    assert settings.claude == Settings().claude


def test_null_value_means_default_without_a_problem() -> None:
    settings, problems = parse_settings({"local": {"model": None}, "claude": None})
    assert problems == []
    assert settings.local.model == ""
    assert settings.claude == Settings().claude


# -- merging layers ----------------------------------------------------------------------------


def test_merge_raw_is_deep_and_later_layers_win_key_by_key() -> None:
    init_options = {
        "local": {"baseUrl": "http://a/v1", "model": "m1"},
        "routing": {"mode": "claude"},
        "privacy": {"localOnly": ["a", "b"]},
    }
    workspace = {"local": {"model": "m2"}, "privacy": {"localOnly": ["c"]}, "budget": None}
    merged = merge_raw(init_options, workspace)
    assert merged == {
        "local": {"baseUrl": "http://a/v1", "model": "m2"},
        "routing": {"mode": "claude"},
        "privacy": {"localOnly": ["c"]},  # lists are replaced, not concatenated
        "budget": None,
    }
    settings, problems = parse_settings(merged)
    assert problems == []
    assert (settings.local.base_url, settings.local.model) == ("http://a/v1", "m2")
    assert settings.routing.mode == "claude"


def test_merge_raw_skips_non_objects_and_does_not_alias_inputs() -> None:
    first = {"local": {"model": "a"}}
    merged = merge_raw(None, first, "junk", 3)
    assert merged == first
    merged["local"]["model"] = "changed"
    assert first["local"]["model"] == "a"


def test_merge_raw_object_replaces_scalar() -> None:
    assert merge_raw({"local": "oops"}, {"local": {"model": "x"}}) == {"local": {"model": "x"}}
    assert merge_raw({"local": {"model": "x"}}, {"local": 3}) == {"local": 3}


# -- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("section", "key", "value", "attr"),
    [
        ("local", "maxParallel", "4", "max_parallel"),
        ("local", "maxParallel", 2.5, "max_parallel"),
        ("local", "maxParallel", True, "max_parallel"),
        ("local", "timeoutSeconds", "300", "timeout_seconds"),
        ("local", "baseUrl", 1234, "base_url"),
        ("routing", "escalateOnFailure", "yes", "escalate_on_failure"),
        ("routing", "escalateOnFailure", 1, "escalate_on_failure"),
        ("budget", "dailyUsd", False, "daily_usd"),
        ("privacy", "localOnly", "**/.env*", "local_only"),
        ("privacy", "localOnly", ["ok", 3], "local_only"),
        ("actions", "custom", {"id": "x"}, "custom"),
    ],
)
def test_wrong_type_warns_and_keeps_the_default(
    section: str, key: str, value: Any, attr: str
) -> None:
    settings, problems = parse_settings({section: {key: value}})
    default = getattr(getattr(Settings(), section), attr)
    assert getattr(getattr(settings, section), attr) == default
    [problem] = problems_at(problems, f"{section}.{key}")
    assert problem.warn
    assert "must be" in problem.message


def test_integers_are_accepted_for_float_settings() -> None:
    settings, problems = parse_settings(
        {"local": {"timeoutSeconds": 30}, "budget": {"dailyUsd": 0}}
    )
    assert problems == []
    assert settings.local.timeout_seconds == 30.0 and isinstance(
        settings.local.timeout_seconds, float
    )
    assert settings.budget.daily_usd == 0.0


def test_a_bad_value_does_not_discard_good_siblings() -> None:
    settings, problems = parse_settings({"local": {"maxParallel": "many", "model": "qwen"}})
    assert settings.local.model == "qwen"
    assert settings.local.max_parallel == 4
    assert [p.path for p in problems] == ["local.maxParallel"]


def test_section_that_is_not_an_object_warns() -> None:
    settings, problems = parse_settings({"routing": "claude"})
    assert settings.routing == Settings().routing
    [problem] = problems_at(problems, "routing")
    assert problem.warn


def test_enum_value_outside_the_choices_warns() -> None:
    settings, problems = parse_settings({"routing": {"mode": "cloud"}})
    assert settings.routing.mode == "auto"
    [problem] = problems_at(problems, "routing.mode")
    assert problem.warn
    assert all(choice in problem.message for choice in ("auto", "local", "claude"))


@pytest.mark.parametrize(
    ("section", "key", "value"),
    [
        ("local", "maxParallel", 0),
        ("local", "timeoutSeconds", 0.5),
        ("claude", "maxParallel", -1),
        ("budget", "dailyUsd", -0.01),
        ("routing", "escalateAbove", -5),
    ],
)
def test_values_below_minimum_warn_and_keep_default(section: str, key: str, value: Any) -> None:
    settings, problems = parse_settings({section: {key: value}})
    assert getattr(settings, section) == getattr(Settings(), section)
    [problem] = problems_at(problems, f"{section}.{key}")
    assert problem.warn and "at least" in problem.message


def test_minimum_itself_is_accepted() -> None:
    settings, problems = parse_settings({"local": {"maxParallel": 1}, "budget": {"dailyUsd": 0}})
    assert problems == []
    assert settings.local.max_parallel == 1


def test_unknown_keys_and_sections_are_ignored_without_a_user_warning() -> None:
    settings, problems = parse_settings(
        {"local": {"baseURL": "http://x/v1", "model": "m"}, "telemetry": {"on": True}}
    )
    assert settings.local.base_url == "http://localhost:1234/v1"
    assert settings.local.model == "m"
    paths = {p.path: p for p in problems}
    assert set(paths) == {"local.baseURL", "telemetry"}
    assert not any(p.warn for p in problems)


# -- custom actions ----------------------------------------------------------------------------


def test_custom_actions_are_parsed_with_default_kind() -> None:
    settings, problems = parse_settings(
        {
            "actions": {
                "custom": [
                    {"id": "typehints", "title": "Add type hints", "prompt": "Type {code}"},
                    {"id": "summ", "title": "Summarise", "prompt": "Sum {path}", "kind": "source"},
                ]
            }
        }
    )
    assert problems == []
    assert settings.actions.custom == (
        CustomAction("typehints", "Add type hints", "Type {code}", "refactor.rewrite"),
        CustomAction("summ", "Summarise", "Sum {path}", "source"),
    )


@pytest.mark.parametrize(
    ("item", "needle"),
    [
        ("not an object", "object"),
        ({"id": "x", "title": "X"}, "prompt"),
        ({"id": "", "title": "X", "prompt": "p"}, "id"),
        ({"id": "x", "title": 3, "prompt": "p"}, "title"),
    ],
)
def test_invalid_custom_actions_are_dropped_with_a_warning(item: Any, needle: str) -> None:
    good = {"id": "ok", "title": "OK", "prompt": "do {code}"}
    settings, problems = parse_settings({"actions": {"custom": [item, good]}})
    assert [c.id for c in settings.actions.custom] == ["ok"]
    [problem] = problems_at(problems, "actions.custom[0]")
    assert problem.warn and needle in problem.message


def test_custom_action_bad_kind_falls_back_to_refactor_rewrite() -> None:
    settings, problems = parse_settings(
        {"actions": {"custom": [{"id": "a", "title": "A", "prompt": "p", "kind": 7}]}}
    )
    assert settings.actions.custom[0].kind == "refactor.rewrite"
    assert [p.path for p in problems] == ["actions.custom[0].kind"]


def test_custom_action_reusing_a_builtin_id_is_reported() -> None:
    settings, problems = parse_settings(
        {
            "actions": {
                "custom": [
                    {"id": "refactor", "title": "My refactor", "prompt": "p"},
                    {"id": "mine", "title": "Mine", "prompt": "p"},
                    {"id": "mine", "title": "Mine again", "prompt": "q"},
                ]
            }
        },
        reserved_action_ids=BUILTIN_IDS,
    )
    assert [c.id for c in settings.actions.custom] == ["mine"]
    assert {p.path for p in problems} == {"actions.custom[0]", "actions.custom[2]"}
    assert all(p.warn for p in problems)
    assert [p.message for p in problems] == [
        "id 'refactor' is already taken by another action; ignored",
        "id 'mine' is already taken by another action; ignored",
    ]


def test_the_settings_layer_reserves_only_the_ids_it_is_given() -> None:
    """Settings sit below the engine: the built-in ids come from the caller."""
    custom = [{"id": "refactor", "title": "My refactor", "prompt": "p"}]
    settings, problems = parse_settings({"actions": {"custom": custom}})
    assert problems == [] and [c.id for c in settings.actions.custom] == ["refactor"]


# -- secrets -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        {"claude": {"apiKey": [SECRET]}},
        {"local": {"apiKey": {"value": SECRET}}},
        {"claude": {"apikey": SECRET}},
        {"claude": SECRET},
        {SECRET: SECRET},
        {"claude": {"apiKey": SECRET, "maxParallel": "x", "bogus": SECRET}},
    ],
)
def test_secret_values_never_appear_in_problems(raw: Any) -> None:
    _, problems = parse_settings(raw)
    assert problems
    for p in problems:
        assert SECRET not in p.message
        assert "SECRETSECRET" not in p.message


def test_wrong_type_for_a_secret_hides_its_default() -> None:
    _, problems = parse_settings({"claude": {"apiKey": 42}})
    [problem] = problems
    assert "(hidden)" in problem.message


def test_api_keys_are_read_but_not_in_repr_of_problems() -> None:
    settings, problems = parse_settings({"claude": {"apiKey": SECRET}, "local": {"apiKey": "k"}})
    assert problems == []
    assert settings.claude.api_key == SECRET and settings.local.api_key == "k"


def test_default_claude_model_is_not_deprecated() -> None:
    """The contract promises "a current Sonnet id"; the SDK knows which ids are retiring."""
    deprecated = pytest.importorskip("anthropic._data.deprecated_models").DEPRECATED_MODELS
    assert DEFAULT_CLAUDE_MODEL not in deprecated
