"""Checks an edit must pass before it reaches the user's document.

A check is a pure function of a `CheckContext` that returns None (pass) or a short reason a
user can read ("the answer was cut off at the token limit"). Checks are registered per action
(`None` = every action that edits), so per-action semantic guards join the same registry
instead of growing a second pipeline. `run_checks` never raises: a check that crashes is
reported as a failure, because an unchecked edit must not slip through.

A failing check is what lets the router retry or escalate to a stronger tier, so the reasons
name what is wrong with the answer, not what the user did.
"""

from __future__ import annotations

import ast
import collections
import re
import textwrap
from collections.abc import Callable, Iterator

import attrs

from ladder_lsp.analysis import syntax
from ladder_lsp.analysis.python.parse import compile_error, parse
from ladder_lsp.analysis.python.units import cut_unit
from ladder_lsp.analysis.text import indent_width
from ladder_lsp.pipeline.checks import guards
from ladder_lsp.pipeline.target import BOM


@attrs.frozen
class CheckContext:
    """One proposed edit: the documents and edited blocks before and after, and how the
    model stopped. Blocks are whole lines (`Target.block_text` and the built block)."""

    action: str  # "refactor", "docstring", "fix", "tests", "explain" or a custom action id
    language: str  # LSP languageId
    old_document: str
    new_document: str
    old_block: str
    new_block: str
    finish_reason: str = "stop"
    diagnostics: tuple[str, ...] = ()
    source_path: str = ""  # the file the action ran on (tests: the code under test)
    custom_prompt: str = ""  # a custom action's prompt (`actions.custom`); "" for built-ins
    source_code: str = ""  # tests: the selected code the tests are written for


Check = Callable[[CheckContext], str | None]

# Actions whose answer is not applied as an edit: only checks registered for them run.
NON_EDIT_ACTIONS = frozenset({"explain"})

_REGISTRY: dict[str | None, list[Check]] = {}


def register(action: str | None, check: Check) -> None:
    """Add a check for one action id, or for every edit action when `action` is None.

    Registering the same function twice for an action is a no-op (safe on re-import).
    """
    checks = _REGISTRY.setdefault(action, [])
    if check not in checks:
        checks.append(check)


def unregister(action: str | None, check: Check) -> None:
    """Remove a check (tests, or a plugin that replaces a built-in check)."""
    checks = _REGISTRY.get(action, [])
    if check in checks:
        checks.remove(check)


def checks_for(action: str, *, custom: bool = False) -> tuple[Check, ...]:
    """The checks `run_checks` runs for `action`, in order: common ones first. A custom
    action (one with a prompt of its own) without checks of its own gets the `custom` ones."""
    common = () if action in NON_EDIT_ACTIONS else tuple(_REGISTRY.get(None, ()))
    specific = _REGISTRY.get(action)
    if specific is None and custom:
        specific = _REGISTRY.get(guards.CUSTOM)
    return common + tuple(specific or ())


def run_checks(ctx: CheckContext) -> list[str]:
    """Every failing reason, in registration order; an empty list means the edit may go."""
    reasons: list[str] = []
    for check in checks_for(ctx.action, custom=bool(ctx.custom_prompt)):
        try:
            reason = check(ctx)
        except Exception as exc:  # a check must never take the request down
            name = getattr(check, "__name__", repr(check))
            reason = f"internal error in check {name}: {type(exc).__name__}: {exc}"
        if reason:
            reasons.append(reason)
    return reasons


# --- common checks --------------------------------------------------------------------


def check_truncated(ctx: CheckContext) -> str | None:
    """A cut-off answer may look complete after extraction; never apply it."""
    if ctx.finish_reason in ("length", "max_tokens"):
        return "the answer was cut off at the token limit"
    return None


def check_empty(ctx: CheckContext) -> str | None:
    """No code where there was code. `fix` may legitimately delete (an unused import)."""
    if ctx.action != "fix" and not ctx.new_block.strip() and ctx.old_block.strip():
        return "the answer is empty"
    return None


