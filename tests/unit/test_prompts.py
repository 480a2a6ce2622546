"""Prompts: task, code and context (imports, enclosing headers) within the context window."""

from __future__ import annotations

import pytest

from ladder_lsp.actions import BUILTIN, ActionSpec
from ladder_lsp.prompts import (
    EDIT_RULES,
    EXPLAIN_RULES,
    MIN_ANSWER_TOKENS,
    PROMPT_MARGIN_TOKENS,
    TESTS_RULES,
    PromptInput,
    PromptTooLarge,
    answer_budget,
    build,
    enclosing_headers,
    estimate_tokens,
)

SPECS = {a.id: a for a in BUILTIN}

DOC = """\
import os
from dataclasses import dataclass

from .base import Base

UNRELATED_CONSTANT = 42


def helper():
    return os.getcwd()


@dataclass
class Cart(Base):
    \"\"\"A cart.\"\"\"

    items: list

    # totals
    @property
    def total(self):
        subtotal = 0
        for item in self.items:
            subtotal += item.price
        return subtotal
""".splitlines(keepends=True)

FOR_START = next(i for i, line in enumerate(DOC) if "for item" in line)
FOR_END = FOR_START + 2


def prompt_input(spec: ActionSpec | None = None, **kw: object) -> PromptInput:
    start = int(kw.pop("start_line", FOR_START))  # type: ignore[call-overload]
    end = int(kw.pop("end_line", FOR_END))  # type: ignore[call-overload]
    lines = kw.pop("lines", DOC)
    code = kw.pop("code", "".join(DOC[start:end]))
    return PromptInput(
        spec=spec or SPECS["refactor"],
        language="python",
        path="/proj/shop/cart.py",
        lines=lines,  # type: ignore[arg-type]
        start_line=start,
        end_line=end,
        code=code,  # type: ignore[arg-type]
        **kw,  # type: ignore[arg-type]
    )


# -- content -----------------------------------------------------------------------------------


def test_user_prompt_has_task_code_imports_and_enclosing_headers() -> None:
    req = build(prompt_input(), 8192)
    assert req.system == EDIT_RULES
    user = req.user
    assert "Task: Refactor the code" in user
    assert "Language: python" in user and "File: /proj/shop/cart.py" in user
    assert f"(lines {FOR_START + 1}-{FOR_END})" in user
    assert "```python\n        for item in self.items:\n" in user
    assert "import os" in user and "from dataclasses import dataclass" in user
    assert "from .base import Base" in user
    assert "class Cart(Base):" in user and "    def total(self):" in user
    assert user.index("class Cart(Base):") < user.index("    def total(self):")
    # what does not enclose the selection stays out
    for absent in ("UNRELATED_CONSTANT", "def helper", "@dataclass", "@property", "# totals"):
        assert absent not in user, absent


def test_system_prompt_depends_on_the_action() -> None:
    assert build(prompt_input(SPECS["explain"]), 8192).system == EXPLAIN_RULES
    assert build(prompt_input(SPECS["tests"]), 8192).system == TESTS_RULES
    assert build(prompt_input(SPECS["docstring"]), 8192).system == EDIT_RULES
    assert "Code to explain" in build(prompt_input(SPECS["explain"]), 8192).user


def test_system_prompt_is_stable_across_runs_for_caching() -> None:
    a = build(prompt_input(), 8192)
    b = build(prompt_input(start_line=0, end_line=2, code="import os\n"), 4096)
    assert a.system == b.system and a.user != b.user


def test_retry_reason_diagnostics_and_test_module_are_included() -> None:
    req = build(
        prompt_input(
            SPECS["fix"],
            diagnostics=("undefined name 'x'", "unused import os"),
            retry_reason="the answer has a syntax error at line 3",
            test_module="import shop.cart",
        ),
        8192,
    )
    assert "- undefined name 'x'" in req.user and "- unused import os" in req.user
    assert "rejected because: the answer has a syntax error at line 3" in req.user
    assert "Import the code under test as: import shop.cart" in req.user
    assert "rejected because" not in build(prompt_input(), 8192).user


def test_custom_prompt_placeholders_are_filled() -> None:
    spec = ActionSpec(
        "typehints",
        "Add type hints",
        "refactor.rewrite",
        "",
        custom_prompt="Add {language} type hints to {code} in {path}; keep {unknown}.",
    )
    req = build(prompt_input(spec), 8192)
    task = req.user.splitlines()[0]
    assert task == (
        "Task: Add python type hints to (the code below) in /proj/shop/cart.py; keep {unknown}."
    )
    assert "for item in self.items" in req.user  # the code itself goes in the code block


def test_top_level_selection_has_no_enclosing_headers() -> None:
    start = next(i for i, line in enumerate(DOC) if line.startswith("def helper"))
    req = build(prompt_input(start_line=start, end_line=start + 2), 8192)
    assert "Enclosing definitions" not in req.user
    assert "import os" in req.user


def test_imports_below_the_selection_are_not_context() -> None:
    lines = ["def f():\n", "    return 1\n", "import late\n"]
    req = build(prompt_input(lines=lines, start_line=0, end_line=2, code="def f():\n"), 8192)
    assert "import late" not in req.user


