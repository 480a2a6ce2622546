"""Prompts: the task, the code and just enough context, bounded by the model's context window.

The system prompt is fixed per action so Claude can cache it; the user part carries the file's
imports and the headers of the blocks that enclose the selection (class signature, outer
function), which is what a model needs to keep `self`, names and style right.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import attrs

from .actions import ActionSpec
from .backends.base import ChatRequest

CHARS_PER_TOKEN = 3.5
MIN_ANSWER_TOKENS = 512
PROMPT_MARGIN_TOKENS = 256
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


def estimate_tokens(text: str) -> int:
    return int(len(text) / CHARS_PER_TOKEN) + 1


def answer_budget(code: str, spec: ActionSpec) -> int:
    """Room for the answer: a rewrite is about as long as the code, docs and tests longer."""
    base = estimate_tokens(code)
    factor = {"docstring": 2.0, "tests": 3.0, "explain": 1.0}.get(spec.id, 1.5)
    return max(MIN_ANSWER_TOKENS, int(base * factor) + 128)


def build(inp: PromptInput, context_tokens: int) -> ChatRequest:
    """The request for one run; raises PromptTooLarge when even the bare code cannot fit."""
    max_answer = answer_budget(inp.code, inp.spec)
    system = _system(inp.spec)
    task = _task(inp)
    fixed = estimate_tokens(system) + estimate_tokens(task) + estimate_tokens(inp.code)
    available = context_tokens - PROMPT_MARGIN_TOKENS
    if fixed + min(max_answer, MIN_ANSWER_TOKENS) > available:
        raise PromptTooLarge(fixed + MIN_ANSWER_TOKENS, available)
    max_answer = min(max_answer, available - fixed)
    room_chars = int((available - fixed - max_answer) * CHARS_PER_TOKEN)
    context = _context(inp, room_chars)
    user = "\n\n".join(part for part in (task, context, _code_block(inp)) if part)
    return ChatRequest(system=system, user=user, max_tokens=max_answer)


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
    lines = [f"Task: {text}", f"Language: {inp.language}", f"File: {inp.path}"]
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


def _context(inp: PromptInput, room_chars: int) -> str:
    """Imports and enclosing headers, most useful first, cut to the room left."""
    if room_chars <= 0:
        return ""
    parts: list[str] = []
    imports = _imports(inp.lines, inp.start_line)
    headers = enclosing_headers(inp.lines, inp.start_line)
    if headers:
        parts.append(
            "Enclosing definitions (for context, do not repeat them):\n" + "\n".join(headers)
        )
    if imports:
        parts.append("Imports of the file:\n" + "\n".join(imports))
    text = "\n\n".join(parts)
    if len(text) <= room_chars:
        return text
    cut = text[: room_chars + 1]  # whole lines only: a half import or header misleads
    return cut[: cut.rfind("\n")].rstrip() if "\n" in cut else ""


def _imports(lines: Sequence[str], before: int) -> list[str]:
    found: list[str] = []
    for line in lines[:before]:
        if IMPORT_RE.match(line):
            found.append(line.rstrip("\r\n"))
            if len(found) >= MAX_IMPORT_LINES:
                break
    return found


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def enclosing_headers(lines: Sequence[str], start_line: int) -> list[str]:
    """Lines above the selection that open the blocks it sits in (`class Cart(Base):` …)."""
    if start_line >= len(lines):
        return []
    first = next((ln for ln in lines[start_line:] if ln.strip()), "")
    level = _indent(first)
    headers: list[str] = []
    for line in reversed(lines[:start_line]):
        if level == 0:
            break
        if not line.strip():
            continue
        if _indent(line) < level and not line.lstrip().startswith(("#", "//", "@")):
            headers.append(line.rstrip("\r\n"))
            level = _indent(line)
    return list(reversed(headers))