def _comparable(text: str) -> list[str]:
    lines = [line.rstrip() for line in syntax.normalize_newlines(text).split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    while lines and not lines[0]:
        lines.pop(0)
    return lines


def check_unchanged(ctx: CheckContext) -> str | None:
    """Trailing whitespace and blank edges do not count as a change."""
    if ctx.new_block.strip() and _comparable(ctx.old_block) == _comparable(ctx.new_block):
        return "the model returned the code unchanged"
    return None


_FENCE_LINE = re.compile(r"^[ \t]*(?:`{3,}|~{3,})")


def check_markdown(ctx: CheckContext) -> str | None:
    """A fence line inside the code means extraction took Markdown for code."""
    if _fence_lines(ctx.new_block, ctx.language) > _fence_lines(ctx.old_block, ctx.language):
        return "the answer's code contains Markdown fences"
    return None


def _fence_lines(block: str, language: str) -> int:
    """Fence-like lines outside string literals: a Python docstring may hold a Markdown
    example with its own fences, and that is code."""
    lines = syntax.normalize_newlines(block).split("\n")
    fences = {number for number, line in enumerate(lines, 1) if _FENCE_LINE.match(line)}
    if fences and language.lower() == "python":
        fences -= _python_string_lines(block)
    return len(fences)


def _python_string_lines(block: str) -> frozenset[int]:
    """Line numbers (1-based) inside multi-line string literals; none when the block does
    not parse alone (then every fence counts, the strict reading)."""
    tree = _python_tree(_dedented(block))
    if tree is None:
        return frozenset()
    return frozenset(
        number
        for node in ast.walk(tree)
        if isinstance(node, (ast.Constant, ast.JoinedStr)) and node.end_lineno
        for number in range(node.lineno + 1, node.end_lineno + 1)
    )


# C0/C1 controls other than tab and line breaks (ANSI escapes, backspace, NUL), the
# bidirectional controls of "Trojan Source" (CVE-2021-42574) and invisible characters that
# make code read differently from how it runs. ZWJ/ZWNJ (U+200C/D) are left out: emoji and
# several scripts need them in strings.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200b\u200e\u200f\u2028-\u202e"
    "\u2060-\u2064\u2066-\u2069\ufeff]"
)


def check_invisible(ctx: CheckContext) -> str | None:
    """Control characters the original did not have: they hide what the code does (a
    reversed string, a terminal escape), and a reviewer cannot see them in the diff."""
    before = collections.Counter(_INVISIBLE.findall(ctx.old_block))
    added = collections.Counter(_INVISIBLE.findall(ctx.new_block)) - before
    if not added:
        return None
    names = ", ".join(f"U+{ord(char):04X}" for char in sorted(added)[:3])
    more = ", …" if len(added) > 3 else ""
    return f"the answer adds invisible or bidirectional control characters ({names}{more})"


_COMMENT_BODY = re.compile(
    r"(?:^|\s)(?:#|//+|/\*+|--|<!--|\{/\*)\s*(?P<body>.*?)\s*(?:\*/\}?|-->)?$"
)
_ELLIPSIS = r"(?:\.{3}|…)"
_PLACEHOLDER_WORD = (
    r"(?:rest|existing|remaining|unchanged|same|other|previous|original|omitted|more|code"
    r"|implementation|logic|here|etc|as before|body|methods?|functions?)"
)
# "… more code ..." but not "Loading more..." or "wait here...": stricter before a final "...".
_TRAILING_WORD = (
    r"(?:rest|existing|remaining|unchanged|same|previous|original|omitted|etc|as before"
    r"|(?:other|more) (?:code|methods?|functions?|cases|logic))"
)
_PLACEHOLDER_COMMENT = re.compile(
    rf"^{_ELLIPSIS}$"
    rf"|^\(?{_ELLIPSIS}\s*[(\[]?{_PLACEHOLDER_WORD}\b"
    rf"|\b{_TRAILING_WORD}\b[^.…]*{_ELLIPSIS}\)?$"
    r"|\brest of (?:the |your |this )?(?:code|file|function|method|class|implementation|body"
    r"|logic|module|component|tests?|cases?|lines?|program|script)\b"
    r"|\b(?:existing|remaining|other|previous|original|unchanged) (?:code|methods?|functions?"
    r"|logic|implementation|lines|cases|fields|properties|tests?|imports?|members)\b"
    r".*\b(?:unchanged|remains?|stays?|same|as (?:is|before)|here|omitted|goes here|go here)\b"
    r"|^\(?(?:unchanged|same as (?:before|above|original|the original)|no changes?(?: here)?"
    r"|omitted(?: for brevity)?)\)?\.?$"
    r"|\b(?:omitted|truncated|elided|skipped) for brevity\b"
    r"|\bkeep (?:the )?(?:rest|existing)\b",
    re.IGNORECASE,
)
_PLACEHOLDER_LINE = re.compile(
    rf"^[\[<({{]\s*{_ELLIPSIS}?\s*(?:rest|remaining|existing|other|previous|unchanged|same"
    rf"|code|more)\b[^\]>)}}]*[\]>)}}]$"
    rf"|^{_ELLIPSIS}$",
    re.IGNORECASE,
)


