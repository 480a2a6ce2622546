"""Docstrings in a tree, and the first place two trees differ once docstrings are ignored:
what the `docstring` guards compare.
"""

from __future__ import annotations

import ast
from typing import TypeGuard

_WITH_BODY = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)


def is_string_statement(stmt: ast.stmt) -> TypeGuard[ast.Expr]:
    """A statement that is only a string: a docstring when it comes first in a body."""
    return (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Constant)
        and isinstance(stmt.value.value, str)
    )


def _docstring_node(node: ast.AST) -> ast.Expr | None:
    body = getattr(node, "body", None)
    if not isinstance(node, _WITH_BODY) or not body:
        return None
    first = body[0]
    return first if is_string_statement(first) else None


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
