"""`refactor` (and custom actions that change code): keep the public surface, touch nothing
outside the target, and introduce no new pyflakes findings.

The surface of each def/class in the old block — its name, parameters (names, kinds, which
have defaults, `self`/`cls` included), decorators, class bases, async-ness, whether it
returns a value or yields — must be the same afterwards. A custom action whose prompt asks
for such a change (rename, new signature, parameters…) skips that comparison.
"""

from __future__ import annotations

import ast
import re

from ladder_lsp.analysis.python.findings import describe, unit_findings
from ladder_lsp.analysis.python.location import Located
from ladder_lsp.analysis.python.names import loaded_names, module_names, used_as_word
from ladder_lsp.analysis.python.surface import (
    KIND_WORDS,
    Def,
    definitions,
    enclosing_function,
    flow,
)
from ladder_lsp.analysis.python.units import Unit
from ladder_lsp.pipeline.checks.context import CheckContext

MAX_REASONS = 3
_SURFACE_CHANGE_PROMPT = re.compile(
    r"\b(renam\w*|signatures?|param\w*|arg\w*|interface|api|async\w*|await|decorat\w*|"
    r"inherit\w*|base class\w*|generators?|yield\w*|keyword[- ]only|defaults?|split\w*|"
    r"extract\w*|merge\w*|inline)\b",
    re.IGNORECASE,
)


def prompt_allows_surface_change(prompt: str) -> bool:
    return bool(prompt) and bool(_SURFACE_CHANGE_PROMPT.search(prompt))


def check_outside_unchanged(ctx: CheckContext) -> str | None:
    """The pipeline only replaces the block; verify it anyway (any language)."""
    line = ctx.first_outside_change
    if line is not None:
        return f"changed code outside the selection: line {line}"
    return None


def check_surface(ctx: CheckContext) -> str | None:
    """Names, parameters, decorators, bases, return/yield of every def/class in the block."""
    if prompt_allows_surface_change(ctx.custom_prompt):
        return None
    reasons = surface_reasons(ctx)
    return "; ".join(reasons[:MAX_REASONS]) if reasons else None


def _trees(ctx: CheckContext) -> tuple[Unit, ast.Module, ast.Module] | None:
    if not ctx.is_python or not ctx.old_block.strip():
        return None
    unit, trees = ctx.unit, ctx.unit_trees
    if unit is None or trees is None:
        return None  # not located, or the syntax check reports it
    return unit, *trees


def surface_reasons(ctx: CheckContext) -> list[str]:
    """Every surface change of the block's definitions, in words (Python only)."""
    trees = _trees(ctx)
    if trees is None:
        return []
    unit, old_tree, new_tree = trees
    old_range = (unit.old_block[0] + 1, unit.old_block[1] + 1)
    new_range = (unit.new_block[0] + 1, unit.new_block[1] + 1)
    old_defs = definitions(old_tree, old_range)
    new_defs = definitions(new_tree, new_range)
    reasons: list[str] = []
    for name, old in old_defs.items():
        new = new_defs.get(name)
        if new is None:
            reasons.append(_missing(name, old, new_defs))
            continue
        reasons.extend(compare(name, old, new))
    if not old_defs:
        # A piece of a function body: the function must still return / yield as before.
        old_fn = enclosing_function(old_tree, old_range)
        new_fn = enclosing_function(new_tree, new_range)
        if old_fn is not None and new_fn is not None and old_fn.name == new_fn.name:
            reasons.extend(_flow(old_fn.name, old_fn, new_fn))
    return reasons


def check_no_import_time_code(ctx: CheckContext) -> str | None:
    """A refactor must not add statements that run on import (`print(...)`, `main()`) next
    to the definitions it was given."""
    trees = _trees(ctx)
    if trees is None:
        return None
    unit, old_tree, new_tree = trees
    old_calls = _import_time_calls(old_tree, (unit.old_block[0] + 1, unit.old_block[1] + 1))
    new_calls = _import_time_calls(new_tree, (unit.new_block[0] + 1, unit.new_block[1] + 1))
    if len(new_calls) <= len(old_calls):
        return None
    seen = {ast.dump(node) for node in old_calls}
    extra = next((n for n in new_calls if ast.dump(n) not in seen), new_calls[-1])
    code = ast.unparse(extra)
    code = code if len(code) <= 40 else code[:39] + "…"
    return f"adds code that runs on import: `{code}` (line {unit.new_doc_line(extra.lineno)})"


