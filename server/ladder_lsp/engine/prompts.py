"""Prompts: the task, the code and just enough context, bounded by the model's context window.

The system prompt is fixed per action so Claude can cache it; the user part carries the file's
imports and the headers of the blocks that enclose the selection (class signature, outer
function), which is what a model needs to keep `self`, names and style right.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence

import attrs

from ladder_lsp.analysis.languages import import_words
from ladder_lsp.analysis.text import indent_width
from ladder_lsp.backends.base import ChatRequest
from ladder_lsp.engine.actions import ActionSpec

CHARS_PER_TOKEN = 3.5
MIN_ANSWER_TOKENS = 512  # the least an answer gets: below it the prompt is too large
MAX_ANSWER_TOKENS = 32_000  # within every current Claude model's output limit
CLAUDE_CONTEXT_TOKENS = 200_000  # every current Claude model's context window
PROMPT_MARGIN_TOKENS = 256
_ROUNDING_TOKENS = 4  # estimates of the joined prompt exceed the sum of its parts' by this
# The answer, per token of the selected code: a rewrite may grow, a docstring adds prose,
# tests are several times the code under test, an explanation is about as long.
_ANSWER_FACTOR = {"docstring": 2.5, "tests": 4.0, "explain": 1.5}
_EDIT_FACTOR = 2.0
# plus room for what surrounds the code: a fence, a lead-in line, a short reasoning preamble
_ANSWER_HEADROOM = {"tests": 1024}
_EDIT_HEADROOM = 512
IMPORT_RE = re.compile(
    r"^\s*(import\s|from\s+\S+\s+import\s|#include\s|use\s|using\s|require\(|package\s|"
    r"const\s+\w+\s*=\s*require\()"
)
MAX_IMPORT_LINES = 40

EDIT_RULES = (
    "You are a code-editing tool inside an editor. Reply with the complete replacement for the "
    "code you are given, in exactly one fenced code block, and nothing else: no explanations, "
    "no placeholders such as '...' or '# rest unchanged', no other parts of the file. Keep the "
    "original indentation style."
)
EXPLAIN_RULES = (
    "You are a senior engineer explaining code to a colleague inside their editor. Answer in "
    "concise GitHub-flavoured Markdown."
)
TESTS_RULES = (
    "You are a code-writing tool inside an editor. Reply with one complete test module in "
    "exactly one fenced code block and nothing else. Use the project's usual test framework "
    "for the language (pytest for Python)."
)


@attrs.frozen
class BuiltRequest(ChatRequest):
    """A request as `build` made it, with what the user must hear about it."""

    trimmed: str = ""  # which context lines were left out to fit the window; "" if none


class PromptTooLarge(Exception):
    """The selection alone does not fit the model's context window."""

    def __init__(self, needed: int, available: int) -> None:
        super().__init__(
            f"the selection needs about {needed} tokens but the model's context allows {available}"
        )
        self.needed = needed
        self.available = available


@attrs.frozen
class PromptInput:
    spec: ActionSpec
    language: str
    path: str
    lines: Sequence[str]  # the whole document
    start_line: int
    end_line: int  # exclusive
    code: str  # the selected text
    diagnostics: tuple[str, ...] = ()
    retry_reason: str = ""  # a previous answer failed this check
    test_module: str = ""  # import path of the code under test (tests action)
    instruction: str = ""  # the user's own words: what to do (edit) or extra guidance


def estimate_tokens(text: str) -> int:
    return int(len(text) / CHARS_PER_TOKEN) + 1


def beyond_every_window(code: str, local_window: int) -> str:
    """Why no model could take this selection at all ('' when one could). Checked before
    anything reads the whole selection (scoring, the secret scan), so a 10 MB file fails in
    a moment instead of blocking the server for seconds."""
    needed = estimate_tokens(code)
    largest = max(local_window, CLAUDE_CONTEXT_TOKENS)
    if needed + MIN_ANSWER_TOKENS <= largest:
        return ""
    return (
        f"The selection is too large for any model: it needs about {needed:,} tokens and the "
        f"largest context window is {largest:,}; select a function or a class instead."
    )


