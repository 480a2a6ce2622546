"""Python analysis shared by the guards: where the edited block sits, the smallest piece of
the document around it that means the same on its own (the *unit*), and what `ast` and
pyflakes say about that piece before and after the edit.

Why units: parsing or running pyflakes on a whole 2,000-line file costs 20-90 ms each here,
and the guards compare two versions. The edit only replaces the block, and the lines outside
it are checked to be identical, so analysing the statement that contains the block tells the
same story for a fraction of the cost:

- a block inside a function: that whole function (its locals are in scope);
- a block inside a class: the class header(s), a `pass` standing for the class members
  before the block, then the block's own statements (class scope is invisible to methods);
- a block of top-level statements: those statements, after a `''` standing for any code
  above (so a string at the start of the block is not taken for the module docstring).

Module-level names bound elsewhere (imports, defs, assignments) are found with a line scan,
so pyflakes does not call them undefined. Units are cut by indentation; when that misleads
(a triple-quoted string with text at column 0) the old unit fails to parse and the whole
documents are analysed instead: slower, never wrong.
"""

from __future__ import annotations

import ast
import functools
import re
import warnings
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import attrs

from ladder_lsp.analysis import syntax
from ladder_lsp.analysis.text import indent_width

if TYPE_CHECKING:
    from ladder_lsp.pipeline.checks.runner import CheckContext

# --- where the block is ---------------------------------------------------------------


@attrs.frozen
class Located:
    """The documents as lines (`\\n` endings) and the block: old lines [start, old_end)
    became new lines [start, new_end); everything else is identical."""

    old_lines: tuple[str, ...]
    new_lines: tuple[str, ...]
    start: int
    old_end: int
    new_end: int


def _norm(text: str) -> str:
    return syntax.normalize_newlines(text)


def _split(text: str) -> list[str]:
    """Lines with their `\\n` (text already normalised): LSP's lines, and fast."""
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def _count(text: str) -> int:
    return text.count("\n") + (0 if not text or text.endswith("\n") else 1)


@functools.lru_cache(maxsize=8)
def locate(ctx: CheckContext) -> Located | None:
    """Where old_document = head + old_block + tail and new_document = head + new_block +
    tail, at line boundaries; None when no such split exists (code outside the block
    changed) or the old block is empty."""
    old, new = _norm(ctx.old_document), _norm(ctx.new_document)
    old_block, new_block = _norm(ctx.old_block), _norm(ctx.new_block)
    if not old_block.strip():
        return None
    tail_len = len(old) - len(old_block)
    position = old.find(old_block)
    while position != -1:
        at_line_start = position == 0 or old[position - 1] == "\n"
        tail = old[position + len(old_block) :]
        if (
            at_line_start
            and len(tail) <= tail_len
            and new.startswith(new_block, position)
            and new.startswith(old[:position])
            and new.endswith(tail)
            and len(new) == position + len(new_block) + len(tail)
        ):
            start = old.count("\n", 0, position)
            return Located(
                tuple(_split(old)),
                tuple(_split(new)),
                start,
                start + _count(old_block),
                start + _count(new_block),
            )
        position = old.find(old_block, position + 1)
    return None


def first_outside_change(ctx: CheckContext) -> int | None:
    """1-based line of the new document where code outside the block differs, or None."""
    if locate(ctx) is not None or not ctx.old_block.strip():
        return None
    old = _split(_norm(ctx.old_document))
    new = _split(_norm(ctx.new_document))
    block_old = _split(_norm(ctx.old_block))
    prefix = 0
    limit = min(len(old), len(new))
    while prefix < limit and old[prefix] == new[prefix]:
        prefix += 1
    # The block starts where the old document holds it, at or after the common prefix.
    start = _find_lines(old, block_old, max(0, prefix - len(block_old)))
    if start is None or prefix < start:
        return prefix + 1
    suffix = 0
    while (
        suffix < len(old) - prefix
        and suffix < len(new) - prefix
        and old[-1 - suffix] == new[-1 - suffix]
    ):
        suffix += 1
    # Lines after the old block that did not survive: report the last one that changed.
    if len(old) - suffix > start + len(block_old):
        return max(len(new) - suffix, 1)
    return None