def _placeholders(block: str, language: str) -> list[str]:
    found = []
    for line in syntax.normalize_newlines(block).split("\n"):
        stripped = line.strip()
        if not stripped:
            continue
        # A bare `...` is a statement in Python: the AST count judges it there.
        if _PLACEHOLDER_LINE.match(stripped) and not (language == "python" and stripped == "..."):
            found.append(stripped)
            continue
        comment = _COMMENT_BODY.search(stripped)
        if comment and _PLACEHOLDER_COMMENT.search(comment.group("body")):
            found.append(stripped)
    return found


def check_placeholders(ctx: CheckContext) -> str | None:
    """Lazy answers elide code ("# ... rest of the code"); applying them deletes it."""
    old = _placeholders(ctx.old_block, ctx.language)
    new = _placeholders(ctx.new_block, ctx.language)
    if len(new) > len(old):
        extra = next((line for line in new if line not in old), new[-1])
        return f"the answer leaves code out ({_shorten(extra)})"
    if ctx.language == "python" and re.search(r"\.\.\.|\bpass\b", ctx.new_block):
        counts = _python_stub_count(ctx)
        if counts is not None and counts[1] > counts[0]:
            return "the answer replaces a function body with `...` or `pass`"
    return None


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


_DISTINCTIVE = re.compile(r"[A-Za-z_]\w{2,}")


def _block_start(ctx: CheckContext) -> int | None:
    """Where the block sits: old = head + old_block + tail and new = head + new_block + tail."""
    old_doc, new_doc = ctx.old_document, ctx.new_document
    tail_len = len(old_doc) - len(ctx.old_block)
    position = old_doc.find(ctx.old_block)
    while position != -1:
        tail = old_doc[position + len(ctx.old_block) :]
        if (
            new_doc.startswith(ctx.new_block, position)
            and old_doc[:position] == new_doc[:position]
            and new_doc.endswith(tail)
            and len(tail) <= tail_len
        ):
            return position
        position = old_doc.find(ctx.old_block, position + 1)
    return None


def _neighbours(ctx: CheckContext, count: int = 2) -> list[str]:
    """Distinctive lines right above and below the edited block."""
    start = _block_start(ctx)
    if start is None:
        return []
    head = ctx.old_document[:start].splitlines()
    tail = ctx.old_document[start + len(ctx.old_block) :].splitlines()
    picked: list[str] = []
    for lines in (reversed(head), iter(tail)):
        taken = 0
        for line in lines:
            text = line.strip()
            if not text:
                continue
            if len(text) >= 6 and _DISTINCTIVE.search(text):
                picked.append(text)
            taken += 1
            if taken == count:
                break
    return picked


def check_repeated_context(ctx: CheckContext) -> str | None:
    """The answer repeats a line from around the selection (the class header, the next
    function): applying it would duplicate that code."""
    if not ctx.old_block.strip() or not ctx.new_block.strip():
        return None
    old_lines = {line.strip() for line in ctx.old_block.splitlines()}
    new_lines = {line.strip() for line in ctx.new_block.splitlines()}
    for line in _neighbours(ctx):
        if line in new_lines and line not in old_lines:
            return f"the answer repeats code from around the selection ({_shorten(line)})"
    return None


# --- Python helpers -------------------------------------------------------------------


def _python_tree(text: str) -> ast.Module | None:
    """The shared, cached tree (`analysis.python.parse`); Python's decoder drops a file's BOM
    before compiling, so the checks read the text without it."""
    return parse(text.removeprefix(BOM))


def _python_stub_count(ctx: CheckContext) -> tuple[int, int] | None:
    """(before, after) counts of functions whose body is only `...`/`pass`, plus stray `...`
    statements. Both blocks are parsed alone (dedented) when they can be, else both whole
    documents, so the two counts always cover the same ground; None when neither parses.
    Abstract methods, overloads and Protocol members are real stubs and do not count.
    """
    pairs = (
        (_dedented(ctx.old_block), _dedented(ctx.new_block)),
        (ctx.old_document, ctx.new_document),
    )
    for old_text, new_text in pairs:
        old, new = _python_tree(old_text), _python_tree(new_text)
        if old is not None and new is not None:
            before = sum(1 for _ in _stubs(old.body, in_protocol=False))
            after = sum(1 for _ in _stubs(new.body, in_protocol=False))
            return before, after
    return None


def _dedented(block: str) -> str:
    return textwrap.dedent(syntax.normalize_newlines(block))


_STUB_DECORATORS = frozenset({"abstractmethod", "overload", "abstractproperty"})


def _is_ellipsis(stmt: ast.stmt) -> bool:
    return (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Constant)
        and stmt.value.value is Ellipsis
    )


def _is_docstring(stmt: ast.stmt) -> bool:
    return (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Constant)
        and isinstance(stmt.value.value, str)
    )


