"""Prompts: task, code and context (imports, enclosing headers) within the context window."""

from __future__ import annotations

import pytest

from ladder_lsp.analysis.languages import LANGUAGES, import_words
from ladder_lsp.engine.actions import BUILTIN, ActionSpec
from ladder_lsp.engine.prompts import (
    EDIT_RULES,
    EXPLAIN_RULES,
    IMPORT_RE,
    MAX_ANSWER_TOKENS,
    MAX_IMPORT_LINES,
    MIN_ANSWER_TOKENS,
    PROMPT_MARGIN_TOKENS,
    TESTS_RULES,
    PromptInput,
    PromptTooLarge,
    _imports,
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


IMPORTISH = [
    "import os\n",
    "  from a import b\n",
    "\timport q\n",
    "#include <x>\n",
    "use std;\n",
    "using X;\n",
    "const a = require('x')\n",
    "package main\n",
    "user = used  # because\n",
    "fromage import\n",
    "imports = 1\n",
    "import\n",
    "x = 1\n",
    "\n",
]


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r"])
def test_the_import_scan_reads_the_lines_the_regex_reads(ending: str) -> None:
    """The scan finds candidates in the joined text; each line is still the regex's call."""
    lines = [line.replace("\n", ending) for line in IMPORTISH * 5]
    for before in (0, 1, 13, len(lines)):
        expected = [
            (n, line.rstrip("\r\n"))
            for n, line in enumerate(lines[:before])
            if IMPORT_RE.match(line)
        ][:MAX_IMPORT_LINES]
        assert _imports(lines, before, import_words("plaintext")) == expected


def test_the_import_scan_stops_at_the_limit() -> None:
    lines = [f"import m{i}\n" for i in range(MAX_IMPORT_LINES + 5)]
    assert len(_imports(lines, len(lines), import_words("python"))) == MAX_IMPORT_LINES


def test_every_import_line_holds_a_word_of_an_unknown_languages_scan() -> None:
    """The scan of a file in a language Ladder does not know looks for every language's
    words: each line the regex calls an import holds one."""
    words = import_words("plaintext")
    assert set(words) == {w for language in LANGUAGES for w in language.import_words}
    for line in IMPORTISH:
        if IMPORT_RE.match(line):
            assert any(word in line for word in words), line


@pytest.mark.parametrize(
    ("language", "line"),
    [
        ("python", "from a.b import c\n"),
        ("python", "    import json  # lazily\n"),
        ("javascript", "const fs = require('fs')\n"),
        ("typescriptreact", "import React from 'react'\n"),
        ("go", "package main\n"),
        ("rust", "use std::io;\n"),
        ("c", "#include <stdio.h>\n"),
        ("csharp", "using System;\n"),
        ("java", "import java.util.List;\n"),
    ],
)
def test_a_language_scan_finds_its_import_lines(language: str, line: str) -> None:
    lines = ["x = 1\n", line, "y = 2\n"]
    assert _imports(lines, 3, import_words(language)) == [(1, line.rstrip("\n"))]


def test_a_python_scan_skips_what_only_other_languages_import_with() -> None:
    """`use` and `using` are Rust's and C#'s: in a Python file such a line is not read."""
    lines = ["use std;\n", "using X;\n", "import os\n"]
    assert _imports(lines, 3, import_words("python")) == [(2, "import os")]
    assert len(_imports(lines, 3, import_words("plaintext"))) == 3


# -- sizes -------------------------------------------------------------------------------------


def test_answer_budget_grows_with_the_code_and_depends_on_the_action() -> None:
    small = answer_budget("x", SPECS["refactor"])
    assert MIN_ANSWER_TOKENS <= small < 600
    code = "x = compute(1)\n" * 400  # a long function: 6,000 characters
    base = estimate_tokens(code)
    refactor = answer_budget(code, SPECS["refactor"])
    assert refactor >= 2 * base  # room to rewrite it whole, and then some
    assert answer_budget(code, SPECS["docstring"]) > refactor
    assert answer_budget(code, SPECS["tests"]) > answer_budget(code, SPECS["docstring"])
    assert answer_budget(code, SPECS["explain"]) < refactor
    assert answer_budget(code * 100, SPECS["tests"]) == MAX_ANSWER_TOKENS


def test_answer_budget_never_exceeds_the_room_left() -> None:
    code = "x = compute(1)\n" * 400
    assert answer_budget(code, SPECS["refactor"], room=900) == 900
    assert answer_budget(code, SPECS["refactor"], room=-5) == 0
    assert answer_budget("x", SPECS["refactor"], room=10**6) == answer_budget(
        "x", SPECS["refactor"]
    )


def test_a_long_function_gets_room_for_its_whole_rewrite() -> None:
    code_lines = [f"    value_{i} = compute({i}, {i + 1})\n" for i in range(150)]
    lines = ["def long():\n", *code_lines]
    code = "".join(code_lines)
    req = build(prompt_input(lines=lines, start_line=1, end_line=len(lines), code=code), 32768)
    assert req.max_tokens == answer_budget(code, SPECS["refactor"])
    assert req.max_tokens > 2 * estimate_tokens(code) > MIN_ANSWER_TOKENS
    # a small window: the answer gets what is left after the prompt, not more
    tight = build(prompt_input(lines=lines, start_line=1, end_line=len(lines), code=code), 4096)
    prompt = estimate_tokens(tight.system) + estimate_tokens(tight.user)
    assert MIN_ANSWER_TOKENS <= tight.max_tokens <= 4096 - PROMPT_MARGIN_TOKENS - prompt


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
    from ladder_lsp.engine.prompts import _context

    inp = prompt_input(start_line=FOR_START + 1, end_line=FOR_END)
    full, left_out = _context(inp, 10_000)
    assert full.startswith("Enclosing definitions") and "import os" in full and not left_out
    assert _context(inp, 10)[0] == ""  # not "Enclosing "
    for room in range(len(full)):
        cut = _context(inp, room)[0]
        assert len(cut) <= room
        assert all(line in full.splitlines() for line in cut.splitlines())


# -- telling the user what was left out --------------------------------------------------------


def test_a_roomy_window_leaves_nothing_out() -> None:
    assert build(prompt_input(), 32768).trimmed == ""


def test_trimmed_context_names_the_lines_not_sent() -> None:
    imports = [f"import module_number_{i:03d}\n" for i in range(40)]
    body = ["class Big:\n", "    def method(self):\n"]
    code_lines = [f"        value_{i} = compute({i})\n" for i in range(120)]
    lines = [*imports, *body, *code_lines]
    inp = prompt_input(lines=lines, start_line=42, end_line=len(lines), code="".join(code_lines))
    requests = []
    for context in range(1500, 8192, 16):
        try:
            requests.append(build(inp, context))
        except PromptTooLarge:
            continue
    notes = [r.trimmed for r in requests]
    # no room for context at all: both headers and every import are named
    assert notes[0] == (
        "context trimmed to fit the model's context window: the enclosing definitions on "
        "lines 41-42 and the imports on lines 1-40 were not sent"
    )
    headers_only = next(r for r in requests if "class Big:" in r.user)
    assert headers_only.trimmed == (
        "context trimmed to fit the model's context window: the imports on lines 1-40 were not sent"
    )
    # some imports fit: the note names exactly the ones missing
    partial = next(r for r in requests if "import module_number_000" in r.user and r.trimmed)
    sent = [n for n in range(40) if f"import module_number_{n:03d}\n" in partial.user + "\n"]
    assert sent == list(range(len(sent))) and 0 < len(sent) < 40
    first_missing = len(sent) + 1
    missing = "line 40" if first_missing == 40 else f"lines {first_missing}-40"
    assert partial.trimmed == (
        f"context trimmed to fit the model's context window: the imports on {missing} were not sent"
    )
    assert requests[-1].trimmed == ""


def test_line_ranges_read_as_the_user_counts() -> None:
    from ladder_lsp.engine.prompts import _line_ranges

    assert _line_ranges([6]) == "line 7"
    assert _line_ranges([0, 1, 2, 9, 11, 12]) == "lines 1-3, 10, 12-13"
