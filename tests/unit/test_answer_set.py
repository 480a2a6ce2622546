"""The labelled answer set, measured through the pipeline every run goes through.

`tests/fixtures/answers/measure.py` replays each labelled answer as the local model's reply
(the fake LM Studio, over HTTP) into `engine.Engine.run`, one attempt per case. These tests hold
the figures it measures (the README quotes them) and keep `REPORT.md` in step with them.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.fixtures.answers.measure import (
    COMMAND,
    REPORT,
    Verdict,
    figures,
    judge,
    load_cases,
    measure,
    misses,
    report,
    summary,
)

__all__ = ["judge"]  # the guards' unit tests judge single cases with it

# What the pipeline measures today; a change that lowers the first or raises the second fails.
MIN_CAUGHT = 0.957  # 112 of 117 bad answers
MAX_WRONGLY_REJECTED = 0.0  # 0 of 37 good answers


@pytest.fixture(scope="module")
def cases() -> list[dict[str, Any]]:
    return load_cases()


@pytest.fixture(scope="module")
def verdicts(cases: list[dict[str, Any]]) -> list[Verdict]:
    return asyncio.run(measure(cases))


def test_cases_are_well_formed(cases: list[dict[str, Any]]) -> None:
    assert len(cases) >= 40
    ids = [c["id"] for c in cases]
    assert len(ids) == len(set(ids))
    for case in cases:
        assert case["label"] in ("good", "bad"), case["id"]
        assert case["why"].strip(), case["id"]
        assert case["action"] in ("docstring", "refactor", "fix", "tests") or case.get(
            "custom_prompt"
        ), case["id"]
    assert sum(1 for c in cases if c["label"] == "good") >= 20
    assert sum(1 for c in cases if c.get("origin", "hand") != "hand") >= 20


def test_bad_answers_are_caught_and_good_ones_kept(verdicts: list[Verdict]) -> None:
    f = figures(verdicts)
    wrong = "\n".join(misses(verdicts))
    assert f.caught_rate >= MIN_CAUGHT, (
        f"{f.caught} of {f.bad} bad answers caught; every miss:\n{wrong}"
    )
    assert f.wrongly_rejected_rate <= MAX_WRONGLY_REJECTED, (
        f"{f.wrongly_rejected} of {f.good} good answers rejected; every miss:\n{wrong}"
    )


def test_bad_answers_are_rejected_for_the_labelled_reason(verdicts: list[Verdict]) -> None:
    """A bad case with `expect` is caught for that reason, not by luck."""
    wrong = [
        f"{v.case['id']}: expected {v.case['expect']!r}, got {list(v.reasons)}"
        for v in verdicts
        if v.case["label"] == "bad"
        and v.case.get("expect")
        and not any(v.case["expect"] in reason for reason in v.reasons)
    ]
    assert not wrong, "\n".join(wrong)


def test_the_guards_catch_what_the_common_checks_alone_miss(verdicts: list[Verdict]) -> None:
    bad = [v for v in verdicts if v.case["label"] == "bad"]
    assert sum(1 for v in bad if v.rejected) > sum(1 for v in bad if v.baseline)


def test_report_is_current(verdicts: list[Verdict]) -> None:
    text = report(verdicts)
    current = REPORT.read_text(encoding="utf-8") if REPORT.exists() else ""
    assert current == text, f"REPORT.md is stale: run `{COMMAND}`\n\n{summary(text)}"
