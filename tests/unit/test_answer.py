"""extract_code against the shapes real models answer in (LM Studio/llama.cpp with Qwen,
Llama, DeepSeek-R1, SmolLM; Claude)."""

from __future__ import annotations

import pytest

from ladder_lsp.pipeline.answer import Extracted, extract_code

ORIGINAL = """\
def total(items):
    result = 0
    for item in items:
        result += item.price * item.qty
    return result"""

NEW = """\
def total(items):
    return sum(item.price * item.qty for item in items)"""

JS_ORIGINAL = """\
function sum(xs) {
  let s = 0;
  for (const x of xs) { s += x; }
  return s;
}"""

JS_NEW = """\
function sum(xs) {
  return xs.reduce((a, b) => a + b, 0);
}"""

GO_ORIGINAL = "func Add(a, b int) int {\n\tvar c = a + b\n\treturn c\n}"
GO_NEW = "func Add(a, b int) int {\n\treturn a + b\n}"

LINE_ORIGINAL = "total = reduce(lambda a, b: a + b, values, 0)"
LINE_NEW = "total = sum(values)"

# (id, answer, language, original, expected code)
FOUND: list[tuple[str, str, str, str, str]] = [
    ("bare code", NEW, "python", ORIGINAL, NEW),
    ("fenced with tag", f"```python\n{NEW}\n```", "python", ORIGINAL, NEW),
    ("fenced without tag", f"```\n{NEW}\n```", "python", ORIGINAL, NEW),
    ("tilde fence", f"~~~py\n{NEW}\n~~~", "python", ORIGINAL, NEW),
    (
        "four backticks quoting three",
        '````python\nDOC = """\n```\nexample\n```\n"""\n````',
        "python",
        ORIGINAL,
        'DOC = """\n```\nexample\n```\n"""',
    ),
    (
        "llama prose around fence",
        "Here is the refactored code:\n\n"
        f"```python\n{NEW}\n```\n\n"
        "This version uses a generator expression with `sum()`, which is shorter.",
        "python",
        ORIGINAL,
        NEW,
    ),
    (
        "qwen bold explanation with bullets",
        f"```python\n{NEW}\n```\n\n**Explanation:**\n- Replaced the loop with `sum()`.\n"
        "- Removed the temporary variable.",
        "python",
        ORIGINAL,
        NEW,
    ),
    (
        "deepseek-r1 think with draft code",
        "<think>\nOkay, the user wants me to refactor this. Maybe:\n"
        "```python\ndef total(items):\n    pass\n```\nNo wait, use sum.\n</think>\n\n"
        f"Here's the refactored function:\n\n```python\n{NEW}\n```",
        "python",
        ORIGINAL,
        NEW,
    ),
    (
        "deepseek-r1 template ate the opening think",
        f"Alright, the loop can become sum().\n</think>\n\n```python\n{NEW}\n```",
        "python",
        ORIGINAL,
        NEW,
    ),
    (
        "claude thinking tag",
        f"<thinking>A generator fits.</thinking>\n```python\n{NEW}\n```",
        "python",
        ORIGINAL,
        NEW,
    ),
    ("qwen3 empty think", f"<think>\n\n</think>\n\n```python\n{NEW}\n```", "python", ORIGINAL, NEW),
    (
        "before and after blocks",
        f"Before:\n```python\n{ORIGINAL}\n```\nAfter:\n```python\n{NEW}\n```",
        "python",
        ORIGINAL,
        NEW,
    ),
    (
        "code plus usage example",
        f"```python\n{NEW}\n```\n\nExample usage:\n\n```python\nprint(total(cart))\n```",
        "python",
        ORIGINAL,
        NEW,
    ),
    (
        "shell block is not the code",
        f"Install nothing:\n```bash\npip install nothing\n```\n```python\n{NEW}\n```",
        "python",
        ORIGINAL,
        NEW,
    ),
    (
        "first the fragment then the whole",
        "First, change the loop:\n```python\nreturn sum(i.price * i.qty for i in items)\n```\n"
        "Then the whole function becomes:\n"
        "```python\ndef total(items):\n    # one pass\n"
        "    return sum(i.price * i.qty for i in items)\n```",
        "python",
        ORIGINAL,
        "def total(items):\n    # one pass\n    return sum(i.price * i.qty for i in items)",
    ),
    (
        "alternatives pick the most similar",
        f"Option 1:\n```python\n{NEW}\n```\nAlternatively, with functools:\n"
        "```python\nimport functools\nimport operator\n\n"
        "TOTAL = functools.reduce(operator.add, [])\n```",
        "python",
        ORIGINAL,
        NEW,
    ),
    (
        "unfenced with lead-in line",
        f"Here is the refactored code:\n\n{NEW}",
        "python",
        ORIGINAL,
        NEW,
    ),
    (
        "unfenced lead-in without blank line",
        f"Sure! Here's a cleaner version of `total()`:\n{NEW}",
        "python",
        ORIGINAL,
        NEW,
    ),
    (
        "unfenced with trailing explanation",
        f"{NEW}\n\nThis uses a generator expression, which avoids building a list.\n"
        "It is also easier to read.",
        "python",
        ORIGINAL,
        NEW,
    ),
    (
        "unfenced with lead-in, trailing heading and bullets",
        f"Refactored code:\n{NEW}\n\nChanges made:\n- Used `sum()`\n- Removed the accumulator",
        "python",
        ORIGINAL,
        NEW,
    ),
    (
        "echoed instruction then fenced code",
        f"Refactor the following Python code to make it more readable.\n\n```python\n{NEW}\n```",
        "python",
        ORIGINAL,
        NEW,
    ),
    (
        "smollm echoes prompt and original",
        f"Refactor this code:\n```python\n{ORIGINAL}\n```\n"
        f"Refactored version:\n```python\n{NEW}\n```\n",
        "python",
        ORIGINAL,
        NEW,
    ),
    (
        "unterminated fence (truncated answer)",
        "```python\ndef total(items):\n    return sum(\n        item.price",
        "python",
        ORIGINAL,
        "def total(items):\n    return sum(\n        item.price",
    ),
    (
        "closing fence glued to the last line",
        f"```python\n{NEW}```",
        "python",
        ORIGINAL,
        NEW,
    ),
    (
        "windows line endings",
        f"```python\r\n{NEW}\r\n```\r\n".replace("\n    return", "\r\n    return"),
        "python",
        ORIGINAL,
        NEW,
    ),
    ("blank lines around", f"\n\n\n{NEW}\n\n\n", "python", ORIGINAL, NEW),
    ("blank lines inside fence edges", f"```python\n\n{NEW}\n\n```", "python", ORIGINAL, NEW),
    ("inline code only", f"`{LINE_NEW}`", "python", LINE_ORIGINAL, LINE_NEW),
    (
        "inline code in a sentence",
        f"You can simply write `{LINE_NEW}` instead.",
        "python",
        LINE_ORIGINAL,
        LINE_NEW,
    ),
    (
        "prompt prefilled the fence: stray closing fence",
        f"{NEW}\n```\n\nThis is shorter.",
        "python",
        ORIGINAL,
        NEW,
    ),
    (
        "fence indented in a list item",
        "1. Replace the function:\n\n   ```python\n   def total(items):\n"
        "       return sum(item.price * item.qty for item in items)\n   ```",
        "python",
        ORIGINAL,
        NEW,
    ),
    ("info string with title", f'```python title="cart.py"\n{NEW}\n```', "python", ORIGINAL, NEW),
    (
        "javascript with npm block",
        f"```sh\nnpm test\n```\n\n```javascript\n{JS_NEW}\n```",
        "javascript",
        JS_ORIGINAL,
        JS_NEW,
    ),
    (
        "typescriptreact takes tsx tag",
        f"```tsx\n{JS_NEW}\n```",
        "typescriptreact",
        JS_ORIGINAL,
        JS_NEW,
    ),
    ("go keeps tabs", f"```go\n{GO_NEW}\n```", "go", GO_ORIGINAL, GO_NEW),
    (
        "claude xml wrapper",
        f"<refactored_code>\n{NEW}\n</refactored_code>\n\nThe loop became a sum.",
        "python",
        ORIGINAL,
        NEW,
    ),
    ("leaked end token", f"```python\n{NEW}\n```<|im_end|>", "python", ORIGINAL, NEW),
    (
        "gpt-oss harmony channels",
        "<|channel|>analysis<|message|>Use sum.<|end|><|start|>assistant<|channel|>final"
        f"<|message|>```python\n{NEW}\n```",
        "python",
        ORIGINAL,
        NEW,
    ),
    (
        "markdown heading before fence",
        f"### Refactored Code\n\n```python\n{NEW}\n```\n\n### Explanation\nShorter.",
        "python",
        ORIGINAL,
        NEW,
    ),
    (
        "python comment first line is kept",
        f"# Sum of line totals\n{NEW}",
        "python",
        ORIGINAL,
        f"# Sum of line totals\n{NEW}",
    ),
    (
        "rust attributes are not headings",
        "Here you go:\n\n#[derive(Debug)]\nstruct P {\n    x: i32,\n}",
        "rust",
        "struct P { x: i32 }",
        "#[derive(Debug)]\nstruct P {\n    x: i32,\n}",
    ),
    (
        "javascript with markdown heading after",
        f"{JS_NEW}\n\n# Explanation\nUses reduce.",
        "javascript",
        JS_ORIGINAL,
        JS_NEW,
    ),
    (
        "forgot to close the first block",
        f"```python\nprint(total(cart))\n```python\n{NEW}\n```",
        "python",
        ORIGINAL,
        NEW,
    ),
    (
        "then a larger test block does not win",
        f"Here's the refactored function:\n```python\n{NEW}\n```\n"
        "Then add these tests:\n```python\nimport pytest\n\n\ndef test_empty():\n"
        "    assert total([]) == 0\n\n\ndef test_one():\n    assert total([item]) == 6\n"
        "\n\ndef test_two():\n    assert total([item, item]) == 12\n```",
        "python",
        ORIGINAL,
        NEW,
    ),
    (
        "llama lead-in sentence with inline code and numbered bold notes",
        "Certainly! I've simplified the loop using Python's built-in `sum` function:\n\n"
        f"{NEW}\n\n### Explanation:\n1. **Generator expression**: no accumulator.\n"
        "2. **Readability**: one line.",
        "python",
        ORIGINAL,
        NEW,
    ),
    (
        "one-line selection: lead-in with inline code, then the line",
        f"Use the built-in `sum` instead:\n\n{LINE_NEW}",
        "python",
        LINE_ORIGINAL,
        LINE_NEW,
    ),
    (
        "over-indented code keeps its indentation for build_block",
        "```python\n    def total(items):\n        return 0\n```",
        "python",
        ORIGINAL,
        "    def total(items):\n        return 0",
    ),
]


