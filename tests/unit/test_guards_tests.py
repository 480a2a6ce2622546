"""Tests-action guards: imports the module under test, adds a test that uses the target;
running the tests is opt-in (`checks.runTests`) and happens in a subprocess with a timeout."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from ladder_lsp.pipeline.checks import tests as guards_tests
from ladder_lsp.pipeline.checks.context import CheckContext
from ladder_lsp.pipeline.checks.runner import run_checks
from ladder_lsp.settings import parse_settings
from ladder_lsp.settings_schema import settings_schema

SOURCE = "import math\n\n\ndef area(r):\n    return math.pi * r * r\n"


def ctx(
    test_code: str,
    *,
    existing: str = "",
    source_path: str = "/project/geometry.py",
    source_code: str = SOURCE,
    language: str = "python",
) -> CheckContext:
    return CheckContext(
        action="tests",
        language=language,
        old_document=existing,
        new_document=existing + test_code,
        old_block="",
        new_block=test_code,
        source_path=source_path,
        source_code=source_code,
    )


GOOD = "from geometry import area\n\n\ndef test_unit_circle():\n    assert area(1) > 3\n"


def test_good_tests_pass() -> None:
    assert run_checks(ctx(GOOD)) == []


@pytest.mark.parametrize(
    "imports",
    [
        "import geometry",
        "import geometry as g",
        "from geometry import area",
        "from geometry import *",
    ],
)
def test_accepted_imports_of_a_top_level_module(imports: str) -> None:
    tree = ast.parse(imports)
    assert guards_tests.imports_module(tree, "geometry", "geometry")


def test_imports_inside_a_package(tmp_path: Path) -> None:
    package = tmp_path / "src" / "shop" / "billing"
    package.mkdir(parents=True)
    (tmp_path / "src" / "shop" / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    source = package / "cart.py"
    dotted, stem = guards_tests.python_module(str(source))
    assert (dotted, stem) == ("shop.billing.cart", "cart")
    for good in (
        "from shop.billing.cart import Cart",
        "import shop.billing.cart",
        "from shop.billing import cart",
        "from .cart import Cart",
        "from . import cart",
        "import cart",  # the bare module name: works when the directory is on sys.path
    ):
        assert guards_tests.imports_module(ast.parse(good), dotted, stem), good
    for bad in ("import shop", "from shop import billing", "from .other import cart"):
        assert not guards_tests.imports_module(ast.parse(bad), dotted, stem), bad


def test_tests_that_do_not_import_the_module() -> None:
    code = SOURCE + "\n\ndef test_a():\n    assert area(1)\n"
    assert run_checks(ctx(code)) == ["the tests do not import the code under test (`geometry`)"]


def test_no_test_function() -> None:
    code = "from geometry import area\n\n\ndef check_area():\n    assert area(1)\n"
    assert run_checks(ctx(code)) == ["no test function (`test_…`) was added"]


def test_tests_that_never_use_the_target() -> None:
    code = "import math\n\nimport geometry\n\n\ndef test_pi():\n    assert math.pi > 3\n"
    assert run_checks(ctx(code)) == ["no test uses `area`"]


def test_methods_of_test_classes_and_attribute_use_count() -> None:
    source = "class Cart:\n    def total(self):\n        return 0\n"
    code = (
        "import cart\n\n\nclass TestCart:\n    def test_total(self):\n"
        "        assert cart.Cart().total() == 0\n"
    )
    assert run_checks(ctx(code, source_path="/p/cart.py", source_code=source)) == []


def test_only_new_tests_count_when_extending_a_file() -> None:
    existing = GOOD
    added = "\n\ndef test_pi():\n    assert 3 < 4\n"
    assert run_checks(ctx(added, existing=existing)) == ["no test uses `area`"]
    added = "\n\ndef test_zero():\n    assert area(0) == 0\n"
    assert run_checks(ctx(added, existing=existing)) == []


def test_syntax_errors_are_left_to_the_syntax_check() -> None:
    reasons = run_checks(ctx("from geometry import area\n\ndef test_a(\n"))
    assert len(reasons) == 1 and reasons[0].startswith("syntax error")


def test_a_partial_selection_without_definitions_skips_the_reference_check() -> None:
    code = "from geometry import area\n\n\ndef test_a():\n    assert 1\n"
    assert run_checks(ctx(code, source_code="    return math.pi * r * r\n")) == []


def test_javascript_and_go() -> None:
    js_source = "export function add(a, b) {\n  return a + b;\n}\n"
    good = (
        "import { add } from './mathx';\n\n"
        "test('adds', () => {\n  expect(add(1, 2)).toBe(3);\n});\n"
    )
    base = {"source_path": "/p/src/mathx.js", "source_code": js_source, "language": "javascript"}
    assert run_checks(ctx(good, **base)) == []  # type: ignore[arg-type]
    no_import = "test('adds', () => {\n  expect(add(1, 2)).toBe(3);\n});\n"
    assert run_checks(ctx(no_import, **base)) == [  # type: ignore[arg-type]
        "the tests do not import the code under test (`./mathx`)"
    ]
    go_source = "func Add(a, b int) int {\n\treturn a + b\n}\n"
    go_test = (
        'package mathx\n\nimport "testing"\n\n'
        "func TestAdd(t *testing.T) {\n\tif Add(1, 2) != 3 {\n\t\tt.Fail()\n\t}\n}\n"
    )
    go = {"source_path": "/p/add.go", "source_code": go_source, "language": "go"}
    assert run_checks(ctx(go_test, **go)) == []  # type: ignore[arg-type]
    assert run_checks(ctx(go_test.replace("Add(1, 2)", "1+2"), **go)) == [  # type: ignore[arg-type]
        "no test uses `Add`"
    ]


# --- running the tests (opt-in) -------------------------------------------------------


def test_the_setting_is_off_by_default_and_in_the_schema() -> None:
    settings, problems = parse_settings({})
    assert settings.checks.run_tests is False
    assert settings.checks.timeout_seconds == 60.0
    settings, problems = parse_settings({"checks": {"runTests": True, "testTimeoutSeconds": 5}})
    assert problems == [] and settings.checks.run_tests and settings.checks.timeout_seconds == 5
    _, problems = parse_settings({"checks": {"runTests": "yes"}})
    assert [p.path for p in problems] == ["checks.runTests"]
    schema = settings_schema()
    assert schema["ladder.checks.runTests"]["default"] is False
    assert schema["ladder.checks.testTimeoutSeconds"]["minimum"] == 1
    on_disk = Path(__file__).resolve().parents[2] / "client-vscode" / "settings.schema.json"
    assert '"ladder.checks.runTests"' in on_disk.read_text(encoding="utf-8")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "geometry.py").write_text(SOURCE, encoding="utf-8")
    return tmp_path


async def test_run_pytest_passes_and_leaves_nothing_behind(project: Path) -> None:
    reason = await guards_tests.run_pytest(GOOD, project / "test_geometry.py", 60)
    assert reason is None
    assert sorted(p.name for p in project.iterdir() if p.suffix == ".py") == ["geometry.py"]


async def test_run_pytest_reports_failures(project: Path) -> None:
    failing = "from geometry import area\n\n\ndef test_wrong():\n    assert area(1) == 3\n"
    reason = await guards_tests.run_pytest(failing, project / "test_geometry.py", 60)
    assert reason is not None and reason.startswith("the generated tests fail (1 failed")


async def test_run_pytest_times_out(project: Path) -> None:
    slow = "import time\n\n\ndef test_slow():\n    time.sleep(30)\n"
    reason = await guards_tests.run_pytest(slow, project / "test_geometry.py", 3)
    assert reason == "the generated tests did not finish within 3 s"
    assert not [p for p in project.iterdir() if p.name.startswith("test_ladder_")]


def test_pytest_verdicts() -> None:
    assert guards_tests._pytest_verdict(0, "1 passed") is None
    assert guards_tests._pytest_verdict(5, "no tests ran") == "the generated tests collect no test"
    assert guards_tests._pytest_verdict(2, "== 1 error in 0.1s ==") == (
        "the generated tests could not run (1 error in 0.1s)"
    )
    assert sys.executable  # the subprocess uses the server's own interpreter