def _stubs(body: list[ast.stmt], *, in_protocol: bool) -> Iterator[ast.AST]:
    """Statement-level walk (expressions are never visited: cheap on big files)."""
    for stmt in body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            inner = [s for s in stmt.body if not (s is stmt.body[0] and _is_docstring(s))]
            decorators = {ast.unparse(d).rsplit(".", 1)[-1] for d in stmt.decorator_list}
            real_stub = in_protocol or bool(decorators & _STUB_DECORATORS)
            if (
                not real_stub
                and len(inner) == 1
                and (_is_ellipsis(inner[0]) or isinstance(inner[0], ast.Pass))
            ):
                yield stmt
                continue
            yield from _stubs(stmt.body, in_protocol=False)
        elif isinstance(stmt, ast.ClassDef):
            bases = {ast.unparse(b).rsplit(".", 1)[-1].split("[", 1)[0] for b in stmt.bases}
            yield from _stubs(stmt.body, in_protocol=bool(bases & {"Protocol", "ABC"}))
        else:
            if _is_ellipsis(stmt) and any(
                not (_is_ellipsis(other) or _is_docstring(other)) for other in body
            ):
                yield stmt  # `...` among real statements: "the rest goes here"
            for field in ("body", "orelse", "finalbody"):
                nested = getattr(stmt, field, None)
                if isinstance(nested, list):
                    yield from _stubs(nested, in_protocol=False)
            for handler in getattr(stmt, "handlers", ()):
                yield from _stubs(handler.body, in_protocol=False)
            for case in getattr(stmt, "cases", ()):
                yield from _stubs(case.body, in_protocol=False)


def _python_unit_syntax(ctx: CheckContext) -> str | bool | None:
    """The syntax verdict from the statements around the block (see `analysis.python.units`):
    compiling a whole 2,000-line document costs 15-50 ms, the unit well under 1 ms. The
    lines outside the block are identical, so when the old unit compiles the new document
    compiles exactly when the new unit does. False when the unit cannot decide."""
    unit = cut_unit(ctx)
    if unit is None or _least_indent(ctx.new_block) < _least_indent(ctx.old_block):
        return False  # a line shallower than the block may break code after the unit
    error = compile_error(unit.new_text)
    if error is None:
        return None if compile_error(unit.old_text) is None else False
    if compile_error(unit.old_text) is not None:
        return False  # already broken here (or a misleading cut): ask the whole documents
    line, message = error
    # "… after 'for' statement on line 6": unit lines, shown as document lines
    message = re.sub(
        r"\bline (\d+)", lambda m: f"line {unit.new_doc_line(int(m.group(1)))}", message
    )
    return f"syntax error at line {unit.new_doc_line(line or 1)}: {message}"


def _least_indent(block: str) -> int:
    widths = [
        indent_width(line)
        for line in syntax.normalize_newlines(block).split("\n")
        if line.strip() and not line.lstrip().startswith("#")
    ]
    return min(widths, default=0)


def _python_syntax(ctx: CheckContext) -> str | None:
    verdict = _python_unit_syntax(ctx)
    if verdict is not False:
        return verdict if isinstance(verdict, str) else None
    # The new document alone decides the common case; the old one is compiled only to know
    # whether an error is the answer's fault (one compile instead of two on the happy path).
    error = compile_error(ctx.new_document.removeprefix(BOM))
    if error is None:
        return None
    if compile_error(ctx.old_document.removeprefix(BOM)) is None:
        line, message = error
        return f"syntax error at line {line or '?'}: {message}"
    # The document was already broken: the new code alone must not be worse than the old.
    old = syntax.error_count("python", _dedented(ctx.old_block))
    new = syntax.error_count("python", _dedented(ctx.new_block))
    if old is not None and new is not None and new > old:
        return f"the new code has syntax errors ({new}, the original had {old})"
    return None


def check_syntax(ctx: CheckContext) -> str | None:
    """The edit must not break the parse: Python compiles, others gain no tree-sitter errors."""
    language = ctx.language.lower()
    if language == "python":
        return _python_syntax(ctx)
    new = syntax.error_count(language, ctx.new_document)
    if not new:
        return None  # clean, or no grammar for this language
    old = syntax.error_count(language, ctx.old_document) or 0
    if new > old:
        line = syntax.first_error_line(language, ctx.new_document)
        where = f" near line {line + 1}" if line is not None else ""
        return f"syntax error{where} ({new} parse errors, the original had {old})"
    return None


for _check in (
    check_truncated,
    check_empty,
    check_invisible,
    check_unchanged,
    check_markdown,
    check_placeholders,
    check_repeated_context,
    check_syntax,
):
    register(None, _check)

# Per-action guards (docstring, refactor, fix, tests, custom): see `pipeline.checks.guards`.
for _action, _guard in guards.GUARDS:
    register(_action, _guard)
