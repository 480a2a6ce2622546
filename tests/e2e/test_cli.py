"""`ladder-lsp run | doctor | usage | --version` as a user runs them, against the fake server."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.test_run_local import CART, REFACTORED_TOTAL
from tests.fakes import Exchange, FakeServer
from tests.fakes.lmstudio import FakeLMStudio, Reply
from tests.ledger_file import ledger_rows
from tests.ports import free_port

SERVER_DIR = Path(__file__).resolve().parents[2] / "server"


def ladder(
    *args: str, tmp: Path, stdin: str | int | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """`ladder-lsp ARGS` as a shell runs it: a clean environment, its ledger and HOME in tmp,
    and the package of this checkout (not whichever one is installed). `stdin`: text to read,
    or a file descriptor (a terminal)."""
    env = {
        "PATH": "/usr/bin:/bin",
        "LADDER_LEDGER": str(tmp / "ledger.sqlite3"),
        "HOME": str(tmp),
        "PYTHONPATH": str(SERVER_DIR),
    }
    return subprocess.run(
        [sys.executable, "-m", "ladder_lsp", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        input=stdin if isinstance(stdin, str) else None,
        stdin=stdin if isinstance(stdin, int) else None,
        cwd=cwd,
    )


@pytest.fixture
def cart(tmp_path: Path) -> Path:
    path = tmp_path / "cart.py"
    path.write_text(CART)
    return path


def test_run_prints_the_diff_and_leaves_the_file(
    cart: Path, fake_local: FakeLMStudio, tmp_path: Path
) -> None:
    fake_local.push(Reply(f"Here you go:\n```python\n{REFACTORED_TOTAL}```\nEnjoy!"))
    proc = ladder(
        "run", "refactor", f"{cart}:8-12", "--base-url", fake_local.base_url, tmp=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == (
        f"--- a{cart}\n+++ b{cart}\n@@ -7,8 +7,8 @@\n"  # a/tmp/..., as git writes it
        " \n     def total(self, items):\n         t = 0\n"
        "-        for i in items:\n-            t = t + i.price * i.qty\n"
        "+        for item in items:\n+            t += item.price * item.qty\n"
        "         return t\n \n \n"
    )
    assert cart.read_text() == CART
    assert "Refactor by local model" in proc.stderr


def test_run_apply_writes_the_file(cart: Path, fake_local: FakeLMStudio, tmp_path: Path) -> None:
    fake_local.push(Reply(f"```python\n{REFACTORED_TOTAL}```"))
    proc = ladder(
        "run",
        "refactor",
        f"{cart}:8-12",
        "--apply",
        "--base-url",
        fake_local.base_url,
        tmp=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "t += item.price * item.qty" in cart.read_text()
    usage = ladder("usage", tmp=tmp_path)
    assert usage.returncode == 0
    assert "local" in usage.stdout and "1 runs" in usage.stdout


def test_piped_output_is_the_result_only(
    cart: Path, fake_local: FakeLMStudio, tmp_path: Path
) -> None:
    """No progress line per update and no HTTP log lines when stderr is not a terminal."""
    fake_local.push(Reply(f"```python\n{REFACTORED_TOTAL}```"))
    proc = ladder(
        "run", "refactor", f"{cart}:8-12", "--base-url", fake_local.base_url, tmp=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.splitlines() == [
        "ladder-lsp: Refactor by local model (qwen2.5-coder-7b-instruct): 2 line(s) changed."
    ]


def test_apply_goes_through_the_editors_delivery_path(
    cart: Path, fake_local: FakeLMStudio, tmp_path: Path
) -> None:
    """The same last checks and the same ledger row as in the editor: an answer that plants
    one of the user's API keys is refused, and the run's real duration is recorded."""
    key = "sk-local-0123456789abcdef-secret"
    config = tmp_path / "settings.json"
    config.write_text(json.dumps({"local": {"apiKey": key}}))
    planted = REFACTORED_TOTAL.replace("t = 0", f"t = 0  # {key}")
    fake_local.push(Reply(f"```python\n{planted}```"))
    run = ("run", "refactor", f"{cart}:8-12", "--apply", "--base-url", fake_local.base_url)
    proc = ladder(*run, "--config", str(config), tmp=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert "contains one of your API keys" in proc.stderr
    assert key not in proc.stdout + proc.stderr
    assert cart.read_text() == CART
    fake_local.push(Reply(f"```python\n{REFACTORED_TOTAL}```"))
    assert ladder(*run, "--config", str(config), tmp=tmp_path).returncode == 0
    blocked, applied = ledger_rows(tmp_path / "ledger.sqlite3")
    assert (blocked["delivery"], applied["delivery"]) == ("blocked", "applied")
    assert blocked["saved_usd"] == 0.0
    assert applied["duration_s"] > 0, "the run's time is recorded, not 0 s"
    usage = ladder("usage", tmp=tmp_path)
    assert "results: 1 applied, 1 blocked by Ladder's checks" in usage.stdout


def test_run_failure_exits_non_zero_with_a_reason(
    cart: Path, fake_local: FakeLMStudio, tmp_path: Path
) -> None:
    fake_local.default = Reply("I cannot help with that.")
    proc = ladder(
        "run", "refactor", f"{cart}:8-12", "--base-url", fake_local.base_url, tmp=tmp_path
    )
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert "no code" in proc.stderr
    assert cart.read_text() == CART


@pytest.mark.parametrize(
    ("location", "message"),
    [(":99-120", "outside the file"), (":5-2", "outside the file or reversed")],
)
def test_run_bad_range_is_a_usage_error(
    cart: Path, tmp_path: Path, location: str, message: str
) -> None:
    proc = ladder("run", "refactor", f"{cart}{location}", tmp=tmp_path)
    assert proc.returncode == 2 and message in proc.stderr


def test_run_missing_file_and_unknown_action(tmp_path: Path) -> None:
    proc = ladder("run", "refactor", str(tmp_path / "nope.py"), tmp=tmp_path)
    assert proc.returncode == 2 and "cannot read" in proc.stderr
    (tmp_path / "a.py").write_text("x = 1\n")
    proc = ladder("run", "frobnicate", str(tmp_path / "a.py"), tmp=tmp_path)
    assert proc.returncode == 2 and "unknown action" in proc.stderr


def test_doctor_reports_models_and_exit_code(fake_local: FakeLMStudio, tmp_path: Path) -> None:
    proc = ladder("doctor", "--base-url", fake_local.base_url, tmp=tmp_path)
    assert proc.returncode == 0, proc.stdout
    assert "reachable: yes" in proc.stdout
    assert "using: qwen2.5-coder-7b-instruct" in proc.stdout
    assert "key: missing" in proc.stdout
    fake_local.stop()
    config = tmp_path / "no-embedded.json"
    config.write_text('{"local": {"embeddedModel": "off"}}')
    proc = ladder(
        "doctor", "--base-url", fake_local.base_url, "--config", str(config), tmp=tmp_path
    )
    assert proc.returncode == 1
    assert "not reachable" in proc.stdout and "No tier can serve" in proc.stdout


class EchoingProxy(FakeServer):
    """A misbehaving proxy: its error page quotes the request's Authorization header."""

    def handle(self, ex: Exchange) -> None:
        quoted = ex.request.headers.get("authorization", "")
        ex.send_json(502, {"error": f"upstream refused the request with {quoted}"})


