"""The labelled answer set: real and hand-written model answers through the real pipeline.

Every case in `tests/fixtures/answers/cases/*.json` is one model answer to one action on one
small document, labelled `good` or `bad` by a human with a `why`. Each runs exactly as in
`jobs.Engine._finish` / `_finish_tests`: `answer.extract_code` → `edits.make_target` /
`build_block` (or `testfile.merge_generated`) → `checks.run_checks`. The report (cases, bad
answers caught, good answers wrongly rejected, reasons, misses) is printed and written to
`tests/fixtures/answers/REPORT.md`.
"""

from __future__ import annotations

import collections
import json
import re
from pathlib import Path
from typing import Any

import attrs
import pytest

from ladder_lsp import checks
from ladder_lsp.answer import extract_code
from ladder_lsp.checks import CheckContext, run_checks
from ladder_lsp.edits import build_block, make_target, minimal_edits, split_lines
from ladder_lsp.testfile import merge_generated, plan_for

ANSWERS = Path(__file__).resolve().parents[1] / "fixtures" / "answers"
CASES = ANSWERS / "cases"
REPORT = ANSWERS / "REPORT.md"
MIN_CAUGHT = 0.95
MAX_WRONGLY_REJECTED = 0.05
UNCHANGED = "the model returned the code unchanged"


@attrs.frozen
class Verdict:
    case: dict[str, Any]
    reasons: tuple[str, ...]
    baseline: tuple[str, ...] = ()  # the reasons without the per-action guards

    @property
    def rejected(self) -> bool:
        return bool(self.reasons)

    @property
    def correct(self) -> bool:
        return self.rejected == (self.case["label"] == "bad")


def load_cases() -> list[dict[str, Any]]:
    cases = []
    for path in sorted(CASES.glob("*.json")):
        case = json.loads(path.read_text(encoding="utf-8"))
        case.setdefault("id", path.stem)
        cases.append(case)
    return cases


def judge(case: dict[str, Any]) -> tuple[str, ...]:
    """The reasons the pipeline rejects the answer with; () when the edit would land."""
    language = case["language"]
    path = case.get("path", "/project/module.py")
    lines = split_lines(case["source"])
    first, last = case["lines"]
    target = make_target(path, None, lines, (first - 1, 0), (last, 0))
    extracted = extract_code(case["answer"], language=language, original=target.selected_text)
    if extracted.code is None:
        return (extracted.reason or "the answer contains no code",)
    finish = case.get("finish_reason", "stop")
    if case["action"] == "tests":
        existing = case.get("existing_tests")
        insert = merge_generated(existing or "", extracted.code)
        plan_for(Path(path), language)  # as the engine does; the path is Ladder's own choice
        ctx = CheckContext(
            action="tests",
            language=language,
            old_document=existing or "",
            new_document=(existing or "") + insert,
            old_block="",
            new_block=insert,
            finish_reason=finish,
            source_path=path,
            source_code=target.selected_text,
        )
        return tuple(run_checks(ctx))
    new_block = build_block(target, extracted.code)
    old_block = target.lines[target.start_line : target.end_line]
    ctx = CheckContext(
        action=case["action"],
        language=language,
        old_document="".join(target.lines),
        new_document="".join(
            (*target.lines[: target.start_line], *new_block, *target.lines[target.end_line :])
        ),
        old_block="".join(old_block),
        new_block="".join(new_block),
        finish_reason=finish,
        diagnostics=tuple(case.get("diagnostics", ())),
        source_path=path,
        custom_prompt=case.get("custom_prompt", ""),
    )
    reasons = run_checks(ctx)
    if not reasons and not minimal_edits(old_block, new_block, target.start_line):
        reasons = [UNCHANGED]
    return tuple(reasons)


def judge_without_guards(case: dict[str, Any]) -> tuple[str, ...]:
    """The same run with only the common checks (what Ladder did before the guards)."""
    saved = dict(checks._REGISTRY)
    checks._REGISTRY.clear()
    checks._REGISTRY[None] = saved[None]
    try:
        return judge(case)
    finally:
        checks._REGISTRY.clear()
        checks._REGISTRY.update(saved)


def _category(reason: str) -> str:
    """A reason without its specifics (names, lines, counts), for the per-reason table."""
    text = reason.split(": ", 1)[0]
    text = re.sub(r"`[^`]*`", "`…`", text)
    text = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", text)
    text = re.sub(r"\(.*\)", "(…)", text)
    return re.sub(r"\d+", "N", text)


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "n/a"


