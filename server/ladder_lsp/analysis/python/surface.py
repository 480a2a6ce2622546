"""The public surface a refactor must keep: the definitions in a range, their enclosing
function, whether a function returns a value or yields, and the obvious types it returns.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator

import attrs

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


@attrs.frozen
class Flow:
    """How a function hands back control: it yields, or it returns a value (of which
    obvious types, empty when any is not obvious)."""

    generator: bool
    returns_value: bool
    return_kinds: frozenset[str]


@functools.lru_cache(maxsize=64)
def flow(node: ast.FunctionDef | ast.AsyncFunctionDef) -> Flow:
    """The function's `Flow`, from one walk of its own statements (each walk is most of the
    surface check's cost). Cached by node: the original's trees come from the shared parse
    cache (`parse`), so its functions are walked once per document version, not per answer
    (trees are never modified)."""
    nodes = list(own_statements(node))
    return Flow(
        generator=any(isinstance(n, (ast.Yield, ast.YieldFrom)) for n in nodes),
        returns_value=any(
            isinstance(n, ast.Return)
            and n.value is not None
            and not (isinstance(n.value, ast.Constant) and n.value.value is None)
            for n in nodes
        ),
        return_kinds=_return_kinds(node, nodes),
    )


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


def _return_kinds(
    node: ast.FunctionDef | ast.AsyncFunctionDef, own: list[ast.AST]
) -> frozenset[str]:
    """Obvious types of what a function returns (`own`: its own statements); empty when
    any return is not obvious."""
    names: dict[str, list[ast.expr]] = {}
    unknown: set[str] = {a.arg for a in (*node.args.posonlyargs, *node.args.args)}
    unknown.update(a.arg for a in node.args.kwonlyargs)
    returns: list[ast.expr] = []
    for child in own:
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