def test_doctor_json_lists_every_member_and_never_a_key(tmp_path: Path) -> None:
    primary_key = "sk-local-primary-0123456789abcdef"
    dead_key = "sk-endpoint-dead-0123456789abcdef"
    proxy_key = "sk-endpoint-proxy-0123456789abcdef"
    dead = f"http://127.0.0.1:{free_port()}/v1"
    with FakeLMStudio(api_key=primary_key) as up, EchoingProxy() as proxy:
        endpoints = [
            {"baseUrl": dead, "name": "gpu-box", "apiKey": dead_key, "maxParallel": 2},
            {"baseUrl": f"{proxy.root_url}/v1", "apiKey": proxy_key},
        ]
        config = tmp_path / "pool.json"
        config.write_text(
            json.dumps(
                {
                    "local": {
                        "baseUrl": up.base_url,
                        "apiKey": primary_key,
                        "embeddedModel": "off",
                        "endpoints": endpoints,
                    }
                }
            )
        )
        as_json = ladder("doctor", "--json", "--config", str(config), tmp=tmp_path)
        as_text = ladder("doctor", "--config", str(config), tmp=tmp_path)
        assert proxy.requests, "the proxy was asked with its key"
        assert up.chat_requests(), "the probe chat ran on the member that is up"
    assert as_json.returncode == 0, as_json.stderr
    payload = json.loads(as_json.stdout)
    first, second, third = payload["members"]
    assert (first["baseUrl"], first["up"], first["slots"]) == (up.base_url, True, 4)
    assert first["model"] == "qwen2.5-coder-7b-instruct" and first["contextLength"] == 32768
    assert first["tokensPerSecond"] > 0 and first["problem"] is None
    assert (second["name"], second["baseUrl"], second["up"], second["slots"]) == (
        "gpu-box",
        dead,
        False,
        2,
    )
    assert "not reachable" in second["problem"]
    assert second["model"] is second["tokensPerSecond"] is None
    assert third["up"] is False and "502" in third["problem"]
    assert payload["discovery"] is None, "a chosen baseUrl is not searched around"
    assert "Local server 'gpu-box'" in as_text.stdout and "reachable: no" in as_text.stdout
    for proc in (as_json, as_text):
        for key in (primary_key, dead_key, proxy_key):
            assert key not in proc.stdout + proc.stderr