@pytest.mark.parametrize(
    ("answer", "language", "original", "expected"),
    [case[1:] for case in FOUND],
    ids=[case[0] for case in FOUND],
)
def test_extracts_code(answer: str, language: str, original: str, expected: str) -> None:
    result = extract_code(answer, language=language, original=original)
    assert result.code == expected, result.reason
    assert result.ok
    assert result.reason  # says which rule picked the code (logs)


# (id, answer, original, reason fragment)
NOT_FOUND: list[tuple[str, str, str, str]] = [
    ("empty answer", "", ORIGINAL, "empty"),
    ("whitespace answer", "  \n\t\n", ORIGINAL, "empty"),
    (
        "unterminated think at the start",
        "<think>\nThe user wants a refactor. First I should consider",
        ORIGINAL,
        "reasoning",
    ),
    ("only reasoning", "<think>I could use sum.</think>\n\n", ORIGINAL, "only reasoning"),
    (
        "pure prose",
        "The code is already clear and efficient. I would not change it.\n\n"
        "If you want, you could add type hints.",
        ORIGINAL,
        "no code",
    ),
    (
        "refusal",
        "I'm sorry, but I can't help with that request.",
        ORIGINAL,
        "no code",
    ),
    ("empty fenced block", "Here:\n```python\n\n```", ORIGINAL, "empty"),
    (
        "diff only",
        "```diff\n-    result = 0\n+    return sum(...)\n```",
        ORIGINAL,
        "diff",
    ),
    (
        "hint with two inline spans is not a line of code",
        "Replace `reduce(lambda a, b: a + b, values, 0)` with `sum(values)`.",
        LINE_ORIGINAL,
        "no code",
    ),
    (
        "echoed instruction only",
        "Refactor the selected Python function to improve readability.",
        ORIGINAL,
        "no code",
    ),
]


