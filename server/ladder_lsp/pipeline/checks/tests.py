"""`tests`: the new test file parses (the common syntax check), imports the code under test
by a name that resolves, and adds at least one test function that uses the target.

Running the tests is opt-in (`checks.runTests`): generated code is untrusted, so it only runs
when the user asks, in a subprocess with a timeout, from a temporary file beside the real
test file (same imports, nothing left behind).
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import os
import re
import sys
import uuid
from pathlib import Path

from ladder_lsp.analysis import languages
from ladder_lsp.analysis.python.parse import parse
from ladder_lsp.analysis.text import dedented, normalize_newlines
from ladder_lsp.pipeline.checks.context import CheckContext


def python_module(source_path: str) -> tuple[str, str]:
    """(dotted module path, bare module name) of a Python source file: `pkg/sub/cart.py`
    inside packages (directories with `__init__.py`) is `pkg.sub.cart`."""
    path = Path(source_path)
    parts = [path.stem]
    parent = path.parent
    with contextlib.suppress(OSError):
        while (parent / "__init__.py").exists() and parent.parent != parent:
            parts.insert(0, parent.name)
            parent = parent.parent
    return ".".join(parts), path.stem


def imports_module(tree: ast.Module, dotted: str, stem: str) -> bool:
    """An import that names the module under test (absolute, from its package, relative)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            if any(alias.name in (dotted, stem) for alias in node.names):
                return True
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level == 0:
                if module in (dotted, stem):
                    return True
                if any(f"{module}.{alias.name}" == dotted for alias in node.names):
                    return True
            else:  # relative: the test file sits beside the module, in its package
                if module == stem or module.endswith("." + stem):
                    return True
                if not module and any(alias.name == stem for alias in node.names):
                    return True
    return False


def target_names(source_code: str, language: str) -> list[str]:
    """Names the selected code defines: functions, classes and their methods."""
    if language == "python":
        tree = parse(dedented(source_code))
        if tree is None:
            return _regex_names(source_code, language)
        names: list[str] = []
        for stmt in tree.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.append(stmt.name)
            if isinstance(stmt, ast.ClassDef):
                names.extend(
                    s.name
                    for s in stmt.body
                    if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))
                    and not (s.name.startswith("__") and s.name.endswith("__"))
                )
        return names
    return _regex_names(source_code, language)


_NAME_PATTERNS = (
    re.compile(r"^\s*(?:export\s+)?(?:default\s+)?(?:async\s+)?function\s*\*?\s*(\w+)", re.M),
    re.compile(r"^\s*(?:export\s+)?(?:abstract\s+)?class\s+(\w+)", re.M),
    re.compile(r"^\s*(?:export\s+)?(?:const|let|var)\s+(\w+)\s*=", re.M),
    re.compile(r"^\s*(?:pub(?:\([^)]*\))?\s+)?(?:async\s+)?fn\s+(\w+)", re.M),
    re.compile(r"^\s*func\s+(?:\([^)]*\)\s*)?(\w+)", re.M),
    re.compile(r"^\s*(?:async\s+)?def\s+(\w+)", re.M),
)


def _regex_names(source_code: str, language: str) -> list[str]:
    names: list[str] = []
    for pattern in _NAME_PATTERNS:
        names.extend(pattern.findall(source_code))
    return list(dict.fromkeys(names))


def _test_functions(tree: ast.Module, after_line: int) -> list[ast.FunctionDef]:
    found: list[ast.FunctionDef] = []
    for stmt in tree.body:
        candidates: list[ast.stmt] = [stmt]
        if isinstance(stmt, ast.ClassDef) and stmt.name.startswith("Test"):
            candidates = list(stmt.body)
        for node in candidates:
            if (
                isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                and node.name.startswith("test")
                and node.lineno > after_line
            ):
                found.append(node)  # type: ignore[arg-type]
    return found


def _references(node: ast.AST, names: set[str]) -> bool:
    for child in ast.walk(node):
        if isinstance(child, ast.Name) and child.id in names:
            return True
        if isinstance(child, ast.Attribute) and child.attr in names:
            return True
    return False


def _names_text(names: list[str]) -> str:
    shown = [f"`{name}`" for name in names[:3]]
    return " or ".join(shown)


