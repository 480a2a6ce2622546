"""Where the `tests` action writes, and how generated tests join an existing test file."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from ladder_lsp.pipeline.testfile import merge_generated, plan_for


@pytest.mark.parametrize(
    ("source", "language", "expected"),
    [
        ("/p/cart.py", "python", "/p/test_cart.py"),
        ("/p/cart.go", "go", "/p/cart_test.go"),
        ("/p/cart.ts", "typescript", "/p/cart.test.ts"),
        ("/p/cart.jsx", "javascriptreact", "/p/cart.test.jsx"),
        ("/p/cart.rs", "rust", "/p/cart_tests.rs"),
        ("/p/Cart.rb", "ruby", "/p/test_Cart.rb"),
    ],
)
def test_test_file_sits_next_to_the_source(source: str, language: str, expected: str) -> None:
    assert plan_for(Path(source), language).path == Path(expected)


def test_python_import_hint_follows_packages(tmp_path: Path) -> None:
    pkg = tmp_path / "src" / "shop" / "billing"
    pkg.mkdir(parents=True)
    (tmp_path / "src" / "shop" / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    plan = plan_for(pkg / "cart.py", "python")
    assert plan.import_hint.startswith("import shop.billing.cart ")
    assert plan_for(tmp_path / "loose.py", "python").import_hint.startswith("import loose ")


def test_js_import_hint_is_relative() -> None:
    assert plan_for(Path("/p/cart.ts"), "typescript").import_hint == "import from './cart'"


EXISTING = """\
import pytest

from shop.cart import Cart


def test_empty():
    assert Cart().total == 0
"""


def test_new_file_gets_the_generated_code_as_is() -> None:
    generated = "from __future__ import annotations\nimport pytest\n\n\ndef test_x():\n    pass\n"
    assert merge_generated("", generated) == generated


def test_imports_already_present_are_dropped_and_the_rest_appended() -> None:
    generated = (
        "import pytest\nfrom shop.cart import Cart\nimport math\n\n\n"
        "def test_total():\n    import pytest\n    assert Cart().total == 0\n"
    )
    insert = merge_generated(EXISTING, generated)
    assert insert.startswith("\n\n")
    assert "import math" in insert
    assert insert.count("import pytest") == 1  # only the indented one inside the test
    assert "from shop.cart import Cart" not in insert
    ast.parse(EXISTING + insert)


def test_missing_final_newline_is_added_before_appending() -> None:
    insert = merge_generated(EXISTING.rstrip("\n"), "def test_y():\n    pass\n")
    assert insert == "\n\n\ndef test_y():\n    pass\n"


def test_multi_line_import_is_kept_or_dropped_whole() -> None:
    existing = "from shop.cart import (\n    Cart,\n    Item,\n)\n\n\ndef test_a():\n    pass\n"
    same = "from shop.cart import (\n    Cart,\n    Item,\n)\n\n\ndef test_b():\n    pass\n"
    insert = merge_generated(existing, same)
    assert "Item" not in insert
    ast.parse(existing + insert)
    different = same.replace("Item", "Discount").replace("test_b", "test_c")
    insert = merge_generated(existing, different)
    assert "from shop.cart import (\n    Cart,\n    Discount,\n)" in insert
    ast.parse(existing + insert)


def test_future_import_is_not_appended_below_code() -> None:
    generated = "from __future__ import annotations\n\n\ndef test_z() -> None:\n    pass\n"
    insert = merge_generated(EXISTING, generated)
    assert "__future__" not in insert
    ast.parse(EXISTING + insert)


def test_go_package_clause_is_not_repeated() -> None:
    existing = 'package cart\n\nimport "testing"\n\nfunc TestA(t *testing.T) {}\n'
    generated = 'package cart\n\nimport "testing"\n\nfunc TestB(t *testing.T) {}\n'
    insert = merge_generated(existing, generated)
    assert "package cart" not in insert and 'import "testing"' not in insert
    assert "func TestB" in insert


def test_js_multi_line_import_duplicate_is_dropped() -> None:
    existing = "import {\n  add,\n  sub,\n} from './math';\n\ntest('a', () => {});\n"
    generated = "import {\n  add,\n  sub,\n} from './math';\n\ntest('b', () => {});\n"
    insert = merge_generated(existing, generated)
    assert "from './math'" not in insert and "test('b'" in insert