def _import_time_calls(tree: ast.Module, lines: tuple[int, int]) -> list[ast.Expr]:
    """Expression statements (not docstrings or `...`) at module or class level in lines."""
    found: list[ast.Expr] = []
    pending: list[ast.stmt] = list(tree.body)
    while pending:
        stmt = pending.pop()
        if isinstance(stmt, ast.ClassDef):
            pending.extend(stmt.body)
        elif isinstance(stmt, ast.Expr) and lines[0] <= stmt.lineno < lines[1]:
            value = stmt.value
            if not (isinstance(value, ast.Constant) and isinstance(value.value, (str, type(...)))):
                found.append(stmt)
    return sorted(found, key=lambda node: node.lineno)


def _missing(name: str, old: Def, new_defs: dict[str, Def]) -> str:
    short = name.rsplit(".", 1)[-1]
    moved = [n for n in new_defs if n.rsplit(".", 1)[-1] == short]
    if moved:
        return f"moved `{short}` into `{moved[0].rsplit('.', 1)[0]}`"
    what = "class" if isinstance(old, ast.ClassDef) else "function"
    return f"removed or renamed {what} `{short}`"


def _params(node: ast.FunctionDef | ast.AsyncFunctionDef) -> list[tuple[str, str, bool]]:
    """(name, kind, has default) in declaration order."""
    args = node.args
    positional = [*args.posonlyargs, *args.args]
    first_default = len(positional) - len(args.defaults)
    out: list[tuple[str, str, bool]] = []
    for index, arg in enumerate(positional):
        kind = "positional-only" if index < len(args.posonlyargs) else "positional"
        out.append((arg.arg, kind, index >= first_default))
    if args.vararg is not None:
        out.append((args.vararg.arg, "*args", False))
    for arg, default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
        out.append((arg.arg, "keyword-only", default is not None))
    if args.kwarg is not None:
        out.append((args.kwarg.arg, "**kwargs", False))
    return out


def compare(name: str, old: Def, new: Def) -> list[str]:
    """What changed in one definition's surface, in words."""
    short = name.rsplit(".", 1)[-1]
    reasons: list[str] = []
    if type(old) is not type(new):
        kinds = {ast.ClassDef: "class", ast.FunctionDef: "function", ast.AsyncFunctionDef: "async"}
        if isinstance(old, ast.ClassDef) or isinstance(new, ast.ClassDef):
            return [f"changed `{short}` from a {kinds[type(old)]} to a {kinds[type(new)]}"]
        made = "async" if isinstance(new, ast.AsyncFunctionDef) else "synchronous"
        reasons.append(f"made `{short}` {made}")
    old_decorators = [ast.unparse(d) for d in old.decorator_list]
    new_decorators = [ast.unparse(d) for d in new.decorator_list]
    for decorator in old_decorators:
        if decorator not in new_decorators:
            reasons.append(f"removed decorator `@{decorator}` from `{short}`")
    for decorator in new_decorators:
        if decorator not in old_decorators:
            reasons.append(f"added decorator `@{decorator}` to `{short}`")
    if isinstance(old, ast.ClassDef) and isinstance(new, ast.ClassDef):
        old_bases = [ast.unparse(b) for b in old.bases] + [ast.unparse(k) for k in old.keywords]
        new_bases = [ast.unparse(b) for b in new.bases] + [ast.unparse(k) for k in new.keywords]
        if old_bases != new_bases:
            reasons.append(f"changed the bases of class `{short}`")
        return reasons
    if isinstance(old, ast.ClassDef) or isinstance(new, ast.ClassDef):
        return reasons
    reasons.extend(_compare_params(short, _params(old), _params(new)))
    reasons.extend(_flow(short, old, new))
    return reasons


def _compare_params(
    short: str, old: list[tuple[str, str, bool]], new: list[tuple[str, str, bool]]
) -> list[str]:
    reasons: list[str] = []
    old_by_name = {p[0]: p for p in old}
    new_by_name = {p[0]: p for p in new}
    for param, _, _ in old:
        if param not in new_by_name:
            reasons.append(f"removed parameter `{param}` from `{short}`")
    for param, _, has_default in new:
        if param not in old_by_name:
            required = "" if has_default else "required "
            reasons.append(f"added {required}parameter `{param}` to `{short}`")
    common_old = [p[0] for p in old if p[0] in new_by_name]
    common_new = [p[0] for p in new if p[0] in old_by_name]
    if common_old != common_new:
        reasons.append(f"reordered the parameters of `{short}`")
    for param in common_old:
        _, old_kind, old_default = old_by_name[param]
        _, new_kind, new_default = new_by_name[param]
        if old_kind != new_kind:
            reasons.append(f"made parameter `{param}` of `{short}` {new_kind}")
        elif old_default and not new_default:
            reasons.append(f"removed the default of parameter `{param}` of `{short}`")
        elif new_default and not old_default:
            reasons.append(f"added a default to parameter `{param}` of `{short}`")
    return reasons