def check_tests_shape(ctx: CheckContext) -> str | None:
    """Imports the module under test, adds a test function, a test uses the target."""
    framework = languages.framework_for_tests(ctx.language)
    if framework == "pytest":
        return _python_tests(ctx)
    if framework == "jest":
        return _js_tests(ctx)
    if framework == "go":
        return _regex_tests(ctx, re.compile(r"^func\s+Test\w*\s*\(", re.M), "func TestXxx")
    if framework == "cargo":
        return _regex_tests(ctx, re.compile(r"#\[(?:tokio::)?test\]"), "#[test]")
    return None


def _python_tests(ctx: CheckContext) -> str | None:
    tree = parse(normalize_newlines(ctx.new_document))
    if tree is None:
        return None  # the syntax check reports it
    if ctx.source_path:
        dotted, stem = python_module(ctx.source_path)
        if not imports_module(tree, dotted, stem):
            return f"the tests do not import the code under test (`{dotted}`)"
    old_lines = len(ctx.old_document.splitlines()) if ctx.old_document.strip() else 0
    tests = _test_functions(tree, old_lines)
    if not tests:
        return "no test function (`test_…`) was added"
    names = target_names(ctx.source_code, "python") if ctx.source_code.strip() else []
    if names and not any(_references(test, set(names)) for test in tests):
        return f"no test uses {_names_text(names)}"
    return None


_JS_IMPORT = re.compile(
    r"""(?:\bfrom\s*|\brequire\s*\(\s*|\bimport\s*\(\s*|^\s*import\s+)['"](?P<path>[^'"]+)['"]""",
    re.M,
)
_JS_TEST = re.compile(r"\b(?:test|it)(?:\.\w+)?\s*\(")


def _js_tests(ctx: CheckContext) -> str | None:
    text = ctx.new_document
    if ctx.source_path:
        stem = Path(ctx.source_path).stem
        paths = [m.group("path") for m in _JS_IMPORT.finditer(text)]
        wanted = re.compile(rf"(?:^|/){re.escape(stem)}(?:\.\w+)?$")
        if not any(p.startswith(".") and wanted.search(p) for p in paths):
            return f"the tests do not import the code under test (`./{stem}`)"
    return _regex_tests(ctx, _JS_TEST, "test()/it()")


def _regex_tests(ctx: CheckContext, test: re.Pattern[str], what: str) -> str | None:
    added = ctx.new_document[len(ctx.old_document) :] if ctx.old_document else ctx.new_document
    if not test.search(added):
        return f"no test ({what}) was added"
    names = _regex_names(ctx.source_code, ctx.language) if ctx.source_code.strip() else []
    if names and not any(re.search(rf"\b{re.escape(n)}\b", added) for n in names):
        return f"no test uses {_names_text(names)}"
    return None


# --- running (opt-in) -----------------------------------------------------------------


async def run_pytest(test_text: str, test_path: Path, timeout: float) -> str | None:
    """Run the generated tests with pytest in a subprocess; a short reason when they fail,
    do not finish within `timeout` seconds, or cannot run. The text is written to a
    uniquely named sibling of `test_path` (so imports resolve as for the real file) and
    removed afterwards."""
    temp = test_path.with_name(f"test_ladder_{uuid.uuid4().hex[:8]}_{test_path.name}")
    try:
        await asyncio.to_thread(temp.write_text, test_text, encoding="utf-8")
    except OSError as exc:
        return f"could not run the generated tests ({exc.strerror or exc})"
    # generated code is untrusted: it gets no credentials from our environment
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ANTHROPIC_", "OPENAI_", "LADDER_"))
        and "KEY" not in k.upper()
        and "TOKEN" not in k.upper()
        and "SECRET" not in k.upper()
    }
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    try:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-x",
            "-p",
            "no:cacheprovider",
            "--no-header",
            str(temp),
            cwd=str(test_path.parent),
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            output, _ = await asyncio.wait_for(process.communicate(), timeout)
        except asyncio.TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
            return f"the generated tests did not finish within {timeout:g} s"
        except asyncio.CancelledError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            raise
    except OSError as exc:
        return f"could not run the generated tests ({exc.strerror or exc})"
    finally:
        with contextlib.suppress(OSError):
            await asyncio.to_thread(temp.unlink)
    return _pytest_verdict(process.returncode, output.decode("utf-8", "replace"))


def _pytest_verdict(code: int | None, output: str) -> str | None:
    if code == 0:
        return None
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    summary = lines[-1].strip("= ") if lines else ""
    if code == 5:
        return "the generated tests collect no test"
    if code == 1:
        return f"the generated tests fail ({summary})" if summary else "the generated tests fail"
    return f"the generated tests could not run ({summary or f'pytest exit {code}'})"
