"""The check registry and the common checks every edit must pass."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

import ladder_lsp
from ladder_lsp.analysis.python.location import in_place
from ladder_lsp.analysis.text import split_lines
from ladder_lsp.pipeline.checks import guards, runner
from ladder_lsp.pipeline.checks.common import (
    check_empty,
    check_invisible,
    check_markdown,
    check_repeated_context,
    check_unchanged,
)
from ladder_lsp.pipeline.checks.context import CheckContext
from ladder_lsp.pipeline.checks.placeholders import check_placeholders
from ladder_lsp.pipeline.checks.runner import register, run_checks, unregister
from ladder_lsp.pipeline.checks.syntax import check_syntax

OLD_BLOCK = """\
    def total(self):
        result = 0
        for item in self.items:
            result += item.price
        return result
"""
NEW_BLOCK = """\
    def total(self):
        return sum(item.price for item in self.items)
"""
HEAD = "class Cart:\n    items: list = []\n\n"
TAIL = "\n    def count(self):\n        return len(self.items)\n"


def ctx(
    new_block: str = NEW_BLOCK,
    *,
    old_block: str = OLD_BLOCK,
    action: str = "refactor",
    language: str = "python",
    head: str = HEAD,
    tail: str = TAIL,
    finish_reason: str = "stop",
) -> CheckContext:
    return CheckContext(
        action=action,
        language=language,
        old_document=head + old_block + tail,
        new_document=head + new_block + tail,
        old_block=old_block,
        new_block=new_block,
        finish_reason=finish_reason,
    )


def test_good_answer_passes_every_check() -> None:
    assert run_checks(ctx()) == []


# --- registry ---------------------------------------------------------------------------


@pytest.fixture
def scratch_action() -> Iterator[str]:
    action = "test-scratch-action"
    yield action
    runner._REGISTRY.pop(action, None)


def test_a_located_edit_joins_its_new_document_only_when_asked() -> None:
    """The verdict gives `where` instead of the joined file; every check sees the same."""
    given = ctx()
    old_lines = tuple(split_lines(given.old_document))
    start = old_lines.index(OLD_BLOCK.splitlines(keepends=True)[0])
    end = start + len(OLD_BLOCK.splitlines())
    where = in_place(old_lines, start, end, split_lines(NEW_BLOCK))
    assert where is not None
    located = attrs.evolve(given, new_document=None, where=where)
    assert located.new_document == given.new_document
    assert run_checks(located) == run_checks(given) == []
    broken = NEW_BLOCK.replace("sum(", "sum((")
    assert (
        run_checks(
            attrs.evolve(
                located,
                new_block=broken,
                where=in_place(old_lines, start, end, split_lines(broken)),
            )
        )
        == run_checks(ctx(broken))
        != []
    )


def test_a_context_without_its_new_document_must_say_where_the_block_is() -> None:
    with pytest.raises(ValueError, match="new document"):
        attrs.evolve(ctx(), new_document=None)


def test_action_checks_run_after_common_ones(scratch_action: str) -> None:
    def no_todo(c: CheckContext) -> str | None:
        return "the answer adds a TODO" if "TODO" in c.new_block else None

    register(scratch_action, no_todo)
    register(scratch_action, no_todo)  # idempotent
    assert runner.checks_for(scratch_action)[-1] is no_todo
    assert runner.checks_for(scratch_action).count(no_todo) == 1
    bad = NEW_BLOCK + "        # TODO\n"
    assert run_checks(ctx(bad, action=scratch_action)) == ["the answer adds a TODO"]
    assert run_checks(ctx(bad, action="refactor")) == []  # other actions unaffected
    reasons = run_checks(ctx(bad, action=scratch_action, finish_reason="length"))
    assert reasons == ["the answer was cut off at the token limit", "the answer adds a TODO"]
    unregister(scratch_action, no_todo)
    assert run_checks(ctx(bad, action=scratch_action)) == []


def test_a_crashing_check_is_reported_not_raised(scratch_action: str) -> None:
    def broken(c: CheckContext) -> str | None:
        raise KeyError("boom")

    register(scratch_action, broken)
    reasons = run_checks(ctx(action=scratch_action))
    assert len(reasons) == 1
    assert reasons[0].startswith("internal error in check broken: KeyError")


def test_explain_runs_only_its_own_checks() -> None:
    assert run_checks(ctx(OLD_BLOCK, action="explain", finish_reason="length")) == []


# --- common checks ----------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["length", "max_tokens"])
def test_truncated(reason: str) -> None:
    assert "the answer was cut off at the token limit" in run_checks(ctx(finish_reason=reason))


def test_empty_answer() -> None:
    assert check_empty(ctx("")) == "the answer is empty"
    assert check_empty(ctx("\n  \n")) == "the answer is empty"
    assert check_empty(ctx("", action="fix")) is None  # deleting a line can be the fix


def test_unchanged_ignores_trailing_whitespace_and_line_endings() -> None:
    same = OLD_BLOCK.replace("\n", "  \r\n") + "\n"
    assert check_unchanged(ctx(same)) == "the model returned the code unchanged"
    assert check_unchanged(ctx(NEW_BLOCK)) is None
    reindented = OLD_BLOCK.replace("        return result", "    return result")
    assert check_unchanged(ctx(reindented)) is None  # indentation is meaning


def test_markdown_fence_in_code() -> None:
    leaked = "```python\n" + NEW_BLOCK + "```\n"
    assert check_markdown(ctx(leaked)) == "the answer's code contains Markdown fences"
    assert check_markdown(ctx(NEW_BLOCK)) is None


EXAMPLE = '        """The total.\n\n        ```\n        cart.total()\n        ```\n        """\n'
DOCUMENTED = NEW_BLOCK.replace(":\n", ":\n" + EXAMPLE, 1)


def test_fences_of_a_docstring_example_are_code() -> None:
    documented = ctx(DOCUMENTED, old_block=NEW_BLOCK, action="docstring")
    assert check_markdown(documented) is None
    assert run_checks(documented) == []
    leaked = DOCUMENTED + "    ```\n"  # a fence outside the string still counts
    assert check_markdown(ctx(leaked)) == "the answer's code contains Markdown fences"


@pytest.mark.parametrize(
    ("char", "name"),
    [
        ("\u202e", "U+202E"),  # right-to-left override: Trojan Source
        ("\u2066", "U+2066"),
        ("\x1b", "U+001B"),  # ANSI escape
        ("\x00", "U+0000"),
        ("\x08", "U+0008"),
        ("\u200b", "U+200B"),
        ("\u2028", "U+2028"),
        ("\ufeff", "U+FEFF"),
    ],
)
def test_added_invisible_or_bidi_characters_are_rejected(char: str, name: str) -> None:
    sneaky = NEW_BLOCK.replace("return sum", f'access = "user{char}"  # admin\n        return sum')
    expected = f"the answer adds invisible or bidirectional control characters ({name})"
    assert check_invisible(ctx(sneaky)) == expected
    assert expected in run_checks(ctx(sneaky))


def test_control_characters_already_in_the_original_are_fine() -> None:
    old = OLD_BLOCK.replace("result = 0", "result = 0  # \u202eRTL note\u2069, tab\there")
    new = NEW_BLOCK.replace("return sum", "# \u202eRTL note\u2069\n        return sum")
    assert check_invisible(ctx(new, old_block=old)) is None
    twice = new.replace("# \u202e", "# \u202e\u202e")
    assert check_invisible(ctx(twice, old_block=old)) == (
        "the answer adds invisible or bidirectional control characters (U+202E)"
    )
    family = 'family = "\U0001f468\u200d\U0001f469"\n        return sum'
    emoji = NEW_BLOCK.replace("return sum", family)
    assert check_invisible(ctx(emoji)) is None  # ZWJ joins emoji: not hidden code


def test_several_added_characters_are_named_in_order() -> None:
    sneaky = NEW_BLOCK.replace("return sum", 'x = "\u202e\x1b\u200b\u2066"\n        return sum')
    assert check_invisible(ctx(sneaky)) == (
        "the answer adds invisible or bidirectional control characters (U+001B, U+200B, U+202E, …)"
    )


def test_a_file_bom_does_not_make_python_a_syntax_error() -> None:
    bom = ctx(head="\ufeff" + HEAD)
    assert check_syntax(bom) is None
    broken = ctx(NEW_BLOCK.replace("return sum(", "return sum(("), head="\ufeff" + HEAD)
    reason = check_syntax(broken)
    assert reason is not None and reason.startswith("syntax error at line")


@pytest.mark.parametrize(
    ("language", "line"),
    [
        ("python", "        # ... rest of the code"),
        ("python", "        # (unchanged)"),
        ("python", "        # ... (same as before)"),
        ("python", "        # rest of the method remains the same"),
        ("python", "        # other methods unchanged"),
        ("python", "        [rest unchanged]"),
        ("python", "        <rest of code>"),
        ("python", "        # code omitted for brevity"),
        ("python", "        # other methods ..."),
        ("python", "        # ..."),
        ("javascript", "  // ... existing code ..."),
        ("javascript", "  /* ... */"),
        ("javascript", "  ..."),
        ("javascript", "  // Rest of the implementation"),
        ("typescriptreact", "      {/* ... rest of the JSX ... */}"),
        ("go", "\t// ... existing logic unchanged"),
        ("rust", "    // …"),
    ],
)
def test_lazy_placeholders_fire(language: str, line: str) -> None:
    reason = check_placeholders(ctx(NEW_BLOCK + line + "\n", language=language))
    assert reason is not None
    assert reason.startswith("the answer leaves code out (")
    assert line.strip()[:20] in reason


@pytest.mark.parametrize(
    "line",
    [
        "        # Loading data...",
        "        # fetch more...",
        "        # TODO: wait here...",
        "        # keep this in sync with the server",
        "        # compare with the previous total",
        "        print('...')",
        "        msg = 'rest of the code'",
    ],
)
def test_ordinary_comments_are_not_placeholders(line: str) -> None:
    assert check_placeholders(ctx(NEW_BLOCK + line + "\n")) is None


def test_placeholder_already_in_the_original_is_fine() -> None:
    old = OLD_BLOCK + "        # ... rest of the code\n"
    new = NEW_BLOCK + "        # ... rest of the code\n"
    assert check_placeholders(ctx(new, old_block=old)) is None


@pytest.mark.parametrize(
    "new_block",
    [
        "    def total(self):\n        ...\n",
        "    def total(self):\n        pass\n",
        '    def total(self):\n        """Sum of prices."""\n        ...\n',
        "    def total(self):\n        result = 0\n        ...\n        return result\n",
    ],
    ids=["ellipsis-body", "pass-body", "docstring-then-ellipsis", "stray-ellipsis"],
)
def test_python_body_replaced_by_stub(new_block: str) -> None:
    assert check_placeholders(ctx(new_block)) == (
        "the answer replaces a function body with `...` or `pass`"
    )


def test_python_real_stubs_are_allowed() -> None:
    protocol = (
        "    class Priced(Protocol):\n        def price(self) -> int:\n            ...\n"
        + NEW_BLOCK
    )
    abstract = "    @abc.abstractmethod\n    def price(self) -> int:\n        ...\n" + NEW_BLOCK
    assert check_placeholders(ctx(protocol)) is None
    assert check_placeholders(ctx(abstract)) is None
    stub_before = "    def total(self):\n        pass\n"
    assert check_placeholders(ctx(stub_before, old_block=stub_before)) is None


def test_python_syntax_error_names_the_line() -> None:
    broken = "    def total(self):\n        return sum(item.price for item in self.items\n"
    reason = check_syntax(ctx(broken))
    assert reason is not None
    assert reason.startswith("syntax error at line ")
    assert reason.startswith("syntax error at line 5: ")  # the unclosed `(` in the document


def test_python_compile_errors_count_as_syntax_errors() -> None:
    # A bad re-indent that parses but cannot compile: `return` outside a function.
    old = "def total(items):\n    result = sum(items)\n    return result\n"
    dedented = "def total(items):\n    result = sum(items)\nreturn result\n"
    reason = check_syntax(ctx(dedented, old_block=old, head="", tail=""))
    assert reason == "syntax error at line 3: 'return' outside function"


def test_python_broken_document_compares_the_blocks() -> None:
    broken_head = "class Cart:\n    items = [\n\n"
    assert check_syntax(ctx(NEW_BLOCK, head=broken_head)) is None
    worse = "    def total(self:\n        return (\n"
    reason = check_syntax(ctx(worse, head=broken_head))
    assert reason is not None and reason.startswith("the new code has syntax errors")


JS_OLD = "function sum(xs) {\n  let s = 0;\n  for (const x of xs) s += x;\n  return s;\n}\n"


def test_other_languages_must_not_gain_parse_errors() -> None:
    good = "function sum(xs) {\n  return xs.reduce((a, b) => a + b, 0);\n}\n"
    bad = "function sum(xs) {\n  return xs.reduce((a, b) => a + b, 0;\n}\n"
    base = {"old_block": JS_OLD, "language": "javascript", "head": "", "tail": ""}
    assert check_syntax(ctx(good, **base)) is None  # type: ignore[arg-type]
    reason = check_syntax(ctx(bad, **base))  # type: ignore[arg-type]
    assert reason is not None and reason.startswith("syntax error near line 2")


def test_languages_without_grammar_pass_syntax() -> None:
    assert check_syntax(ctx("end end end(", language="cobol")) is None


@pytest.mark.parametrize(
    "odd",
    [
        CheckContext("refactor", "python", "\x00", "\x00bad", "", ""),
        CheckContext("refactor", "rust", "", "", "", "", finish_reason=""),
        CheckContext("refactor", "python", "x = (" * 200, "y = [" * 500, "", "\t\t..."),
        CheckContext("", "", "", "", "", ""),
    ],
)
def test_checks_never_raise_on_odd_input(odd: CheckContext) -> None:
    reasons = run_checks(odd)
    assert isinstance(reasons, list)
    assert not any(reason.startswith("internal error") for reason in reasons)


def _big_python(n_functions: int, marker: str) -> str:
    return "".join(
        f"def f{i}(a, b):\n    '''Doc {marker}.'''\n    if a > b:\n        return a - b\n"
        f"    return a + {i}\n\n\n"
        for i in range(n_functions)
    )


def test_all_checks_run_cleanly_on_2000_line_files() -> None:
    """Timing lives in the benchmarks (`python -m tests.benchmarks`); this checks behaviour."""
    block_old = "def f150(a, b):\n    '''Doc x.'''\n    if a > b:\n        return a - b\n"
    block_new = "def f150(a, b):\n    '''Doc x.'''\n    return abs(a - b)\n"
    head = _big_python(150, "x")
    tail = _big_python(135, "y")
    assert len((head + tail).splitlines()) > 1900
    js_head = head.replace("def ", "function ").replace("):\n", ") {}\n")
    contexts = [
        ctx(block_new, old_block=block_old, head=head, tail=tail),
        ctx(block_new, old_block=block_old, head=js_head, tail="", language="javascript"),
    ]
    run_checks(ctx())  # warm grammars and imports
    for context in contexts:
        reasons = run_checks(context)
        assert not any(r.startswith("internal error") for r in reasons), reasons


def test_repeated_context_fires_when_the_answer_includes_neighbours() -> None:
    with_class = "class Cart:\n" + NEW_BLOCK
    reason = check_repeated_context(ctx(with_class))
    assert reason == "the answer repeats code from around the selection (class Cart:)"
    with_next = NEW_BLOCK + "\n    def count(self):\n        return len(self.items)\n"
    reason = check_repeated_context(ctx(with_next))
    assert reason is not None and "def count(self):" in reason


def test_repeated_context_ignores_short_lines_and_new_files() -> None:
    assert check_repeated_context(ctx()) is None
    closing = ctx("    x = 1\n    }\n", old_block="    x = 0\n", head="{\n", tail="    }\n")
    assert check_repeated_context(closing) is None
    assert check_repeated_context(ctx("def test_a():\n    pass\n", old_block="")) is None


# --- per-action guards in the registry ----------------------------------------------------


COMMON = len(runner._REGISTRY[None])


def test_every_edit_action_has_its_guards_after_the_common_checks() -> None:
    common = runner.checks_for("refactor")[:COMMON]
    assert check_syntax in common and check_invisible in common
    for action in ("docstring", "refactor", "fix", "tests"):
        found = runner.checks_for(action)
        assert found[:COMMON] == common
        assert len(found) > COMMON, action
    assert runner.checks_for("explain") == ()


def test_custom_actions_get_the_custom_guards_only_with_a_prompt() -> None:
    assert runner.checks_for("my-action") == runner.checks_for("refactor")[:COMMON]
    custom = runner.checks_for("my-action", custom=True)
    assert custom[COMMON:] == tuple(runner._REGISTRY[guards.CUSTOM])
    renamed = ctx(
        "    def total(self, things):\n        return sum(i.price for i in things)\n",
        action="my-action",
    )
    assert run_checks(renamed) == []  # no prompt: not a custom action the guards know
    hinted = attrs.evolve(renamed, custom_prompt="Add type hints to {code}")
    assert run_checks(hinted) == ["added required parameter `things` to `total`"]
    renames = attrs.evolve(renamed, custom_prompt="Rename things and add a parameter")
    assert run_checks(renames) == []


def _real_python(lines: int) -> str:
    """Ladder's own modules: real code, long lines, decorators, nested classes."""
    root = Path(ladder_lsp.__file__).parent
    text = "".join(
        path.read_text(encoding="utf-8").replace("from __future__ import annotations\n", "")
        for path in sorted(root.rglob("*.py"))
    )
    return "".join(text.splitlines(True)[:lines])


def test_all_checks_with_guards_on_2000_real_lines() -> None:
    text = _real_python(2000)
    lines = text.splitlines(True)
    assert len(lines) == 2000
    start = next(i for i in range(1000, 2000) if lines[i].startswith("def "))
    end = next(i for i in range(start + 1, 2000) if lines[i][:1].strip())
    old_block = "".join(lines[start:end])
    head, tail = "".join(lines[:start]), "".join(lines[end:])
    answers = {
        "refactor": old_block.replace("return", "return  ", 1),
        "docstring": old_block.replace(":\n", ':\n    """Doc."""\n', 1),
        "fix": old_block.replace("return", "return  ", 1),
    }
    run_checks(ctx())  # warm imports and grammars
    for action, new_block in answers.items():
        for n in range(2):  # distinct documents: nothing cached from the previous round
            marker = f"# round {action} {n}\n"
            context = CheckContext(
                action,
                "python",
                marker + head + old_block + tail,
                marker + head + new_block + tail,
                old_block,
                new_block,
                diagnostics=("undefined name 'x'",) if action == "fix" else (),
            )
            reasons = run_checks(context)
            assert not any(r.startswith("internal error") for r in reasons), reasons