def answer_budget(code: str, spec: ActionSpec, room: int | None = None) -> int:
    """Tokens to allow for the answer: sized from the selected code, so a long function is
    not cut off at a fixed limit, and never more than `room` (what the context window
    leaves after the prompt)."""
    factor = _ANSWER_FACTOR.get(spec.id, _EDIT_FACTOR)
    wanted = int(estimate_tokens(code) * factor) + _ANSWER_HEADROOM.get(spec.id, _EDIT_HEADROOM)
    wanted = min(max(wanted, MIN_ANSWER_TOKENS), MAX_ANSWER_TOKENS)
    return wanted if room is None else max(min(wanted, room), 0)


def build(inp: PromptInput, context_tokens: int) -> BuiltRequest:
    """The request for one run; raises PromptTooLarge when even the bare code cannot fit.

    The answer's room is reserved first; imports and enclosing headers get what is left,
    and the request says which of their lines did not fit (`BuiltRequest.trimmed`)."""
    system = _system(inp.spec)
    task = _task(inp)
    code = _code_block(inp)
    fixed = estimate_tokens(system) + estimate_tokens(task) + estimate_tokens(code)
    available = context_tokens - PROMPT_MARGIN_TOKENS
    if fixed + MIN_ANSWER_TOKENS > available:
        raise PromptTooLarge(fixed + MIN_ANSWER_TOKENS, available)
    reserved = answer_budget(inp.code, inp.spec, available - fixed)
    room_tokens = available - fixed - reserved - _ROUNDING_TOKENS
    context, left_out = _context(inp, int(room_tokens * CHARS_PER_TOKEN))
    user = "\n\n".join(part for part in (task, context, code) if part)
    prompt_tokens = estimate_tokens(system) + estimate_tokens(user)
    return BuiltRequest(
        system=system,
        user=user,
        max_tokens=answer_budget(inp.code, inp.spec, available - prompt_tokens),
        trimmed=_trimmed_note(left_out),
    )


def _system(spec: ActionSpec) -> str:
    if not spec.edits_code:
        return EXPLAIN_RULES
    if spec.id == "tests":
        return TESTS_RULES
    return EDIT_RULES


def _task(inp: PromptInput) -> str:
    spec = inp.spec
    if spec.custom_prompt:
        text = (
            spec.custom_prompt.replace("{code}", "(the code below)")
            .replace("{language}", inp.language)
            .replace("{path}", inp.path)
        )
    else:
        text = spec.task
    lines = [f"Task: {text}"]
    if inp.instruction.strip():
        lines.append(f"Instruction from the user: {inp.instruction.strip()}")
    lines += [f"Language: {inp.language}", f"File: {inp.path}"]
    if inp.diagnostics:
        lines.append("Diagnostics to fix:")
        lines.extend(f"- {d}" for d in inp.diagnostics)
    if inp.test_module:
        lines.append(f"Import the code under test as: {inp.test_module}")
    if inp.retry_reason:
        lines.append(
            f"A previous answer was rejected because: {inp.retry_reason}. Avoid that mistake."
        )
    return "\n".join(lines)


def _code_block(inp: PromptInput) -> str:
    label = "Code" if inp.spec.edits_code else "Code to explain"
    return f"{label} (lines {inp.start_line + 1}-{inp.end_line}):\n```{inp.language}\n" + (
        inp.code.rstrip("\n") + "\n```"
    )


_Numbered = list[tuple[int, str]]  # (0-based document line, text without its ending)


