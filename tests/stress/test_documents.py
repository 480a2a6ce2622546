"""Hostile documents: 10 MB and 200,000-line files, NUL and binary content, invalid UTF-8 on
disk (CLI), very long lines, mixed line endings, whole-file selections, and documents closed
while their run is in flight. Listing must answer (its latency is measured and reported, not
asserted), prompts must fit the model's context, and every edit stays inside its target."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_run_local import CART, REFACTORED_TOTAL
from tests.fakes.lmstudio import FakeLMStudio, Reply
from tests.stress.client import LspServer, range_dict, split_lines, stress_env
from tests.stress.conftest import internal_error_messages, running_server
from tests.stress.results import RESULTS
from tests.stress.verify import inside

CONTEXT_TOKENS = 32768  # what the fake reports for its loaded model
CHARS_PER_TOKEN = 3.5
GOOD = f"```python\n{REFACTORED_TOTAL}```"
TOTAL = range_dict(7, 0, 12, 0)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeLMStudio]:
    with FakeLMStudio(default=Reply(GOOD)) as fake:
        yield fake


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("documents")


@pytest.fixture(scope="module")
def server(fake: FakeLMStudio, work: Path) -> Iterator[LspServer]:
    options = {
        "local": {"baseUrl": fake.base_url, "embeddedModel": "off"},
        "ledger": {"path": str(work / "ledger.sqlite3")},
        "routing": {"escalateOnFailure": False, "mode": "local"},
    }
    with running_server("documents", work, options) as server:
        yield server


@pytest.fixture(autouse=True)
def clean(fake: FakeLMStudio) -> Iterator[None]:
    yield
    fake.script.clear()
    fake.responder = None
    fake.default = Reply(GOOD)


def block(i: int, width: int) -> str:
    head = f"def fn_{i}(a, b):\n"
    body = f"    return a * {i} + b  # "
    return head + body + "x" * max(0, width - len(body) - 1) + "\n"


def big_python(lines: int, width: int) -> str:
    return "".join(block(i, width) for i in range(lines // 2))


def timed(fn: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    result = fn()
    return result, (time.perf_counter() - started) * 1000


def refactor_answer(name: str, i: int) -> Reply:
    return Reply(f"```python\ndef {name}(a, b):\n    result = a * {i} + b\n    return result\n```")


@pytest.mark.parametrize(
    ("label", "lines", "width"),
    [("10MB", 100_000, 100), ("200k-lines", 200_000, 12)],
)
def test_huge_document_listing_and_prompt(
    server: LspServer, fake: FakeLMStudio, label: str, lines: int, width: int
) -> None:
    text = big_python(lines, width)
    uri = f"file:///stress/documents/huge-{label}.py"
    _, open_ms = timed(lambda: server.open(uri, text))
    middle = lines // 2 - (lines // 2) % 2  # a `def` line
    figures: dict[str, float] = {}
    results: dict[str, Any] = {}
    cases = {
        "range": range_dict(middle, 0, middle + 2, 0),
        "cursor": range_dict(middle + 1, 6, middle + 1, 6),
        "cursor-end": range_dict(lines - 1, 4, lines - 1, 4),
        "whole-file": range_dict(0, 0, lines, 0),
    }
    for name, rng in cases.items():
        results[name], figures[name] = timed(lambda rng=rng: server.code_actions(uri, rng))
        # a second time: what a cursor move costs once the version is parsed
        _, figures[f"{name}-again"] = timed(lambda rng=rng: server.code_actions(uri, rng))
    chats = len(fake.chat_requests())
    fake.push(refactor_answer(f"fn_{middle // 2}", middle // 2))
    mark = server.mark()
    small, small_ms = timed(lambda: server.run("refactor", uri, cases["range"], timeout=120))
    prompt = fake.chat_requests()[-1]["messages"] if len(fake.chat_requests()) > chats else []
    prompt_chars = sum(len(m["content"]) for m in prompt)
    after_small = len(fake.chat_requests())
    # While a whole-file run is being prepared, how long does a small listing wait?
    started = time.perf_counter()
    mark = server.mark()
    whole_future = server.run_future("refactor", uri, cases["whole-file"])
    # the run has begun (its progress shows), or already ended: progress begins only when
    # the client's token reply arrives, and a run refused fast may be over before that
    assert server.wait_until(lambda: server.progress(mark) != {} or whole_future.done(), 60)
    _, stall_ms = timed(lambda: server.code_actions(uri, cases["range"], timeout=180))
    whole = server.wait(whole_future, 180)
    whole_ms = (time.perf_counter() - started) * 1000
    RESULTS.add("documents", cases=len(cases) * 2 + 2)
    RESULTS.set(
        "documents",
        **{f"listing_ms_{label}_{k}": round(v, 1) for k, v in figures.items()},
        **{
            f"open_ms_{label}": round(open_ms, 1),
            f"run_small_ms_{label}": round(small_ms, 1),
            f"run_whole_file_ms_{label}": round(whole_ms, 1),
            f"listing_during_whole_file_run_ms_{label}": round(stall_ms, 1),
            f"prompt_chars_{label}": prompt_chars,
        },
    )
    wrong = int(not inside(text, server.docs[uri].text, middle, middle + 2))
    RESULTS.add("documents", wrong_edits=wrong)
    for name in ("range", "cursor", "whole-file"):
        assert results[name], f"{name}: no actions"
    assert small["applied"] is True, small
    assert wrong == 0
    assert 0 < prompt_chars <= CONTEXT_TOKENS * CHARS_PER_TOKEN
    assert whole["applied"] is False, whole
    assert "token" in whole["reason"] or "context" in whole["reason"], whole
    assert len(fake.chat_requests()) == after_small, "a prompt that cannot fit is never sent"
    assert internal_error_messages(server, mark) == []
    server.close(uri)


def run_and_judge(
    server: LspServer, uri: str, text: str, rng: dict[str, Any], start: int, end: int
) -> dict[str, Any]:
    """Open, run refactor, and count a wrong edit if anything changed outside [start, end)."""
    if uri in server.docs:
        server.replace_text(uri, text)
    else:
        server.open(uri, text)
    mark = server.mark()
    result: dict[str, Any] = server.run("refactor", uri, rng)
    after = server.docs[uri].text
    wrong = int(not inside(text, after, start, end))
    told = [m["message"] for m in server.messages(mark)]
    RESULTS.add("documents", cases=1, wrong_edits=wrong)
    assert wrong == 0, (text[:200], after[:200])
    assert told, "the user is told how the run ended"
    assert internal_error_messages(server, mark) == []
    return result


NUL_CART = CART.replace("t = 0", "t = 0  # \x00 nul").replace(
    "import math", 'import math\nSEP = "\x00"'
)


@pytest.mark.parametrize(
    "kind",
    ["nul", "binary", "long-line", "astral-long-line", "mixed-eol", "form-feed-u2028"],
)
def test_hostile_content(server: LspServer, fake: FakeLMStudio, kind: str) -> None:
    uri = f"file:///stress/documents/{kind}.py"
    if kind == "nul":
        text, rng, span = NUL_CART, range_dict(8, 0, 13, 0), (8, 13)
    elif kind == "binary":
        noise = bytes(range(256)).decode("latin-1")
        text = CART + "\n".join(noise[i : i + 40] for i in range(0, 256, 40)) * 20
        rng, span = TOTAL, (7, 12)
    elif kind in ("long-line", "astral-long-line"):
        blob = ("😀" if kind.startswith("astral") else "a") * 1_000_000
        text = f'BLOB = "{blob}"\n\n\n' + CART
        rng, span = range_dict(10, 0, 15, 0), (10, 15)
    elif kind == "mixed-eol":
        text = (
            "def a():\r\n    return 1\r\n\r\n"
            "def b(x):\n    y = x\r    return y\n\n"
            "def c():\r\n    return 3\r\n"
        )
        fake.push(Reply("```python\ndef b(x):\n    z = x\n    return z\n```"))
        rng, span = range_dict(3, 0, 6, 0), (3, 6)
    else:
        text = CART.replace("t = 0", "t = 0  # \x0c form feed \u2028 line separator \x85")
        rng, span = TOTAL, (7, 12)
    if kind != "mixed-eol":
        fake.push(Reply(GOOD))
    if uri not in server.docs:
        server.open(uri, text)
    if "long-line" in kind:  # on the long line itself, a position inside a surrogate pair
        server.code_actions(uri, range_dict(0, 3, 0, 999_999))
    listing = server.code_actions(uri, rng)
    cursor = server.code_actions(uri, range_dict(span[0] + 1, 2, span[0] + 1, 2))
    assert listing or cursor or kind == "binary"
    result = run_and_judge(server, uri, text, rng, *span)
    RESULTS.add("documents", cases=2)
    if kind == "mixed-eol" and result["applied"]:
        new_lines = split_lines(server.docs[uri].text)[3:6]
        assert all(line.endswith(("\r\n", "\n", "\r")) for line in new_lines), new_lines
        assert server.docs[uri].text.startswith("def a():\r\n    return 1\r\n\r\n")
        assert server.docs[uri].text.endswith("\ndef c():\r\n    return 3\r\n")
    if kind in ("form-feed-u2028", "long-line", "astral-long-line"):
        assert result["applied"] is True, result


def test_whole_file_selections(server: LspServer, fake: FakeLMStudio) -> None:
    uri = "file:///stress/documents/whole.py"
    expected = CART.replace(
        "        t = 0\n        for i in items:\n            t = t + i.price * i.qty\n",
        "        t = 0\n        for item in items:\n            t += item.price * item.qty\n",
    )
    n = len(split_lines(CART))
    for rng in (
        range_dict(0, 0, n, 0),
        range_dict(0, 0, 10_000, 0),  # past the end of the file
        range_dict(0, 0, n - 1, 10**6),  # character far past the end of the last line
        range_dict(n + 5, 0, 0, 0),  # reversed
    ):
        fake.push(Reply(f"```python\n{expected}```"))
        result = run_and_judge(server, uri, CART, rng, 0, n)
        assert result["applied"] is True, result
        assert server.docs[uri].text == expected


def test_document_closed_while_its_run_is_in_flight(server: LspServer, fake: FakeLMStudio) -> None:
    uri = "file:///stress/documents/closing.py"
    server.open(uri, CART)
    gate = threading.Event()
    arrived = threading.Event()

    def held(_body: Any) -> Reply:
        arrived.set()
        gate.wait(30)
        return Reply(GOOD)

    fake.responder = held
    mark = server.mark()
    edits = len(server.applied)
    future = server.run_future("refactor", uri, TOTAL)
    assert arrived.wait(30)
    server.close(uri)
    # a request after the notification: once answered, the server has processed the close
    assert server.code_actions(uri, TOTAL) == []
    gate.set()
    result = server.wait(future, 60)
    RESULTS.add("documents", cases=1, wrong_edits=len(server.applied) - edits)
    assert result["applied"] is False and "closed" in result["reason"], result
    assert len(server.applied) == edits
    assert any("closed" in m["message"] for m in server.messages(mark))
    # and the server serves the next run
    server.open(uri, CART)
    assert server.run("refactor", uri, TOTAL)["applied"] is True


def cli(work: Path, fake: FakeLMStudio, *args: str) -> subprocess.CompletedProcess[str]:
    config = work / "cli-settings.json"
    config.write_text(json.dumps({"local": {"embeddedModel": "off"}}))
    env = stress_env(work, LADDER_LEDGER=str(work / "cli-ledger.sqlite3"))
    return subprocess.run(
        [
            *(sys.executable, "-m", "ladder_lsp", "run", *args),
            *("--config", str(config), "--base-url", fake.base_url, "--tier", "local"),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=work,
        timeout=120,
    )


def test_cli_invalid_utf8_on_disk(work: Path, fake: FakeLMStudio) -> None:
    source = work / "latin1.py"
    raw = CART.replace("t = 0", "t = 0  # caf\xe9").encode("latin-1")
    source.write_bytes(raw)
    run = cli(work, fake, "refactor", f"{source}:8-12", "--apply")
    RESULTS.add("documents", cases=1, cli_tracebacks=int("Traceback" in run.stderr))
    assert run.returncode == 2 and "not UTF-8" in run.stderr, run.stderr
    assert source.read_bytes() == raw, "the file is never touched"


@pytest.fixture(scope="module")
def cli_unreadable_test_file(work: Path, fake: FakeLMStudio) -> tuple[Any, bytes, Path]:
    """`run tests --apply` when the test file beside the module is not UTF-8."""
    module = work / "cart_mod.py"
    module.write_text(CART)
    broken_tests = work / "test_cart_mod.py"
    broken = b"import cart_mod\n\ndef test_old():\n    assert '\xff\xfe' \n"
    broken_tests.write_bytes(broken)
    asked = len(fake.chat_requests())
    run = cli(work, fake, "tests", f"{module}:15-16", "--apply")  # `area`
    RESULTS.add("documents", cases=1, cli_tracebacks=int("Traceback" in run.stderr))
    assert len(fake.chat_requests()) == asked, "no model is asked for tests it cannot deliver"
    return run, broken, broken_tests


def test_cli_never_overwrites_an_unreadable_test_file(
    cli_unreadable_test_file: tuple[Any, bytes, Path],
) -> None:
    run, broken, broken_tests = cli_unreadable_test_file
    assert broken_tests.read_bytes() == broken, "the user's file is intact"
    assert run.returncode != 0, run.stdout


def test_cli_says_why_it_cannot_extend_an_unreadable_test_file(
    cli_unreadable_test_file: tuple[Any, bytes, Path],
) -> None:
    run, _, _ = cli_unreadable_test_file
    assert "Traceback" not in run.stderr, run.stderr[-500:]
    assert "test_cart_mod.py exists but is not UTF-8 text" in run.stderr, run.stderr
