"""A Python file's outline: every def and class by qualified name (`Cart.total`), with its
whole lines, signature and whether it has a docstring — what a workspace job's planner sees
instead of the code, and what a plan's `symbol` resolves to.
"""

from __future__ import annotations

import ast

import attrs

from ladder_lsp.analysis.python.docstrings import is_string_statement
from ladder_lsp.analysis.python.parse import parse
from ladder_lsp.analysis.python.surface import definitions


@attrs.frozen
class Symbol:
    name: str  # qualified: `Cart.total`
    kind: str  # "function" or "class"
    start: int  # 0-based first line, decorators included
    end: int  # exclusive
    signature: str  # `def total(self, items) -> float`
    has_docstring: bool

    @property
    def public(self) -> bool:
        """No part of the qualified name is private (`_x`); dunders count as public."""
        return all(
            not part.startswith("_") or (part.startswith("__") and part.endswith("__"))
            for part in self.name.split(".")
        )


def outline(text: str) -> list[Symbol] | None:
    """Every def/class outside function bodies, in file order; None when `text` does not
    parse."""
    tree = parse(text)
    if tree is None:
        return None
    found = []
    for name, node in definitions(tree, (1, text.count("\n") + 2)).items():
        first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        body = node.body
        found.append(
            Symbol(
                name=name,
                kind="class" if isinstance(node, ast.ClassDef) else "function",
                start=first - 1,
                end=node.end_lineno or node.lineno,
                signature=_signature(node),
                has_docstring=bool(body) and is_string_statement(body[0]),
            )
        )
    return sorted(found, key=lambda s: s.start)


def _signature(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> str:
    if isinstance(node, ast.ClassDef):
        bases = ", ".join(ast.unparse(b) for b in node.bases)
        return f"class {node.name}({bases})" if bases else f"class {node.name}"
    prefix = "async def" if isinstance(node, ast.AsyncFunctionDef) else "def"
    returns = f" -> {ast.unparse(node.returns)}" if node.returns else ""
    return f"{prefix} {node.name}({ast.unparse(node.args)}){returns}"
