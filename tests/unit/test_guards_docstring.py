"""Docstring guards: only documentation may change, and some must be added or improved."""

from __future__ import annotations

from typing import Any

import pytest

from ladder_lsp.pipeline.checks import docstring
from ladder_lsp.pipeline.checks.context import CheckContext
from ladder_lsp.pipeline.checks.runner import run_checks
from tests.unit.test_answer_set import judge

FENCE = "```"


def run(
    source: str, lines: tuple[int, int], answer: str, language: str = "python", **extra: Any
) -> tuple[str, ...]:
    """The reasons the real pipeline gives (extract → build_block → run_checks)."""
    case = {
        "action": extra.pop("action", "docstring"),
        "language": language,
        "source": source,
        "lines": list(lines),
        "answer": f"{FENCE}{language}\n{answer}{FENCE}",
        **extra,
    }
    return judge(case)


# --- the real failure from the issue --------------------------------------------------

ISSUE_AREA = "def area(r):\n    return 3.14159*r*r\n"


def test_issue_area_answer_is_rejected_with_both_reasons() -> None:
    """SmolLM2 answered the docstring request with `r ** 2` and no docstring."""
    reasons = run(ISSUE_AREA, (1, 2), "def area(r):\n    return 3.14159*r**2\n")
    assert reasons == ("changed code while adding a docstring: line 2", "no docstring was added")


def test_issue_area_one_liner_is_rejected() -> None:
    reasons = run("def area(r): return 3.14159*r*r\n", (1, 1), "def area(r): return 3.14159*r**2\n")
    assert "changed code while adding a docstring: line 1" in reasons


def test_a_real_docstring_passes() -> None:
    answer = 'def area(r):\n    """Area of a circle of radius `r`."""\n    return 3.14159*r*r\n'
    assert run(ISSUE_AREA, (1, 2), answer) == ()


# --- Python ---------------------------------------------------------------------------

MODULE = '''import math


class Shape:
    """A shape."""

    sides = 0

    def area(self):
        return 0

    @property
    def name(self):
        return type(self).__name__


def circle(r):
    """Area."""
    return math.pi * r * r
'''


def test_formatting_and_quotes_do_not_count_as_code_changes() -> None:
    answer = (
        '    def area(self):\n        """The area (0 for the abstract shape)."""\n'
        "        return (\n            0\n        )\n"
    )
    assert run(MODULE, (9, 10), answer) == ()


def test_the_first_changed_line_is_reported_in_document_lines() -> None:
    answer = '    def area(self):\n        """Zero."""\n        return 1\n'
    reasons = run(MODULE, (9, 10), answer)
    assert reasons[0] == "changed code while adding a docstring: line 11"


def test_improving_an_existing_docstring_counts() -> None:
    answer = (
        'def circle(r):\n    """Area of a circle of radius `r`."""\n    return math.pi * r * r\n'
    )
    assert run(MODULE, (17, 19), answer) == ()


def test_reflowing_a_docstring_is_not_an_improvement() -> None:
    answer = 'def circle(r):\n    """\n    Area.\n    """\n    return math.pi * r * r\n'
    assert run(MODULE, (17, 19), answer) == ("no docstring was added",)


def test_removing_the_docstring_is_reported() -> None:
    answer = "def circle(r):\n    # Area.\n    return math.pi * r * r\n"
    assert run(MODULE, (17, 19), answer) == ("removed a docstring without adding one",)


def test_a_comment_is_not_a_docstring() -> None:
    answer = "    def area(self):\n        # Zero for the abstract shape.\n        return 0\n"
    assert run(MODULE, (9, 10), answer) == ("no docstring was added",)


def test_a_string_above_the_def_is_code_not_a_docstring() -> None:
    answer = (
        '"""Area of a circle."""\ndef circle(r):\n    """Area."""\n    return math.pi * r * r\n'
    )
    reasons = run(MODULE, (17, 19), answer)
    assert reasons[0].startswith("changed code while adding a docstring: line 17")


def test_a_string_after_other_class_members_is_not_the_class_docstring() -> None:
    # `sides = 0` sits between the class header and the method: the unit keeps that order.
    answer = '    def area(self):\n        """Zero."""\n        return 0\n'
    assert run(MODULE, (9, 10), answer) == ()


def test_dropping_a_decorator_is_a_code_change() -> None:
    answer = (
        '    def name(self):\n        """The class name."""\n        return type(self).__name__\n'
    )
    reasons = run(MODULE, (12, 14), answer)
    assert any(r.startswith("changed code while adding a docstring") for r in reasons)