def _context(inp: PromptInput, room_chars: int) -> tuple[str, list[tuple[str, list[int]]]]:
    """Enclosing headers then imports (most useful first), in whole lines within
    `room_chars`, and what did not fit: (what, 0-based document lines) per section."""
    sections: list[tuple[str, str, _Numbered]] = [
        (
            "Enclosing definitions (for context, do not repeat them):",
            "enclosing definitions",
            _enclosing(inp.lines, inp.start_line),
        ),
        (
            "Imports of the file:",
            "imports",
            _imports(inp.lines, inp.start_line, import_words(inp.language)),
        ),
    ]
    parts: list[str] = []
    used = 0
    left_out: list[tuple[str, list[int]]] = []
    for title, what, items in sections:
        if not items:
            continue
        lines = [title]
        cost = used + (2 if parts else 0) + len(title)
        kept = 0
        for _number, text in items:
            if left_out or cost + 1 + len(text) > room_chars:
                break
            cost += 1 + len(text)
            lines.append(text)
            kept += 1
        if kept:
            parts.append("\n".join(lines))
            used = cost
        if kept < len(items):
            left_out.append((what, [number for number, _text in items[kept:]]))
    return "\n\n".join(parts), left_out


def _trimmed_note(left_out: list[tuple[str, list[int]]]) -> str:
    """`context trimmed to fit the model's context window: the imports on lines 1-40 were
    not sent`: the user learns why the model may have missed a name."""
    if not left_out:
        return ""
    said = " and ".join(f"the {what} on {_line_ranges(numbers)}" for what, numbers in left_out)
    return f"context trimmed to fit the model's context window: {said} were not sent"


def _line_ranges(numbers: list[int]) -> str:
    """0-based line numbers as the user counts them: `line 7`, `lines 1-40, 52`."""
    runs: list[list[int]] = []
    for number in sorted(numbers):
        if runs and number == runs[-1][1] + 1:
            runs[-1][1] = number
        else:
            runs.append([number, number])
    text = ", ".join(f"{a + 1}" if a == b else f"{a + 1}-{b + 1}" for a, b in runs)
    return f"line {text}" if len(numbers) == 1 else f"lines {text}"


def _imports(lines: Sequence[str], before: int, words: Sequence[str]) -> _Numbered:
    """The import lines above `before` (`IMPORT_RE`), found by the `words` one of each
    language's import lines holds (`languages.import_words`)."""
    head = lines[:before]
    text = "".join(head)
    # this scan reads the whole file above the selection on every run: C finds the few
    # lines that may be imports, the regex decides (a lone `\r` ends lines `\n` misses)
    candidates = _hinted_lines(text, words) if "\r" not in text else range(before)
    numbers = (n for n in candidates if IMPORT_RE.match(head[n]))
    return [(n, head[n].rstrip("\r\n")) for n in itertools.islice(numbers, MAX_IMPORT_LINES)]


def _hinted_lines(text: str, words: Sequence[str]) -> list[int]:
    """0-based lines of `text` (`\n` endings) holding one of `words`."""
    found: set[int] = set()
    for word in words:
        at = text.find(word)
        while at != -1:
            found.add(at)
            at = text.find(word, at + 1)
    lines: list[int] = []
    line, counted = 0, 0
    for at in sorted(found):
        line += text.count("\n", counted, at)
        counted = at
        if not lines or lines[-1] != line:
            lines.append(line)
    return lines


def enclosing_headers(lines: Sequence[str], start_line: int) -> list[str]:
    """Lines above the selection that open the blocks it sits in (`class Cart(Base):` …)."""
    return [text for _number, text in _enclosing(lines, start_line)]


def _enclosing(lines: Sequence[str], start_line: int) -> _Numbered:
    if start_line >= len(lines):
        return []
    first = next((ln for ln in lines[start_line:] if ln.strip()), "")
    level = indent_width(first)
    headers: _Numbered = []
    for number in range(start_line - 1, -1, -1):
        if level == 0:
            break
        line = lines[number]
        if not line.strip():
            continue
        if indent_width(line) < level and not line.lstrip().startswith(("#", "//", "@")):
            headers.append((number, line.rstrip("\r\n")))
            level = indent_width(line)
    return list(reversed(headers))
