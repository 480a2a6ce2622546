"""Stub bodies: functions whose body is only `...` or `pass`, and stray `...` statements
among real code — what a lazy answer leaves where code was. Abstract methods, overloads and
Protocol/ABC members are real stubs and do not count.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from ladder_lsp.analysis.python.docstrings import is_string_statement

_STUB_DECORATORS = frozenset({"abstractmethod", "overload", "abstractproperty"})


def stub_count(tree: ast.Module) -> int:
    """How many stub bodies and stray `...` statements the module holds."""
    return sum(1 for _ in _stubs(tree.body, in_protocol=False))


def _is_ellipsis(stmt: ast.stmt) -> bool:
    return (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Constant)
        and stmt.value.value is Ellipsis
    )


def _stubs(body: list[ast.stmt], *, in_protocol: bool) -> Iterator[ast.AST]:
    """Statement-level walk (expressions are never visited: cheap on big files)."""
    for stmt in body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            inner = [s for s in stmt.body if not (s is stmt.body[0] and is_string_statement(s))]
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
                not (_is_ellipsis(other) or is_string_statement(other)) for other in body
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
