"""The package's layers hold (ARCHITECTURE.md): each imports only the layers below it, so there
is no import cycle, and pygls/lsprotocol stay inside `lsp/` (and `__main__.py`). Read from the
code's own imports, including those under TYPE_CHECKING and inside functions."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "server" / "ladder_lsp"

# Lower numbers are lower layers; a module may import its own layer or lower ones.
LAYERS = {
    "settings": 0,
    "settings_schema": 0,
    "settings_lists": 0,
    "analysis": 1,
    "pipeline": 2,
    "backends": 2,
    "store": 2,
    "privacy": 2,
    "engine": 3,
    "lsp": 4,
    "cli": 4,
    "cli_job": 4,
    "doctor": 4,
    "__main__": 5,
}
SIBLINGS_APART = {"pipeline", "backends", "store", "privacy"}  # the engine's four supports
PROTOCOL_PACKAGES = ("pygls", "lsprotocol")


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imports_of(name: str, path: Path) -> list[str]:
    """Absolute names of everything `name` imports."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            out.append(module)
            out.extend(f"{module}.{alias.name}" for alias in node.names)
    return out


def layer_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def internal_graph() -> dict[str, set[str]]:
    mods = modules()
    return {
        name: {imported for imported in imports_of(name, path) if imported in mods} - {name}
        for name, path in mods.items()
    }


def test_every_module_belongs_to_a_layer() -> None:
    unplaced = [m for m in modules() if layer_of(m) and layer_of(m) not in LAYERS]
    assert unplaced == [], "add the new top-level module or package to LAYERS"


def test_no_layer_imports_a_layer_above_it() -> None:
    upward = [
        f"{module} -> {imported}"
        for module, targets in internal_graph().items()
        for imported in targets
        if layer_of(module)
        and layer_of(imported)
        and LAYERS[layer_of(imported)] > LAYERS[layer_of(module)]
    ]
    assert upward == []


def test_the_engines_supports_do_not_import_each_other() -> None:
    across = [
        f"{module} -> {imported}"
        for module, targets in internal_graph().items()
        for imported in targets
        if {layer_of(module), layer_of(imported)} <= SIBLINGS_APART
        and layer_of(module) != layer_of(imported)
    ]
    assert across == []


def test_no_import_cycle() -> None:
    graph = internal_graph()
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                cycles.append([*stack[stack.index(target) :], target])
            elif target not in state:
                visit(target)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert cycles == []


@pytest.mark.parametrize("name", sorted(modules()))
def test_pygls_and_lsprotocol_only_in_the_lsp_layer(name: str) -> None:
    if layer_of(name) in ("lsp", "__main__"):
        return
    used = [i for i in imports_of(name, modules()[name]) if i.split(".")[0] in PROTOCOL_PACKAGES]
    assert used == [], f"{name} imports {used}: only lsp/ may"