def _find_lines(lines: Sequence[str], block: Sequence[str], begin: int) -> int | None:
    if not block:
        return None
    for index in range(begin, len(lines) - len(block) + 1):
        if lines[index] == block[0] and list(lines[index : index + len(block)]) == list(block):
            return index
    return None


# --- parsing --------------------------------------------------------------------------


SMALL_TEXT = 20_000  # characters; trees of whole big documents are tens of MB: cache few


def parse(text: str) -> ast.Module | None:
    """The tree of `text`, or None when it does not parse. Cached: guards share trees."""
    return _parse_small(text) if len(text) <= SMALL_TEXT else _parse_large(text)


@functools.lru_cache(maxsize=32)
def _parse_small(text: str) -> ast.Module | None:
    return _parse(text)


@functools.lru_cache(maxsize=2)
def _parse_large(text: str) -> ast.Module | None:
    return _parse(text)


def _parse(text: str) -> ast.Module | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(text)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None


@functools.lru_cache(maxsize=32)
def compile_error(text: str) -> tuple[int, str] | None:
    """(1-based line, message) when `text` does not compile (parse or compile time)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(text, "<ladder>", "exec", dont_inherit=True)
    except SyntaxError as exc:
        return int(exc.lineno or 1), str(exc.msg)
    except (ValueError, MemoryError, RecursionError) as exc:
        return 1, str(exc)
    return None


# --- units ----------------------------------------------------------------------------

_CONTINUES = re.compile(r"(?:else|elif|except|finally)\b")
_HEADER_END = re.compile(r":\s*(?:#.*)?$")
_DEF = re.compile(r"(?:async\s+)?def\b")
_CLASS = re.compile(r"class\b")


def _is_code(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def _starts_statement(lines: Sequence[str], index: int) -> bool:
    """Whether the line opens a statement (not a continuation of the previous one)."""
    stripped = lines[index].strip()
    if not stripped or stripped[0] in "#)]}" or _CONTINUES.match(stripped):
        return False
    previous = index - 1
    while previous >= 0 and not _is_code(lines[previous]):
        previous -= 1
    if previous >= 0:
        text = lines[previous].rstrip()
        if text.endswith(("\\", "(", "[", "{", ",")):
            return False
    return True


def _statement_end(lines: Sequence[str], after: int, level: int, limit: int) -> int:
    """First line at or after `after` that opens a statement at `level` or shallower."""
    index = after
    while index < limit:
        line = lines[index]
        if _is_code(line) and indent_width(line) <= level and _starts_statement(lines, index):
            return index
        index += 1
    return limit


def _statement_start(lines: Sequence[str], before: int, level: int, floor: int) -> int | None:
    """The statement at `level` that contains line `before`, decorators included."""
    index = before
    while index >= floor:
        line = lines[index]
        if _is_code(line):
            indent = indent_width(line)
            if indent < level:
                return None
            if indent == level and _starts_statement(lines, index):
                break
        index -= 1
    else:
        return None
    while index - 1 >= floor and lines[index - 1].strip().startswith("@"):
        if indent_width(lines[index - 1]) != level:
            break
        index -= 1
    return index


def _keyword_line(lines: Sequence[str], start: int, limit: int) -> int:
    """The `def`/`class` line of a statement that may start with decorators."""
    index = start
    while index < limit - 1 and lines[index].strip().startswith("@"):
        index += 1
    return index


def _header_end(lines: Sequence[str], keyword: int, limit: int) -> int:
    index = keyword
    while index < limit:
        if _HEADER_END.search(lines[index].rstrip()):
            return index
        index += 1
    return keyword


@attrs.frozen
class UnitShape:
    """How a unit is cut from the old document: synthetic lines first (class headers and
    fillers, with their document line or -1), then the real lines [start, end)."""

    prefix: tuple[tuple[int, str], ...]
    start: int
    end: int
    top: tuple[int, int]  # the outermost statement(s) covered, for the module-name scan


def unit_shape(lines: Sequence[str], block_start: int, block_end: int) -> UnitShape:
    """Cut by indentation; see the module docstring."""
    count = len(lines)
    prefix: list[tuple[int, str]] = []
    lo, hi, level = 0, count, 0
    top: tuple[int, int] | None = None
    code = [i for i in range(block_start, block_end) if _is_code(lines[i])]
    if not code:
        return UnitShape((), block_start, block_end, (block_start, block_end))
    first = code[0]
    while True:
        start = _statement_start(lines, first, level, lo)
        if start is None:
            start = min(block_start, first)
        whole_end = _statement_end(lines, max(block_end, start + 1), level, hi)
        inside = all(indent_width(lines[i]) > level for i in code)
        keyword = _keyword_line(lines, start, hi)
        header = _header_end(lines, keyword, hi)
        own_end = _statement_end(lines, header + 1, level, hi)
        begin = min(start, block_start)
        if top is None:
            top = (begin, max(whole_end, own_end))
        descend = (
            inside
            and block_start > header
            and own_end >= block_end
            and _CLASS.match(lines[keyword].strip()) is not None
        )
        if not descend:
            end = max(whole_end, own_end) if not inside else max(own_end, block_end)
            return UnitShape(tuple(prefix), begin, end, top)
        body = [i for i in range(header + 1, own_end) if _is_code(lines[i])]
        if not body:
            return UnitShape(tuple(prefix), begin, own_end, top)
        body_level = indent_width(lines[body[0]])
        prefix.extend((i, lines[i]) for i in range(start, header + 1))
        inner = _statement_start(lines, first, body_level, header + 1)
        inner_start = min(inner if inner is not None else first, block_start)
        if any(_is_code(lines[i]) for i in range(header + 1, inner_start)):
            pad = lines[body[0]][: len(lines[body[0]]) - len(lines[body[0]].lstrip())]
            prefix.append((-1, f"{pad}pass\n"))
        lo, hi, level = header + 1, own_end, body_level


@attrs.frozen
class Unit:
    old_text: str
    new_text: str
    old_map: tuple[int, ...]  # unit line (0-based) -> document line (0-based), -1 synthetic
    new_map: tuple[int, ...]
    old_block: tuple[int, int]  # the block in unit lines [start, end)
    new_block: tuple[int, int]
    top: tuple[int, int]  # outermost statements covered, old document lines
    whole: bool  # the whole documents (the cheap cut did not parse)

    def new_doc_line(self, unit_lineno: int) -> int:
        """1-based document line for a 1-based line of the new unit."""
        index = min(max(unit_lineno - 1, 0), len(self.new_map) - 1)
        while index > 0 and self.new_map[index] < 0:
            index -= 1
        return max(self.new_map[index], 0) + 1 if self.new_map else 1


def _has_code_before(lines: Sequence[str], line: int) -> bool:
    return any(_is_code(text) for text in lines[:line])


@functools.lru_cache(maxsize=8)
def cut_unit(ctx: CheckContext) -> Unit | None:
    """The unit around the block in both versions, parsed or not; None when the block
    cannot be located."""
    where = locate(ctx)
    if where is None:
        return None
    shape = unit_shape(where.old_lines, where.start, where.old_end)
    delta = where.new_end - where.old_end
    head: list[tuple[int, str]] = []
    first_real = shape.prefix[0][0] if shape.prefix else shape.start
    if _has_code_before(where.old_lines, first_real):
        head.append((-1, "''\n"))  # code above: nothing here is the module docstring
    head.extend(shape.prefix)
    old_part = where.old_lines[shape.start : shape.end]
    new_part = where.new_lines[shape.start : shape.end + delta]
    offset = len(head) - shape.start
    return Unit(
        "".join(text for _, text in head) + _closed("".join(old_part)),
        "".join(text for _, text in head) + _closed("".join(new_part)),
        tuple(i for i, _ in head) + tuple(range(shape.start, shape.end)),
        tuple(i for i, _ in head) + tuple(range(shape.start, shape.end + delta)),
        (where.start + offset, where.old_end + offset),
        (where.start + offset, where.new_end + offset),
        shape.top,
        whole=False,
    )


@functools.lru_cache(maxsize=8)
def unit_for(ctx: CheckContext) -> Unit | None:
    """The unit to analyse: the cheap cut when its old version parses, else the whole
    documents; None when the block cannot be located or the old code does not parse."""
    unit = cut_unit(ctx)
    if unit is None:
        return None
    if parse(unit.old_text) is not None:
        return unit
    where = locate(ctx)
    assert where is not None
    old_doc = "".join(where.old_lines)
    if parse(old_doc) is None:
        return None
    return Unit(
        old_doc,
        "".join(where.new_lines),
        tuple(range(len(where.old_lines))),
        tuple(range(len(where.new_lines))),
        (where.start, where.old_end),
        (where.start, where.new_end),
        (0, len(where.old_lines)),
        whole=True,
    )


def _closed(text: str) -> str:
    return text if not text or text.endswith("\n") else text + "\n"


# --- docstrings -----------------------------------------------------------------------

_WITH_BODY = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)


def _docstring_node(node: ast.AST) -> ast.Expr | None:
    body = getattr(node, "body", None)
    if not isinstance(node, _WITH_BODY) or not body:
        return None
    first = body[0]
    if (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    ):
        return first
    return None


def docstrings(tree: ast.Module, lines: tuple[int, int] | None = None) -> list[str]:
    """Whitespace-normalised docstrings of the module, classes and functions (optionally only
    those whose docstring starts within 1-based unit lines [start, end))."""
    found: list[str] = []
    for node in ast.walk(tree):
        doc = _docstring_node(node)
        if doc is None:
            continue
        if lines is not None and not lines[0] <= doc.lineno < lines[1]:
            continue
        assert isinstance(doc.value, ast.Constant)
        text = " ".join(str(doc.value.value).split())
        if text:
            found.append(text)
    return found


def _docstring_ids(tree: ast.AST) -> set[int]:
    found: set[int] = set()
    for node in ast.walk(tree):
        doc = _docstring_node(node)
        if doc is not None:
            found.add(id(doc))
    return found


def first_code_difference(old: ast.AST, new: ast.AST) -> int | None:
    """1-based line (in `new`) of the first code difference, docstrings ignored; None when
    the code is the same. Compared field by field, so the line is the innermost node that
    differs (an inserted statement, a changed operator)."""
    skip_old, skip_new = _docstring_ids(old), _docstring_ids(new)

    def line(node: object) -> int | None:
        value = getattr(node, "lineno", None)
        return value if isinstance(value, int) else None

    def differ(a: ast.AST, b: ast.AST) -> tuple[bool, int | None]:
        if type(a) is not type(b):
            return True, line(b)
        for field in a._fields:
            value_a, value_b = getattr(a, field, None), getattr(b, field, None)
            if isinstance(value_a, list) and isinstance(value_b, list):
                items_a = [x for x in value_a if id(x) not in skip_old]
                items_b = [x for x in value_b if id(x) not in skip_new]
                for item_a, item_b in zip(items_a, items_b, strict=False):
                    if isinstance(item_a, ast.AST) and isinstance(item_b, ast.AST):
                        changed, where = differ(item_a, item_b)
                        if changed:
                            return True, where or line(item_b) or line(b)
                    elif item_a != item_b:
                        return True, line(b)
                if len(items_a) != len(items_b):
                    if len(items_b) > len(items_a):
                        return True, line(items_b[len(items_a)]) or line(b)
                    last = items_b[-1] if items_b else None
                    end = getattr(last, "end_lineno", None)
                    return True, end if isinstance(end, int) else line(b)
            elif isinstance(value_a, ast.AST) and isinstance(value_b, ast.AST):
                changed, where = differ(value_a, value_b)
                if changed:
                    return True, where or line(b)
            elif value_a != value_b or type(value_a) is not type(value_b):
                return True, line(b)
        return False, None

    changed, where = differ(old, new)
    if not changed:
        return None
    return where or 1


# --- definitions and names ------------------------------------------------------------

Def = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef


def definitions(tree: ast.Module, lines: tuple[int, int]) -> dict[str, Def]:
    """Defs and classes whose header lies in 1-based unit lines [start, end), by qualified
    name (`Cart.total`); functions nested inside functions are local, so left out."""
    found: dict[str, Def] = {}

    def visit(body: list[ast.stmt], path: str) -> None:
        for stmt in body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{path}{stmt.name}"
                if lines[0] <= stmt.lineno < lines[1] and name not in found:
                    found[name] = stmt
                if isinstance(stmt, ast.ClassDef):
                    visit(stmt.body, f"{name}.")
            else:
                for field in ("body", "orelse", "finalbody"):
                    nested = getattr(stmt, field, None)
                    if isinstance(nested, list):
                        visit(nested, path)
                for handler in getattr(stmt, "handlers", ()):
                    visit(handler.body, path)

    visit(tree.body, "")
    return found


def enclosing_function(
    tree: ast.Module, lines: tuple[int, int]
) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    """The innermost function whose body contains all of 1-based unit lines [start, end)."""
    best: ast.FunctionDef | ast.AsyncFunctionDef | None = None
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            end = node.end_lineno or node.lineno
            if node.lineno < lines[0] and lines[1] - 1 <= end:
                if best is None or node.lineno > best.lineno:
                    best = node
    return best


def own_statements(node: ast.AST) -> Iterator[ast.AST]:
    """Nodes of a function's own body: nested functions, classes and lambdas excluded."""
    stack = list(ast.iter_child_nodes(node))
    while stack:
        current = stack.pop()
        if isinstance(current, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        yield current
        stack.extend(ast.iter_child_nodes(current))


def returns_value(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return any(
        isinstance(n, ast.Return)
        and n.value is not None
        and not (isinstance(n.value, ast.Constant) and n.value.value is None)
        for n in own_statements(node)
    )


def is_generator(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return any(isinstance(n, (ast.Yield, ast.YieldFrom)) for n in own_statements(node))


KIND_WORDS = {
    "list": "a list",
    "dict": "a dict",
    "set": "a set",
    "tuple": "a tuple",
    "str": "a string",
    "bytes": "bytes",
    "bool": "a bool",
    "number": "a number",
    "None": "None",
}
_KIND_CALLS = {
    "list": "list",
    "sorted": "list",
    "dict": "dict",
    "set": "set",
    "frozenset": "set",
    "tuple": "tuple",
    "str": "str",
    "repr": "str",
    "bool": "bool",
    "isinstance": "bool",
    "int": "number",
    "float": "number",
    "len": "number",
}


def _value_kind(node: ast.expr, names: dict[str, list[ast.expr]], depth: int = 0) -> str | None:
    """The obvious type of an expression (literal, display, comprehension, builtin call,
    comparison, a local name bound only to such values); None when not obvious."""
    if isinstance(node, ast.Constant):
        value = node.value
        if value is None:
            return "None"
        if isinstance(value, bool):
            return "bool"
        if isinstance(value, (int, float, complex)):
            return "number"
        if isinstance(value, str):
            return "str"
        if isinstance(value, bytes):
            return "bytes"
        return None
    if isinstance(node, (ast.List, ast.ListComp)):
        return "list"
    if isinstance(node, (ast.Dict, ast.DictComp)):
        return "dict"
    if isinstance(node, (ast.Set, ast.SetComp)):
        return "set"
    if isinstance(node, ast.Tuple):
        return "tuple"
    if isinstance(node, ast.JoinedStr):
        return "str"
    if isinstance(node, ast.Compare) or (
        isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not)
    ):
        return "bool"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return _KIND_CALLS.get(node.func.id)
    if isinstance(node, ast.Name) and depth < 3:
        bound = names.get(node.id)
        if not bound:
            return None
        kinds = {_value_kind(value, names, depth + 1) for value in bound}
        return kinds.pop() if len(kinds) == 1 else None
    return None


def _rebound(target: ast.AST) -> Iterator[str]:
    """Names an assignment target rebinds (`a, *b` yes; `a[i]`, `a.x` no)."""
    if isinstance(target, ast.Name):
        yield target.id
    elif isinstance(target, (ast.Tuple, ast.List)):
        for element in target.elts:
            yield from _rebound(element)
    elif isinstance(target, ast.Starred):
        yield from _rebound(target.value)


def return_kinds(node: ast.FunctionDef | ast.AsyncFunctionDef) -> frozenset[str]:
    """Obvious types of what a function returns; empty when any return is not obvious."""
    names: dict[str, list[ast.expr]] = {}
    unknown: set[str] = {a.arg for a in (*node.args.posonlyargs, *node.args.args)}
    unknown.update(a.arg for a in node.args.kwonlyargs)
    returns: list[ast.expr] = []
    for child in own_statements(node):
        targets: list[ast.AST] = []
        if isinstance(child, ast.Assign):
            for target in child.targets:
                if isinstance(target, ast.Name):
                    names.setdefault(target.id, []).append(child.value)
                else:
                    targets.append(target)
        elif isinstance(child, ast.AnnAssign) and isinstance(child.target, ast.Name):
            if child.value is not None:
                names.setdefault(child.target.id, []).append(child.value)
        elif isinstance(child, (ast.For, ast.AsyncFor, ast.NamedExpr, ast.comprehension)):
            targets.append(child.target)
        elif isinstance(child, (ast.With, ast.AsyncWith)):
            targets.extend(item.optional_vars for item in child.items if item.optional_vars)
        elif isinstance(child, ast.Return) and child.value is not None:
            returns.append(child.value)
        for bound in targets:
            unknown.update(_rebound(bound))
    for name in unknown:
        names[name] = []  # bound to something not obvious
    kinds: set[str] = set()
    for value in returns:
        kind = _value_kind(value, names)
        if kind is None:
            return frozenset()
        kinds.add(kind)
    return frozenset(kinds)


# --- module-level names ---------------------------------------------------------------

_BIND_DEF = re.compile(r"(?:async\s+)?(?:def|class)\s+(\w+)")
_BIND_IMPORT = re.compile(r"import\s+(.+)")
_BIND_FROM = re.compile(r"from\s+\S+\s+import\s+(.+)")
_BIND_ASSIGN = re.compile(r"([\w\s,()\[\]*.]+?)\s*(?::[^=]*)?(?<![=!<>+\-*/%&|^@])=(?!=)")
_BIND_FOR = re.compile(r"(?:async\s+)?for\s+(.+?)\s+in\b")
_BIND_AS = re.compile(r"\bas\s+(\w+)")
_BIND_GLOBAL = re.compile(r"\s*global\s+([\w\s,]+)")
_IDENT = re.compile(r"[A-Za-z_]\w*")


@attrs.frozen
class ModuleNames:
    names: frozenset[str]
    imports: frozenset[str]
    star: bool  # `from x import *` somewhere: any name may be defined


def _import_names(spec: str) -> Iterator[str]:
    for part in spec.replace("(", " ").replace(")", " ").split(","):
        words = part.split("#", 1)[0].split()
        if not words:
            continue
        if len(words) >= 3 and words[-2] == "as":
            yield words[-1]
        else:
            yield words[0].split(".")[0]


_COMPOUND = re.compile(r"(?:if|elif|else|try|except|finally|with|for|while|async)\b")
_NOT_TOP = frozenset(" \t\n#")


def _bind(stripped: str, names: set[str], imports: set[str]) -> tuple[bool, bool]:
    """Record what one statement line binds; (star import?, `from … import (` left open?)."""
    match = _BIND_DEF.match(stripped)
    if match:
        names.add(match.group(1))
        return False, False
    match = _BIND_FROM.match(stripped)
    if match:
        spec = match.group(1)
        found = list(_import_names(spec))
        names.update(found)
        imports.update(found)
        return spec.strip().startswith("*"), "(" in spec and ")" not in spec
    match = _BIND_IMPORT.match(stripped)
    if match:
        found = list(_import_names(match.group(1)))
        names.update(found)
        imports.update(found)
        return False, False
    match = _BIND_FOR.match(stripped)
    if match:
        names.update(_IDENT.findall(match.group(1)))
    names.update(_BIND_AS.findall(stripped))
    match = _BIND_ASSIGN.match(stripped)
    if match:
        names.update(_IDENT.findall(match.group(1)))
    return False, False


@functools.lru_cache(maxsize=8)
def module_names(lines: tuple[str, ...], skip: tuple[int, int]) -> ModuleNames:
    """Names bound at module level outside lines [skip): a line scan, generous on purpose
    (a name wrongly thought defined only hides a finding; the reverse rejects good code).
    Only top-level lines are read, plus the bodies of top-level `if`/`try`/`with`/`for`
    statements and `global` declarations: def and class bodies are skipped unread."""
    names: set[str] = set()
    imports: set[str] = set()
    star = False
    tops = [i for i, line in enumerate(lines) if line[:1] not in _NOT_TOP]
    for position, index in enumerate(tops):
        if skip[0] <= index < skip[1]:
            continue
        stripped = lines[index].strip()
        if stripped.startswith("@"):
            continue
        starred, open_from = _bind(stripped, names, imports)
        star = star or starred
        region = range(index + 1, tops[position + 1] if position + 1 < len(tops) else len(lines))
        if open_from:
            for inner in region:
                found = list(_import_names(lines[inner].strip()))
                names.update(found)
                imports.update(found)
                if ")" in lines[inner]:
                    break
        elif _COMPOUND.match(stripped):
            for inner in region:
                if not skip[0] <= inner < skip[1]:
                    starred, _ = _bind(lines[inner].strip(), names, imports)
                    star = star or starred
    for index, line in enumerate(lines):
        if "global" in line and not skip[0] <= index < skip[1]:
            glob = _BIND_GLOBAL.match(line)
            if glob:
                names.update(_IDENT.findall(glob.group(1)))
    return ModuleNames(frozenset(names), frozenset(imports), star)


# --- pyflakes -------------------------------------------------------------------------

FINDING_KINDS = frozenset(
    {"UndefinedName", "UndefinedLocal", "UnusedImport", "RedefinedWhileUnused", "UnusedVariable"}
)


@attrs.frozen
class Finding:
    kind: str  # pyflakes message class
    name: str
    line: int  # 1-based, in the analysed text

    @property
    def key(self) -> tuple[str, str]:
        return self.kind, self.name


@functools.lru_cache(maxsize=32)
def pyflakes_findings(text: str) -> tuple[Finding, ...]:
    """pyflakes' messages about `text` that guards understand; () when it does not parse."""
    tree = parse(text)
    if tree is None:
        return ()
    from pyflakes import checker

    found: list[Finding] = []
    for message in checker.Checker(tree, filename="<ladder>").messages:
        kind = type(message).__name__
        if kind not in FINDING_KINDS:
            continue
        args = getattr(message, "message_args", ())
        name = str(args[0]) if args else ""
        found.append(Finding(kind, name, int(getattr(message, "lineno", 0) or 0)))
    return tuple(found)


def bound_names(import_text: str) -> set[str]:
    """Names an UnusedImport message's text may stand for (`a.b as c` → c; `a.b` → a, b)."""
    if " as " in import_text:
        return {import_text.rsplit(" as ", 1)[1].strip()}
    parts = import_text.split(".")
    return {parts[0], parts[-1]}


def loaded_names(tree: ast.AST) -> frozenset[str]:
    """Every name the code reads (`x`, and `os` in `os.path`)."""
    return frozenset(
        node.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Store)
    )


def used_as_word(text: str, name: str) -> bool:
    return re.search(rf"(?<![\w.]){re.escape(name)}\b", text) is not None


def unit_findings(unit: Unit, lines: tuple[str, ...], new: bool) -> set[tuple[str, str]] | None:
    """(kind, name) of the unit's findings that hold for the whole document: names bound at
    module level elsewhere are defined, imports used elsewhere are used. None when the unit
    does not parse."""
    text = unit.new_text if new else unit.old_text
    if parse(text) is None:
        return None
    findings = pyflakes_findings(text)
    if unit.whole:
        return {f.key for f in findings}
    module = module_names(lines, unit.top)
    outside: str | None = None
    keys: set[tuple[str, str]] = set()
    for finding in findings:
        if finding.kind == "UndefinedName" and (module.star or finding.name in module.names):
            continue
        if finding.kind == "UnusedImport":
            if outside is None:
                outside = "".join(lines[: unit.top[0]]) + "".join(lines[unit.top[1] :])
            if any(used_as_word(outside, name) for name in bound_names(finding.name)):
                continue
        keys.add(finding.key)
    return keys


def describe(kind: str, name: str) -> str:
    """A finding in words, for a reason."""
    if kind == "UndefinedName":
        return f"new undefined name `{name}`"
    if kind == "UndefinedLocal":
        return f"`{name}` is used before it is assigned"
    if kind == "UnusedImport":
        return f"new unused import `{name}`"
    if kind == "RedefinedWhileUnused":
        return f"redefines `{name}`"
    if kind == "UnusedVariable":
        return f"new unused variable `{name}`"
    return f"new problem with `{name}`"
