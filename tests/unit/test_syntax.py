"""Offline grammars, error counts and "the definition around the cursor"."""

from __future__ import annotations

import pytest

from ladder_lsp.analysis.definitions import Definitions, enclosing_definition
from ladder_lsp.analysis.indentation import indentation_block
from ladder_lsp.analysis.treesitter import error_count, first_error_line, grammar_for, parse

PYTHON = """\
import functools


class Cart:
    \"\"\"A cart.\"\"\"

    @functools.cache
    @staticmethod
    def total(items):
        def price(item):
            return item.price

        return sum(price(i) for i in items)

    def count(self):
        return 0


x = 1
"""


@pytest.mark.parametrize(
    "language_id",
    ["python", "javascript", "javascriptreact", "typescript", "typescriptreact", "go", "rust"],
)
def test_every_grammar_loads_offline(language_id: str) -> None:
    assert grammar_for(language_id) is not None
    assert grammar_for(language_id) is grammar_for(language_id)  # cached
    tree = parse(language_id, "")
    assert tree is not None


def test_unknown_language_has_no_grammar() -> None:
    assert grammar_for("cobol") is None
    assert parse("cobol", "MOVE A TO B.") is None
    assert error_count("cobol", "MOVE A TO B.") is None


def test_tsx_grammar_parses_jsx_but_typescript_does_not() -> None:
    source = "const a = <div>{x as number}</div>;\n"
    assert error_count("typescriptreact", source) == 0
    assert error_count("typescript", source) > 0


@pytest.mark.parametrize(
    ("language_id", "good", "bad"),
    [
        ("python", "def f():\n    return 1\n", "def f(:\n    return 1\n"),
        ("javascript", "function f() { return 1; }", "function f() { return 1; "),
        ("go", "package p\nfunc f() int { return 1 }\n", "package p\nfunc f() int { return 1\n"),
        ("rust", "fn f() -> i32 { 1 }", "fn f() -> i32 { 1 "),
    ],
)
def test_error_count(language_id: str, good: str, bad: str) -> None:
    assert error_count(language_id, good) == 0
    assert (error_count(language_id, bad) or 0) >= 1


def test_first_error_line() -> None:
    assert first_error_line("javascript", "let a = 1;\nlet b = ;\n") == 1
    assert first_error_line("javascript", "let a = 1;\n") is None


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (10, (9, 11)),  # inside nested def price
        (11, (6, 13)),  # blank line in total: the method, decorators included
        (6, (6, 13)),  # on a decorator
        (12, (6, 13)),
        (15, (14, 16)),  # count
        (4, (3, 16)),  # class docstring
        (18, None),  # module level
        (0, None),
    ],
)
def test_python_definitions(line: int, expected: tuple[int, int] | None) -> None:
    assert enclosing_definition("python", PYTHON, line) == expected


def test_python_with_syntax_error_falls_back_to_tree_sitter() -> None:
    broken = PYTHON.replace("return 0", "return (0")
    assert enclosing_definition("python", broken, 10) == (9, 11)
    assert enclosing_definition("python", broken, 7) == (6, 13)


def test_python_crlf_lines_match_lsp_lines() -> None:
    assert enclosing_definition("python", PYTHON.replace("\n", "\r\n"), 15) == (14, 16)


TYPESCRIPT = """\
import { x } from "y";

/** A service. */
@Injectable()
export class Service {
  // the count
  @Input() count = 0;

  /** Loads. */
  @Memo
  load(id: string): number {
    return id.length;
  }

  handler = (e: Event) => {
    console.log(e);
  };
}

export const add = (a: number, b: number) => {
  return a + b;
};

interface Shape {
  area: number;
}
"""


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (11, (8, 13)),  # method body: JSDoc + decorator attached
        (8, (8, 13)),  # on its doc comment
        (15, (14, 17)),  # arrow function field
        (5, (2, 18)),  # a field line: the class, with its doc and decorator
        (20, (19, 22)),  # exported arrow function
        (24, (23, 26)),  # interface
        (0, None),
    ],
)
def test_typescript_definitions(line: int, expected: tuple[int, int] | None) -> None:
    assert enclosing_definition("typescript", TYPESCRIPT, line) == expected
    assert enclosing_definition("typescriptreact", TYPESCRIPT, line) == expected