@pytest.mark.parametrize(
    ("answer", "original", "fragment"),
    [case[1:] for case in NOT_FOUND],
    ids=[case[0] for case in NOT_FOUND],
)
def test_reports_why_there_is_no_code(answer: str, original: str, fragment: str) -> None:
    result = extract_code(answer, language="python", original=original)
    assert result == Extracted(None, result.reason)
    assert not result.ok
    assert fragment in result.reason


def test_never_returns_fence_or_prose_lines() -> None:
    answer = (
        "Sure! Here's the improved version:\n\n```python\n"
        f"{NEW}\n```\n\nLet me know if you need anything else!"
    )
    code = extract_code(answer, language="python", original=ORIGINAL).code
    assert code is not None
    lines = code.split("\n")
    assert not any(line.lstrip().startswith(("```", "~~~")) for line in lines)
    assert "Sure" not in code and "Let me know" not in code


def test_output_uses_lf_and_no_blank_edges() -> None:
    code = extract_code(
        f"\r\n```python\r\n\r\n{NEW}\r\n\r\n```\r\n", language="python", original=""
    )
    assert code.code == NEW
    assert "\r" not in (code.code or "")


def test_unknown_language_takes_untagged_block() -> None:
    answer = "```json\n{}\n```\n```\nputs 'hi'\n```"
    assert extract_code(answer, language="ruby", original="puts 'x'").code == "puts 'hi'"