def test_version_and_stdio_flag(tmp_path: Path) -> None:
    proc = ladder("--version", tmp=tmp_path)
    assert proc.returncode == 0 and proc.stdout.startswith("ladder-lsp ")
    # VS Code's client appends --stdio; the server must accept it (EOF on stdin ends it)
    proc = ladder("--stdio", tmp=tmp_path, stdin="")
    assert proc.returncode == 0, proc.stderr


def test_run_edit_needs_an_instruction_and_sends_nothing_without_one(
    cart: Path, fake_local: FakeLMStudio, tmp_path: Path
) -> None:
    proc = ladder("run", "edit", f"{cart}:8-12", "--base-url", fake_local.base_url, tmp=tmp_path)
    assert proc.returncode == 2
    assert "needs an instruction" in proc.stderr and '-m "INSTRUCTION"' in proc.stderr
    assert fake_local.chat_requests() == []


def test_run_edit_with_m_sends_the_instruction(
    cart: Path, fake_local: FakeLMStudio, tmp_path: Path
) -> None:
    fake_local.push(Reply(f"```python\n{REFACTORED_TOTAL}```"))
    proc = ladder(
        "run",
        "edit",
        f"{cart}:8-12",
        "-m",
        "rename the loop variable to item",
        "--base-url",
        fake_local.base_url,
        tmp=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "+        for item in items:" in proc.stdout
    (sent,) = fake_local.chat_requests()
    assert "Instruction from the user: rename the loop variable to item" in str(
        sent["messages"][1]["content"]
    )


@pytest.mark.parametrize(("typed", "written"), [("y\n", True), ("n\n", False), ("", False)])
def test_run_asks_on_a_terminal_when_edits_confirm_says_so(
    cart: Path, fake_local: FakeLMStudio, tmp_path: Path, typed: str, written: bool
) -> None:
    """`edits.confirm: always` with a terminal on standard input: the diff, then the question;
    only "y" writes (end of input is no)."""
    fake_local.push(Reply(f"```python\n{REFACTORED_TOTAL}```"))
    config = tmp_path / "settings.json"
    config.write_text(json.dumps({"edits": {"confirm": "always"}}))
    main, terminal = pty.openpty()
    try:
        os.write(main, typed.encode() if typed else b"\x04")  # ^D: end of input
        proc = ladder(
            "run",
            "refactor",
            f"{cart}:8-12",
            "--base-url",
            fake_local.base_url,
            "--config",
            str(config),
            tmp=tmp_path,
            stdin=terminal,
        )
    finally:
        os.close(main)
        os.close(terminal)
    assert "+        for item in items:" in proc.stdout
    assert "Apply 2 changed lines from qwen2.5-coder-7b-instruct? [y/N]" in proc.stderr
    assert ("t += item.price * item.qty" in cart.read_text()) is written
    assert proc.returncode == (0 if written else 1), proc.stderr
    if not written:
        assert "you discarded the edit" in proc.stderr
