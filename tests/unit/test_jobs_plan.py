"""Job plans: their shape, their placement in the workspace, and the planners' output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ladder_lsp.engine.jobs.plan import PlanError, parse_plan, resolve
from ladder_lsp.engine.jobs.planners import builtin_plan, plan_from_answer
from ladder_lsp.engine.jobs.scope import ScopeError, files_in_scope, outline_of
from tests.e2e.job_workspace import FILES, PLAN, make_workspace


def read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    return make_workspace(tmp_path)


def unit(**fields: Any) -> dict[str, Any]:
    return {"id": "u", "path": "shop/tax.py", "action": "docstring", **fields}


def plan_of(*units: dict[str, Any]) -> dict[str, Any]:
    return {"goal": "g", "units": list(units)}


def test_a_plan_round_trips_through_json(ws: Path) -> None:
    plan = parse_plan(PLAN)
    assert parse_plan(json.loads(json.dumps(plan.to_json()))) == plan
    placed = resolve(plan, ws, read)
    spans = {(r.unit.symbol, r.start, r.end) for r in placed}
    assert ("Cart.total", 1, 6) in spans and ("net", 4, 6) in spans


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "a plan is a JSON object"),
        ({"goal": "g", "units": []}, 'non-empty list "units"'),
        (plan_of(unit(action="rewrite")), "unit 'u': action must be one of"),
        (plan_of(unit(path="")), "unit 'u': needs a path"),
        (plan_of(unit(symbol="tax", lines=[1, 2])), "unit 'u': give symbol or lines, not both"),
        (plan_of(unit(lines=[3, 1])), "unit 'u': lines must be [first, last]"),
        (plan_of(unit(action="edit")), "unit 'u': an edit unit needs an instruction"),
        (plan_of(unit(dependsOn="x")), "unit 'u': dependsOn must be a list"),
        (plan_of(unit(), unit()), "unit 'u': the id is used twice"),
    ],
)
def test_a_malformed_plan_says_which_unit(data: Any, message: str) -> None:
    with pytest.raises(PlanError, match=message.replace("[", r"\[").replace("(", r"\(")):
        parse_plan(data)


@pytest.mark.parametrize(
    ("units", "message"),
    [
        ([unit(symbol="taxes")], "unit 'u': no symbol 'taxes' in shop/tax.py (it has: tax, net)"),
        ([unit(path="/etc/passwd")], "unit 'u': path '/etc/passwd' must be relative"),
        ([unit(path="../x.py")], "unit 'u': path '../x.py' is outside the workspace"),
        ([unit(path="shop/none.py")], "unit 'u': shop/none.py does not exist"),
        ([unit(lines=[1, 99])], "unit 'u': lines 1-99 are outside shop/tax.py (1-6)"),
        ([unit(action="tests")], "unit 'u': tests units are not supported in jobs yet"),
        (
            [unit(id="a", symbol="tax"), unit(id="b", lines=[2, 5])],
            "unit 'b' overlaps unit 'a' in shop/tax.py",
        ),
        ([unit(dependsOn=["ghost"])], "unit 'u': depends on unknown unit 'ghost'"),
        (
            [
                unit(id="a", symbol="tax", dependsOn=["c"]),
                unit(id="b", symbol="net", dependsOn=["a"]),
                unit(id="c", path="shop/util.py", symbol="slug", dependsOn=["b"]),
            ],
            "dependsOn makes a cycle: a -> c -> b -> a",
        ),
    ],
)
def test_a_plan_that_does_not_fit_the_workspace_names_the_unit(
    ws: Path, units: list[dict[str, Any]], message: str
) -> None:
    with pytest.raises(PlanError) as caught:
        resolve(parse_plan(plan_of(*units)), ws, read)
    assert message in str(caught.value)


def test_the_docstring_verb_needs_no_model(ws: Path) -> None:
    (ws / "shop/tax.py").write_text(
        'def tax(a):\n    """Has one."""\n    return a\n\n\ndef _private(a):\n    return a\n'
    )
    files = files_in_scope(ws, ["shop"])
    plan = builtin_plan("Add docstrings to every public function without one", ws, files, read)
    assert plan is not None
    assert [u.id for u in plan.units] == [
        "shop/cart.py:Cart.total", "shop/cart.py:Cart.count", "shop/util.py:clamp",
        "shop/util.py:slug",
    ]  # fmt: skip
    assert builtin_plan("rename x to y", ws, files, read) is None


def test_the_scope_takes_folders_and_globs_inside_the_workspace(ws: Path) -> None:
    assert files_in_scope(ws, ["shop/t*.py"]) == [ws / "shop/tax.py"]
    assert len(files_in_scope(ws, [])) == len(FILES)
    with pytest.raises(ScopeError, match="'nothing/' matches no file"):
        files_in_scope(ws, ["nothing/"])


def test_the_outline_shows_local_only_files_by_path_alone(ws: Path) -> None:
    files = files_in_scope(ws, [])
    out = outline_of(ws, files, read, ["**/util.py"])
    util = next(e for e in out if e["path"] == "shop/util.py")
    assert util == {"path": "shop/util.py", "localOnly": True}
    tax = next(e for e in out if e["path"] == "shop/tax.py")
    assert tax["definitions"][0] == {
        "name": "tax", "signature": "def tax(amount, rate=0.2)", "lines": [1, 2],
        "docstring": False,
    }  # fmt: skip
    assert "return" not in json.dumps(out), "no code in the outline"


def test_a_planner_answer_is_read_from_a_fence_or_bare() -> None:
    body = json.dumps({"units": [unit()]})
    assert plan_from_answer(f"Here:\n```json\n{body}\n```", "do it").goal == "do it"
    assert len(plan_from_answer(body, "x").units) == 1
    with pytest.raises(PlanError, match="not a plan"):
        plan_from_answer("I cannot plan this.", "x")
    with pytest.raises(PlanError, match="unit 'u': action must be one of"):
        plan_from_answer(json.dumps({"units": [unit(action="nap")]}), "x")