def test_javascript_assigned_function_and_method() -> None:
    source = (
        "module.exports.run = function (a) {\n  return a;\n};\n\n"
        "class A {\n  m() {\n    return 1;\n  }\n}\n"
    )
    assert enclosing_definition("javascript", source, 1) == (0, 3)
    assert enclosing_definition("javascript", source, 6) == (5, 8)


GO = """\
package shop

// Total sums prices.
// It ignores discounts.
func Total(items []Item) int {
\tsum := 0
\treturn sum
}

// Item is a line.
type Item struct {
\tPrice int
}

func (i Item) Double() int { return i.Price * 2 }
"""


@pytest.mark.parametrize(
    ("line", "expected"), [(5, (2, 8)), (3, (2, 8)), (11, (9, 13)), (14, (14, 15)), (0, None)]
)
def test_go_definitions(line: int, expected: tuple[int, int] | None) -> None:
    assert enclosing_definition("go", GO, line) == expected


RUST = """\
/// A point.
#[derive(Debug)]
struct P {
    x: i32,
}

impl P {
    /// Doubles.
    #[inline]
    fn double(&self) -> i32 {
        self.x * 2
    }

    fn zero() -> Self { P { x: 0 } }
}
"""


@pytest.mark.parametrize(
    ("line", "expected"),
    [(3, (0, 5)), (0, (0, 5)), (10, (7, 12)), (7, (7, 12)), (12, (6, 15)), (13, (13, 14))],
)
def test_rust_definitions(line: int, expected: tuple[int, int] | None) -> None:
    assert enclosing_definition("rust", RUST, line) == expected


RUBY = """\
class Cart
  def total
    sum = 0
    items.each do |i|
      sum += i
    end

    sum
  end
end

puts 1
puts 2
"""


def test_unknown_language_uses_indentation_block() -> None:
    # The cursor in the method body: the body spans its blank line, the header comes along.
    assert enclosing_definition("ruby", RUBY, 2) == (1, 9)
    assert enclosing_definition("ruby", RUBY, 4) == (3, 6)  # do-block, closed by `end`
    assert enclosing_definition("ruby", RUBY, 1) == (1, 9)  # on the header itself


def test_indentation_block_top_level_is_blank_line_bounded() -> None:
    lines = RUBY.split("\n")
    assert indentation_block(lines, 11) == (11, 13)
    assert indentation_block(lines, 10) == (11, 13)  # blank line: the next paragraph
    assert indentation_block([], 0) is None
    assert indentation_block(["", "  "], 1) is None


def test_definitions_on_big_files() -> None:
    body = "".join(
        f"def f{i}(a, b):\n    if a:\n        return b\n    return a + {i}\n\n\n"
        for i in range(330)
    )  # ~2,000 lines
    assert enclosing_definition("python", body, 998) == (996, 1000)
    assert enclosing_definition("python", body, 1000) is None  # blank line between defs
    assert enclosing_definition("javascript", body.replace("def ", "// "), 998) is None
    assert indentation_block(body.split("\n"), 999) == (996, 1000)
    assert indentation_block(body.split("\n"), 998) == (997, 999)  # the `if` and its body


@pytest.mark.parametrize(
    ("language_id", "text"),
    [("python", PYTHON), ("python", PYTHON + "(\n"), ("typescript", TYPESCRIPT), ("go", GO)],
    ids=["python-ast", "python-tree-sitter", "typescript", "go"],
)
def test_definitions_index_matches_one_shot_lookups(language_id: str, text: str) -> None:
    index = Definitions(language_id, text)
    for line in range(-1, text.count("\n") + 2):
        assert index.enclosing(line) == enclosing_definition(language_id, text, line)
    assert index.enclosing(-1) is None


def test_definitions_index_answers_lines_without_reparsing() -> None:
    body = "".join(f"def f{i}(a):\n    return a + {i}\n\n\n" for i in range(1500))  # 6,000 lines
    index = Definitions("python", body)
    found = [index.enclosing(line) for line in range(0, 6000, 60)]
    assert found[1] == (60, 62)
    assert found[0] == (0, 2)