def _flow(
    short: str,
    old: ast.FunctionDef | ast.AsyncFunctionDef,
    new: ast.FunctionDef | ast.AsyncFunctionDef,
) -> list[str]:
    reasons: list[str] = []
    before, after = flow(old), flow(new)
    if before.generator and not after.generator:
        reasons.append(f"`{short}` is no longer a generator")
    elif after.generator and not before.generator:
        reasons.append(f"`{short}` became a generator")
    elif not before.generator:
        if before.returns_value and not after.returns_value:
            reasons.append(f"`{short}` no longer returns a value")
        elif after.returns_value and not before.returns_value:
            reasons.append(f"`{short}` now returns a value (it returned None)")
        elif before.returns_value:
            old_kinds, new_kinds = before.return_kinds, after.return_kinds
            if old_kinds and new_kinds and not old_kinds & new_kinds:
                reasons.append(
                    f"`{short}` now returns {_kinds(new_kinds)} instead of {_kinds(old_kinds)}"
                )
    return reasons


def _kinds(kinds: frozenset[str]) -> str:
    words = [KIND_WORDS.get(kind, kind) for kind in sorted(kinds)]
    return " or ".join(words)


def new_findings(ctx: CheckContext) -> list[tuple[str, str]] | None:
    """pyflakes findings (kind, name) the new document has and the old one had not; None
    when the new version cannot be analysed. When the old code does not parse (a syntax
    fix), an undefined name counts as new only if the old code never mentions it."""
    where, unit = ctx.located, ctx.unit
    if where is None:
        return None
    if unit is None:
        cut = ctx.cut_unit
        if cut is None:
            return None
        new = unit_findings(cut, where.old_lines, new=True)
        if new is None:
            return None
        return sorted(
            (kind, name)
            for kind, name in new
            if kind == "UndefinedName" and not used_as_word(cut.old_text, name)
        )
    old = unit_findings(unit, where.old_lines, new=False)
    new = unit_findings(unit, where.old_lines, new=True)
    if old is None or new is None:
        return None
    added = sorted(new - old)
    added.extend(_orphaned_imports(ctx, unit, where))
    return added


def _orphaned_imports(ctx: CheckContext, unit: Unit, where: Located) -> list[tuple[str, str]]:
    """Module imports outside the unit whose last use the new code removed."""
    if unit.whole:
        return []
    module = module_names(where.old_lines, unit.top)
    if not module.imports:
        return []
    out: list[tuple[str, str]] = []
    outside: str | None = None
    trees = ctx.unit_trees
    if trees is None:
        return []
    old_tree, new_tree = trees
    old_used = loaded_names(old_tree)
    new_used = loaded_names(new_tree)
    for name in sorted(module.imports):
        if name not in old_used or name in new_used:
            continue
        if outside is None:
            outside = "".join(
                line
                for line in (*where.old_lines[: unit.top[0]], *where.old_lines[unit.top[1] :])
                if not re.match(r"\s*(?:from\s+\S+\s+)?import\s", line)
            )
        if not used_as_word(outside, name):
            out.append(("UnusedImport", name))
    return out


def check_no_new_findings(ctx: CheckContext) -> str | None:
    """No new undefined names, unused imports or redefinitions (pyflakes, line-independent)."""
    if not ctx.is_python or not ctx.old_block.strip():
        return None
    added = new_findings(ctx)
    if not added:
        return None
    return "; ".join(describe(kind, name) for kind, name in added[:MAX_REASONS])


def check_custom_code_change(ctx: CheckContext) -> str | None:
    """Custom actions that change code: the refactor guards, minus the surface when the
    prompt asks to change it (see `check_surface`)."""
    from ladder_lsp.pipeline.checks.docstring import is_comment_only_prompt

    if is_comment_only_prompt(ctx.custom_prompt):
        return None
    checks = (
        check_outside_unchanged,
        check_surface,
        check_no_import_time_code,
        check_no_new_findings,
    )
    reasons = [reason for check in checks if (reason := check(ctx))]
    return "; ".join(reasons) if reasons else None