# -- sizes -------------------------------------------------------------------------------------


def test_answer_budget_depends_on_action_and_has_a_floor() -> None:
    assert answer_budget("x", SPECS["refactor"]) == MIN_ANSWER_TOKENS
    code = "x = 1\n" * 2000
    base = estimate_tokens(code)
    assert answer_budget(code, SPECS["refactor"]) == int(base * 1.5) + 128
    assert answer_budget(code, SPECS["tests"]) == int(base * 3.0) + 128
    assert answer_budget(code, SPECS["explain"]) == base + 128


def test_selection_too_large_for_the_context_raises() -> None:
    code = "value = compute(1, 2, 3)\n" * 2000
    lines = code.splitlines(keepends=True)
    with pytest.raises(PromptTooLarge) as info:
        build(prompt_input(lines=lines, start_line=0, end_line=len(lines), code=code), 4096)
    assert info.value.available == 4096 - PROMPT_MARGIN_TOKENS
    assert info.value.needed > info.value.available
    assert "tokens" in str(info.value) and str(info.value.available) in str(info.value)


def test_request_fits_the_context_window() -> None:
    code = "value = compute(1, 2, 3)\n" * 200
    lines = ["import os\n", *code.splitlines(keepends=True)]
    for context in (4096, 8192, 32768):
        req = build(
            prompt_input(lines=lines, start_line=1, end_line=len(lines), code=code), context
        )
        used = estimate_tokens(req.system) + estimate_tokens(req.user) + req.max_tokens
        assert used <= context
        assert req.max_tokens >= MIN_ANSWER_TOKENS


def test_context_is_trimmed_to_the_room_left_in_whole_lines() -> None:
    imports = [f"import module_number_{i:03d}\n" for i in range(40)]
    body = ["class Big:\n", "    def method(self):\n"]
    code_lines = [f"        value_{i} = compute({i})\n" for i in range(120)]
    lines = [*imports, *body, *code_lines]
    code = "".join(code_lines)
    start = len(imports) + len(body)

    def user_for(context: int) -> str:
        try:
            return build(
                prompt_input(lines=lines, start_line=start, end_line=len(lines), code=code),
                context,
            ).user
        except PromptTooLarge:
            return ""

    roomy = user_for(32768)
    assert "import module_number_039" in roomy and "class Big:" in roomy
    # Just enough for the code and answer: the context is cut, headers (most useful) first.
    tight = next(
        u
        for c in range(1500, 32768, 16)
        if "class Big:" in (u := user_for(c)) and "import module_number_039" not in u
    )
    assert "    def method(self):" in tight
    import_lines = [ln for ln in tight.splitlines() if ln.startswith("import ")]
    assert all(ln in [i.rstrip("\n") for i in imports] for ln in import_lines)  # no half lines
    assert "value_119 = compute(119)" in tight  # the code itself is never cut


def test_no_room_means_no_context_but_the_code_is_complete() -> None:
    code_lines = [f"        value_{i} = compute({i})\n" for i in range(300)]
    lines = ["import os\n", "class Big:\n", "    def method(self):\n", *code_lines]
    code = "".join(code_lines)
    fixed_guess = estimate_tokens(code) + 400
    req = build(
        prompt_input(lines=lines, start_line=3, end_line=len(lines), code=code),
        fixed_guess + MIN_ANSWER_TOKENS + PROMPT_MARGIN_TOKENS,
    )
    assert "import os" not in req.user and "class Big" not in req.user
    assert "value_299 = compute(299)" in req.user


# -- enclosing headers -------------------------------------------------------------------------


def test_enclosing_headers_skip_decorators_comments_and_blank_lines() -> None:
    start = next(i for i, line in enumerate(DOC) if "subtotal = 0" in line)
    assert enclosing_headers(DOC, start) == ["class Cart(Base):", "    def total(self):"]


def test_enclosing_headers_for_javascript_braces() -> None:
    lines = [
        "class Cart {\n",
        "  add(item) {\n",
        "    this.items.push(item);\n",
        "  }\n",
        "  total() {\n",
        "    return this.items.length;\n",
        "  }\n",
        "}\n",
    ]
    assert enclosing_headers(lines, 5) == ["class Cart {", "  total() {"]


def test_enclosing_headers_edge_cases() -> None:
    assert enclosing_headers(DOC, len(DOC)) == []
    assert enclosing_headers(DOC, 0) == []
    crlf = ["class A:\r\n", "    def f(self):\r\n", "        pass\r\n"]
    assert enclosing_headers(crlf, 2) == ["class A:", "    def f(self):"]


def test_context_never_ends_in_half_a_line() -> None:
    from ladder_lsp.prompts import _context

    inp = prompt_input(start_line=FOR_START + 1, end_line=FOR_END)
    full = _context(inp, 10_000)
    assert full.startswith("Enclosing definitions") and "import os" in full
    assert _context(inp, 10) == ""  # not "Enclosing "
    for room in range(len(full)):
        cut = _context(inp, room)
        assert len(cut) <= room
        assert all(line in full.splitlines() for line in cut.splitlines())
