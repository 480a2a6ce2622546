"""A small workspace for job tests: three files, six public functions without docstrings, a
plan file naming them, and a fake model that documents whatever function it is sent."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from tests.fakes.lmstudio import Reply

FILES = {
    "shop/cart.py": (
        "class Cart:\n"
        "    def total(self, items):\n"
        "        t = 0\n"
        "        for i in items:\n"
        "            t = t + i.price * i.qty\n"
        "        return t\n"
        "\n"
        "    def count(self, items):\n"
        "        return len(items)\n"
    ),
    "shop/tax.py": (
        "def tax(amount, rate=0.2):\n"
        "    return amount * rate\n"
        "\n"
        "\n"
        "def net(amount, rate=0.2):\n"
        "    return amount - tax(amount, rate)\n"
    ),
    "shop/util.py": (
        "def clamp(x, low, high):\n"
        "    return max(low, min(x, high))\n"
        "\n"
        "\n"
        "def slug(text):\n"
        '    return text.lower().replace(" ", "-")\n'
    ),
}
SYMBOLS = {
    "shop/cart.py": ["Cart.total", "Cart.count"],
    "shop/tax.py": ["tax", "net"],
    "shop/util.py": ["clamp", "slug"],
}
PLAN = {
    "goal": "document the shop",
    "units": [
        {"id": name.split(".")[-1], "path": path, "symbol": name, "action": "docstring"}
        for path, names in SYMBOLS.items()
        for name in names
    ],
}
_CODE = re.compile(r"Code \(lines \d+-\d+\):\n```\w*\n(?P<code>.*)\n```", re.S)
_DEF = re.compile(r"^(?P<indent>\s*)(?:async\s+)?def (?P<name>\w+)\(", re.M)


def make_workspace(root: Path) -> Path:
    for rel, text in FILES.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (root / "plan.json").write_text(json.dumps(PLAN))
    return root


def function_of(request: dict[str, Any]) -> str:
    """The name of the function a chat request asks about."""
    return function_in(request["messages"][-1]["content"])


def function_in(prompt: str) -> str:
    match = _DEF.search(code_in(prompt))
    return match["name"] if match else ""


def code_in(prompt: str) -> str:
    """The code a prompt asks about."""
    found = _CODE.search(prompt)
    assert found, prompt
    return found["code"]


def documented_answer(prompt: str) -> str:
    """A good model's answer to a docstring prompt: the function, documented, fenced."""
    return f"```python\n{documented(code_in(prompt), function_in(prompt))}\n```"


def documented(code: str, name: str) -> str:
    """The code with a one-line docstring under the `def` line of `name`."""
    match = re.search(rf"^([ \t]*)(?:async\s+)?def {name}\(.*?:\n", code, re.M | re.S)
    assert match, (name, code)
    doc = f'{match[1]}    """Document {name}."""\n'
    return code[: match.end()] + doc + code[match.end() :]


def docstring_reply(request: dict[str, Any], **timing: float) -> Reply:
    """What a good model answers: the function it was sent, documented."""
    answer = documented_answer(request["messages"][-1]["content"])
    return Reply(answer, **timing)  # type: ignore[arg-type]


def expected(rel: str, skip: frozenset[str] = frozenset()) -> str:
    """The file once every unit but those in `skip` is applied."""
    text = FILES[rel]
    for symbol in SYMBOLS[rel]:
        name = symbol.split(".")[-1]
        if name not in skip:
            text = documented(text, name)
    return text