def test_empty_original_prefers_largest_block() -> None:
    answer = "```python\nimport pytest\n```\n```python\ndef test_a():\n    assert f() == 1\n```"
    result = extract_code(answer, language="python", original="")
    assert result.code == "def test_a():\n    assert f() == 1"


def test_unterminated_fence_is_noted_for_the_logs() -> None:
    result = extract_code(
        "```python\ndef total(items):\n    return 0", language="python", original=""
    )
    assert result.code == "def total(items):\n    return 0"
    assert "unterminated" in result.reason
    closed = extract_code(f"```python\n{NEW}\n```", language="python", original=ORIGINAL)
    assert "unterminated" not in closed.reason


DOCSTRING_WITH_EXAMPLE = '''\
def total(items):
    """Sum of price times quantity.

    ```
    total([Item(2, 3)])  # 6
    ```
    """
    return sum(item.price * item.qty for item in items)'''


@pytest.mark.parametrize("fence", ["```", "~~~"])
def test_a_fence_indented_four_columns_is_code_not_the_closing_fence(fence: str) -> None:
    """CommonMark closes a fence indented at most 3 columns: a docstring's own Markdown
    example (indented with the code) must survive whole."""
    code = DOCSTRING_WITH_EXAMPLE.replace("```", fence)
    answer = f"Here it is:\n\n{fence}python\n{code}\n{fence}\n\nThe docstring has an example."
    assert extract_code(answer, language="python", original=ORIGINAL).code == code


def test_a_fence_indented_in_a_list_item_keeps_its_docstring_example() -> None:
    nested = "\n".join(f"   {line}" if line else "" for line in DOCSTRING_WITH_EXAMPLE.split("\n"))
    answer = f"1. Document it:\n\n   ```python\n{nested}\n   ```"
    assert extract_code(answer, language="python", original=ORIGINAL).code == (
        DOCSTRING_WITH_EXAMPLE
    )


def test_a_fence_indented_three_columns_still_closes() -> None:
    answer = f"```python\n{NEW}\n   ```\nExplanation: shorter."
    assert extract_code(answer, language="python", original=ORIGINAL).code == NEW