def report(verdicts: list[Verdict]) -> tuple[str, float, float]:
    bad = [v for v in verdicts if v.case["label"] == "bad"]
    good = [v for v in verdicts if v.case["label"] == "good"]
    caught = [v for v in bad if v.rejected]
    wrongly = [v for v in good if v.rejected]
    caught_rate = len(caught) / len(bad) if bad else 1.0
    wrong_rate = len(wrongly) / len(good) if good else 0.0
    out = [
        "# Answer set: how the guards judge real and hand-written answers",
        "",
        "Generated by `tests/unit/test_answer_set.py` (do not edit by hand). Each case in",
        "`cases/` is one model answer, labelled good or bad by a human, run through the real",
        "pipeline: `extract_code` → `make_target`/`build_block` → `run_checks`.",
        "",
        "| | cases | bad | caught | good | wrongly rejected |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    groups: dict[str, list[Verdict]] = collections.defaultdict(list)
    for verdict in verdicts:
        origin = "hand-written" if verdict.case.get("origin", "hand") == "hand" else "real model"
        groups[origin].append(verdict)
        groups[f"action: {verdict.case['action']}"].append(verdict)
    rows = [("**all**", verdicts), *sorted(groups.items())]
    for name, items in rows:
        b = [v for v in items if v.case["label"] == "bad"]
        g = [v for v in items if v.case["label"] == "good"]
        c = sum(1 for v in b if v.rejected)
        w = sum(1 for v in g if v.rejected)
        out.append(
            f"| {name} | {len(items)} | {len(b)} | {c} ({_percent(c, len(b))}) | {len(g)} "
            f"| {w} ({_percent(w, len(g))}) |"
        )
    before = sum(1 for v in bad if v.baseline)
    before_wrong = sum(1 for v in good if v.baseline)
    out += [
        "",
        f"Without the per-action guards (extraction and the common checks only): "
        f"{before} of {len(bad)} bad answers caught ({_percent(before, len(bad))}), "
        f"{before_wrong} of {len(good)} good answers rejected.",
    ]
    out += [
        "",
        f"Targets: ≥ {MIN_CAUGHT:.0%} of bad answers caught, ≤ {MAX_WRONGLY_REJECTED:.0%} of good "
        "answers rejected.",
        "",
        "## Reasons given (bad answers caught)",
        "",
        "| reason | count |",
        "|---|---:|",
    ]
    counts = collections.Counter(
        _category(part) for v in caught for reason in v.reasons for part in reason.split("; ")
    )
    out += [f"| {reason} | {count} |" for reason, count in counts.most_common()]
    out += ["", "## Misses", ""]
    misses = [v for v in verdicts if not v.correct]
    if not misses:
        out.append("None.")
    for verdict in misses:
        what = "bad answer accepted" if verdict.case["label"] == "bad" else "good answer rejected"
        detail = "; ".join(verdict.reasons) if verdict.reasons else "no reason"
        out.append(f"- `{verdict.case['id']}` ({what}): {verdict.case['why']} — {detail}")
    out += ["", "## Every case", "", "| case | label | verdict | reasons |", "|---|---|---|---|"]
    for verdict in verdicts:
        state = "rejected" if verdict.rejected else "accepted"
        reasons = "; ".join(verdict.reasons).replace("|", "\\|")
        out.append(f"| `{verdict.case['id']}` | {verdict.case['label']} | {state} | {reasons} |")
    return "\n".join(out) + "\n", caught_rate, wrong_rate


def test_cases_are_well_formed() -> None:
    cases = load_cases()
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


def test_answer_set(capsys: pytest.CaptureFixture[str]) -> None:
    verdicts = [Verdict(case, judge(case), judge_without_guards(case)) for case in load_cases()]
    text, caught, wrongly = report(verdicts)
    if not REPORT.exists() or REPORT.read_text(encoding="utf-8") != text:
        REPORT.write_text(text, encoding="utf-8")
    summary = text.split("## Every case")[0]
    with capsys.disabled():
        print("\n" + summary)
    for verdict in verdicts:
        expect = verdict.case.get("expect")
        if expect and verdict.case["label"] == "bad":
            assert any(expect in reason for reason in verdict.reasons), (
                verdict.case["id"],
                verdict.reasons,
            )
    assert caught >= MIN_CAUGHT, summary
    assert wrongly <= MAX_WRONGLY_REJECTED, summary