def test_unchanged_answer_keeps_its_own_single_reason() -> None:
    """The engine turns exactly this reason into a "no change" outcome."""
    assert run(ISSUE_AREA, (1, 2), ISSUE_AREA) == ("the model returned the code unchanged",)


def test_crlf_documents() -> None:
    source = ISSUE_AREA.replace("\n", "\r\n")
    good = 'def area(r):\n    """Area."""\n    return 3.14159*r*r\n'
    assert run(source, (1, 2), good) == ()
    reasons = run(source, (1, 2), "def area(r):\n    return 3.14159*r**2\n")
    assert reasons[0] == "changed code while adding a docstring: line 2"


# --- other languages ------------------------------------------------------------------

JS = "const x = 1;\n\nfunction add(a, b) {\n  return a + b;\n}\n"


def test_javascript_doc_comment_passes() -> None:
    answer = "/** Add two numbers. */\nfunction add(a, b) {\n  return a + b;\n}\n"
    assert run(JS, (3, 5), answer, "javascript") == ()


def test_javascript_code_change_names_the_line() -> None:
    answer = "/** Add. */\nfunction add(a, b = 0) {\n  return a + b;\n}\n"
    assert run(JS, (3, 5), answer, "javascript") == (
        "changed code while adding a doc comment: line 4",
    )


def test_javascript_without_a_comment() -> None:
    answer = "function add(a, b) {\n  return a+b;\n}\n"  # spacing only
    assert run(JS, (3, 5), answer, "javascript") == ("no doc comment was added",)


GO = "func Add(a int) int {\n\treturn a\n}\n"
RUST = "fn one() -> i32 {\n    1\n}\n"
TS = "function f(): number {\n  return 1;\n}\n"


@pytest.mark.parametrize(
    ("language", "source", "answer"),
    [
        ("go", GO, "// Add is identity.\n" + GO),
        ("rust", RUST, "/// One.\n" + RUST),
        ("typescript", TS, "/** One. */\n" + TS),
    ],
)
def test_other_languages_doc_comments(language: str, source: str, answer: str) -> None:
    assert run(source, (1, 3), answer, language) == ()


def test_languages_without_grammar_compare_non_comment_lines() -> None:
    source = "proc add(a, b)\n  a + b\nend\n"
    assert run(source, (1, 3), "# Adds.\nproc add(a, b)\n  a + b\nend\n", "cobol") == ()
    reasons = run(source, (1, 3), "# Adds.\nproc add(a, b)\n  a - b\nend\n", "cobol")
    assert reasons == ("changed code while adding a doc comment: line 3",)


# --- custom comment-only actions ------------------------------------------------------


@pytest.mark.parametrize(
    ("prompt", "comment_only"),
    [
        ("Add explanatory comments to {code}", True),
        ("Write Google-style docstrings for {code}", True),
        ("Document this function", True),
        ("Translate the comments to English", True),
        ("Add type hints to {code}", False),
        ("Refactor and add comments", False),
        ("Rename the variables", False),
    ],
)
def test_comment_only_prompts(prompt: str, comment_only: bool) -> None:
    assert docstring.is_comment_only_prompt(prompt) is comment_only


def test_custom_comment_action_may_add_comments_but_not_change_code() -> None:
    prompt = "Add explanatory comments to {code}."
    good = "def area(r):\n    # pi times r squared\n    return 3.14159*r*r\n"
    bad = "def area(r):\n    # pi times r squared\n    return 3.14159*r**2\n"
    base = {"action": "add-comments", "custom_prompt": prompt}
    assert run(ISSUE_AREA, (1, 2), good, **base) == ()
    assert run(ISSUE_AREA, (1, 2), bad, **base) == (
        "changed code while adding documentation: line 3",
    )


def test_guards_skip_empty_blocks_and_never_raise() -> None:
    odd = [
        CheckContext("docstring", "python", "", "", "", ""),
        CheckContext("docstring", "python", "x = (\n", "y = (\n", "x = (\n", "y = (\n"),
        CheckContext("docstring", "javascript", "}", "{", "}", "{"),
        CheckContext("docstring", "python", "\x00", "\x00\x00", "\x00", "\x00\x00"),
    ]
    for ctx in odd:
        assert not any(r.startswith("internal error") for r in run_checks(ctx))
