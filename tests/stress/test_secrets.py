"""Secrets and exposure: API keys from settings and from the environment never appear in any
output channel (stderr at DEBUG, showMessage/logMessage, progress, status, command results,
the ledger and its WAL, explain files); files Ladder writes are user-only even under umask
000; `--tcp` binds loopback unless told otherwise and says so loudly; and `privacy.localOnly`
files never reach Claude by any path (listing, escalation, fallback, explicit choice,
complexity routing, mode claude, fan-out workers, explain, tests)."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_run_local import CART, REFACTORED_TOTAL
from tests.fakes.anthropic import ClaudeReply, FakeAnthropic, claude_error, sent_api_key
from tests.fakes.lmstudio import FakeLMStudio, Reply
from tests.fakes.script import Fault
from tests.ports import free_port
from tests.stress.client import LspServer, range_dict, stress_env
from tests.stress.conftest import internal_error_messages, running_server
from tests.stress.results import RESULTS

LOCAL_KEY = "lmk-local-7Qx93kLm2PzR8vWt"
SETTINGS_KEY = "sk-ant-settings-4f9a1c7e2b8d6035aa"
ENV_KEY = "sk-ant-environment-9c1e5b7a3f2d8046bb"
WORKSPACE_KEY = "sk-ant-workspace-2d7f4a9c1e6b3058cc"
KEYS = (LOCAL_KEY, SETTINGS_KEY, ENV_KEY, WORKSPACE_KEY)
GOOD = f"```python\n{REFACTORED_TOTAL}```"
BAD = "```python\ndef total(self, items):\n    # ... rest of the code\n```"
TOTAL = range_dict(7, 0, 12, 0)


@pytest.fixture(scope="module")
def fake_local() -> Iterator[FakeLMStudio]:
    with FakeLMStudio(api_key=LOCAL_KEY, default=Reply(GOOD)) as fake:
        yield fake


@pytest.fixture(scope="module")
def fake_claude() -> Iterator[FakeAnthropic]:
    with FakeAnthropic(default=ClaudeReply(GOOD)) as fake:
        yield fake


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("secrets")


def base_settings(fake_local: FakeLMStudio, fake_claude: FakeAnthropic) -> dict[str, Any]:
    return {
        "local": {"baseUrl": fake_local.base_url, "apiKey": LOCAL_KEY, "embeddedModel": "off"},
        "claude": {"baseUrl": fake_claude.url, "apiKey": SETTINGS_KEY},
    }


@pytest.fixture(scope="module")
def server(fake_local: FakeLMStudio, fake_claude: FakeAnthropic, work: Path) -> Iterator[LspServer]:
    options = {
        **base_settings(fake_local, fake_claude),
        "ledger": {"path": str(work / "state" / "ladder" / "ledger.sqlite3")},
    }
    env = stress_env(work, ANTHROPIC_API_KEY=ENV_KEY)
    with running_server(
        "secrets", work, options, env=env, umask=0o000, args=["--log-level", "DEBUG"]
    ) as server:
        # the editor's pulled settings (workspace/configuration) carry a key too
        server.workspace_config = {"claude": {"apiKey": WORKSPACE_KEY}}
        mark = server.mark()
        server.notify("workspace/didChangeConfiguration", {"settings": {"ladder": {}}})
        assert server.wait_until(
            lambda: any(m == "ladder/status" for m, _ in server.notifications[mark:]), 10
        )
        yield server


@pytest.fixture(autouse=True)
def clean(fake_local: FakeLMStudio, fake_claude: FakeAnthropic) -> Iterator[None]:
    yield
    for fake in (fake_local, fake_claude):
        fake.script.clear()
        fake.responder = None
    fake_local.default = Reply(GOOD)
    fake_claude.default = ClaudeReply(GOOD)


def configure(server: LspServer, config: dict[str, Any] | None) -> None:
    """New pulled settings, applied (the server announces them with a forced status)."""
    server.workspace_config = config
    mark = server.mark()
    server.notify("workspace/didChangeConfiguration", {"settings": {"ladder": {}}})
    assert server.wait_until(
        lambda: any(m == "ladder/status" for m, _ in server.notifications[mark:]), 10
    )


def open_fresh(server: LspServer, uri: str, text: str = CART) -> None:
    if uri in server.docs:
        server.replace_text(uri, text)
    else:
        server.open(uri, text)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_keys_appear_in_no_output_channel(
    server: LspServer, fake_local: FakeLMStudio, fake_claude: FakeAnthropic, work: Path
) -> None:
    uri = (work / "proj" / "cart.py").as_uri()
    responses: list[Any] = []
    open_fresh(server, uri)
    responses.append(server.code_actions(uri, TOTAL))
    # local success, and a local server that echoes the key it rejected
    responses.append(server.run("refactor", uri, TOTAL, tier="local"))
    open_fresh(server, uri)
    fake_local.push(
        Reply(
            fault=Fault.http_error(
                401, {"error": {"message": f"Incorrect API key provided: {LOCAL_KEY}"}}
            )
        )
    )
    responses.append(server.run("refactor", uri, TOTAL, tier="local"))
    # Claude with the pulled workspace key; then a Claude error that echoes it
    responses.append(server.run("refactor", uri, TOTAL, tier="claude"))
    open_fresh(server, uri)
    fake_claude.push(ClaudeReply(fault=claude_error(401, f"invalid x-api-key {WORKSPACE_KEY}")))
    responses.append(server.run("refactor", uri, TOTAL, tier="claude"))
    # an explanation whose answer echoes every key (a hostile proxy): masked in the file
    fake_claude.push(ClaudeReply("It calls the API with " + ", ".join(KEYS) + "."))
    responses.append(server.run("explain", uri, TOTAL, tier="claude"))
    # a failed check quotes the answer: the quote must not carry a key either
    fake_local.push(
        Reply(f"```python\ndef total(self, items):\n    # ... {SETTINGS_KEY} rest\n```")
    )
    responses.append(server.run("refactor", uri, TOTAL, tier="local"))
    # settings with wrong types (the warning must not quote them), then the environment key
    configure(server, {"claude": {"apiKey": 12345}, "local": {"apiKey": LOCAL_KEY}})
    configure(server, {"claude": {"apiKey": ""}})
    open_fresh(server, uri)
    responses.append(server.run("refactor", uri, TOTAL, tier="claude"))
    for command in ("ladder.status", "ladder.usage", "ladder.models", "ladder.debug.stats"):
        responses.append(server.execute(command))
    configure(server, {"claude": {"apiKey": WORKSPACE_KEY}})

    sent = {sent_api_key(r) for r in fake_claude.requests_to("/v1/messages", "POST")}
    channels: dict[str, str] = {
        "stderr": server.stderr_text(),
        "notifications": json.dumps(server.notifications),
        "responses": json.dumps(responses),
        "server requests": json.dumps(server.server_requests),
    }
    ledger = Path(server.init_options["ledger"]["path"])
    for path in sorted(ledger.parent.glob(ledger.name + "*")):
        channels[f"ledger {path.name}"] = path.read_bytes().decode("latin-1")
    for path in sorted((work / "cache").rglob("*")):
        if path.is_file():
            channels[f"cache {path.relative_to(work)}"] = path.read_text("utf-8", "replace")
    leaks = [
        f"{name}: {key[:14]}…" for name, text in channels.items() for key in KEYS if key in text
    ]
    RESULTS.add("secrets", cases=len(channels) * len(KEYS), secret_leaks=len(leaks))
    RESULTS.set("secrets", channels_checked=sorted(channels))
    assert leaks == [], leaks
    # not vacuous: the keys did reach the peers they belong to, and the channels saw traffic
    assert WORKSPACE_KEY in sent and ENV_KEY in sent, sent
    assert all(r.headers.get("authorization") == f"Bearer {LOCAL_KEY}" for r in fake_local.requests)
    assert "workspace/configuration" in channels["stderr"], "DEBUG logging was on"
    assert any(n.startswith("cache ") and "explain" in n for n in channels), channels.keys()
    assert internal_error_messages(server) == []


def test_files_ladder_writes_are_user_only(server: LspServer, work: Path) -> None:
    """The server runs with umask 000: permissions come from Ladder, not from luck."""
    ledger = Path(server.init_options["ledger"]["path"])
    explain = sorted((work / "cache").rglob("*.md"))
    files = [p for p in ledger.parent.glob(ledger.name + "*") if p.is_file()] + explain
    folders = [ledger.parent, *{p.parent for p in explain}]
    loose = [f"{p} {oct(mode(p))}" for p in [*files, *folders] if mode(p) & 0o077]
    RESULTS.add("secrets", cases=len(files) + len(folders), loose_permissions=len(loose))
    assert explain, "an explanation was written"
    assert any(p.name.endswith("-wal") for p in files), files
    assert loose == []


def listening(port: int) -> list[str]:
    """Local addresses (hex, as in /proc/net/tcp*) listening on `port`."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            address, state = fields[1], fields[3]
            if state == "0A" and int(address.rsplit(":", 1)[1], 16) == port:
                found.append(address.rsplit(":", 1)[0])
    return found


@pytest.mark.parametrize("host", [None, "0.0.0.0"], ids=["default", "all-interfaces"])
def test_tcp_binds_loopback_unless_told(work: Path, host: str | None) -> None:
    port = free_port()
    args = [sys.executable, "-m", "ladder_lsp", "--tcp", "--port", str(port)]
    if host:
        args += ["--host", host]
    log = work / f"tcp-{host or 'default'}.log"
    with open(log, "wb") as stderr:
        proc = subprocess.Popen(
            args, stderr=stderr, stdout=subprocess.DEVNULL, env=stress_env(work)
        )
    try:
        deadline = time.monotonic() + 60
        while not listening(port) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)  # polling a fact (the socket table), not waiting for a result
        addresses = listening(port)
        warning = log.read_text()
    finally:
        proc.terminate()
        proc.wait(10)
    RESULTS.add("secrets", cases=1)
    assert addresses, warning
    if host is None:
        assert set(addresses) <= {"0100007F", "00000000000000000000000001000000"}, addresses
        assert "NOT LOOPBACK" not in warning
    else:
        assert "00000000" in addresses
        assert "NOT LOOPBACK" in warning, warning


PRIVATE_FILES = [
    "secrets/db.py",
    "Secrets/Upper.py",
    "%73ecrets/encoded.py",
    "deep/nested/secrets/x.py",
    ".env",
    ".env.production",
    "certs/server.pem",
    "keys/deploy.key",
]


def test_local_only_files_never_reach_claude(
    server: LspServer, fake_local: FakeLMStudio, fake_claude: FakeAnthropic, work: Path
) -> None:
    before = len(fake_claude.requests)
    canaries: list[str] = []
    outcomes: list[tuple[str, str, Any]] = []
    fake_local.default = Reply(BAD)  # every local answer fails its checks: Claude is tempting
    root = (work / "proj").as_uri()
    for rel in PRIVATE_FILES:
        canary = f"CANARY{uuid.uuid4().hex}"
        canaries.append(canary)
        text = CART.replace("import math", f"import math  # {canary}")
        text += f"\n\ndef helper():\n    return '{canary}'\n"
        uri = f"{root}/{rel}"
        language = "python" if rel.endswith(".py") else "plaintext"
        if uri in server.docs:
            server.replace_text(uri, text)
        else:
            server.open(uri, text, language)
        titles = [
            a["title"]
            for a in server.code_actions(uri, TOTAL)
            if "Claude" in a["title"] and not a.get("disabled")
        ]
        outcomes.append((rel, "listing", titles))
        paths: list[tuple[str, dict[str, Any]]] = [
            ("escalation", {}),
            ("explicit", {"tier": "claude"}),
            ("explain-claude", {"tier": "claude", "action": "explain"}),
            ("tests-claude", {"tier": "claude", "action": "tests"}),
            ("workers", {"workers": True, "range": range_dict(0, 0, 20, 0)}),
        ]
        for name, extra in paths:
            action = extra.pop("action", "refactor")
            rng = extra.pop("range", TOTAL)
            outcomes.append((rel, name, server.run(action, uri, rng, **extra)))
    # fallback: the local server is down
    fake_local.stop()
    try:
        for rel in PRIVATE_FILES:
            uri = f"{root}/{rel}"
            outcomes.append((rel, "fallback", server.run("refactor", uri, TOTAL)))
    finally:
        fake_local.start()
    # complexity routing and mode claude
    for config_name, routing in (
        ("complexity", {"escalateAbove": 0}),
        ("mode-claude", {"mode": "claude"}),
    ):
        configure(server, {"claude": {"apiKey": WORKSPACE_KEY}, "routing": routing})
        for rel in PRIVATE_FILES:
            outcomes.append((rel, config_name, server.run("refactor", f"{root}/{rel}", TOTAL)))
    configure(server, {"claude": {"apiKey": WORKSPACE_KEY}})
    sent = fake_claude.requests[before:]
    leaked = [c for c in canaries for r in sent if c.encode() in r.body]
    offered = [o for o in outcomes if o[1] == "listing" and o[2]]
    applied_by_claude = [
        o for o in outcomes if isinstance(o[2], dict) and o[2].get("tier") == "claude"
    ]
    RESULTS.add("secrets", cases=len(outcomes), secret_leaks=len(leaked))
    RESULTS.set(
        "secrets",
        local_only_paths_checked=len(outcomes),
        claude_requests_for_private_files=len(sent),
    )
    assert leaked == []
    assert sent == [], [r.json for r in sent][:2]
    assert offered == []
    assert applied_by_claude == []
    assert server.alive()


def test_secret_inside_an_ordinary_file_blocks_escalation(
    server: LspServer, fake_local: FakeLMStudio, fake_claude: FakeAnthropic, work: Path
) -> None:
    before = len(fake_claude.requests)
    uri = (work / "proj" / "settings_loader.py").as_uri()
    token = "ghp_" + uuid.uuid4().hex + "abcdEFGH"
    text = CART.replace("t = 0", f't = 0\n        auth = "{token}"')
    open_fresh(server, uri, text)
    fake_local.default = Reply(BAD)
    escalated = server.run("refactor", uri, range_dict(7, 0, 13, 0))
    explicit = server.run("refactor", uri, range_dict(7, 0, 13, 0), tier="claude")
    RESULTS.add("secrets", cases=2)
    assert escalated["applied"] is False and explicit["applied"] is False
    assert "GitHub token" in explicit["reason"], explicit
    assert all(token.encode() not in r.body for r in fake_claude.requests[before:])
    assert len(fake_claude.requests) == before


def test_generated_tests_run_without_the_api_keys(
    server: LspServer, fake_local: FakeLMStudio, work: Path
) -> None:
    module = work / "proj" / "shapes.py"
    module.parent.mkdir(parents=True, exist_ok=True)
    module.write_text("def area(r):\n    return 3.14159 * r * r\n")
    spy = work / "spy.txt"
    generated = (
        "import os\n\nfrom shapes import area\n\n\n"
        "def test_area():\n"
        f"    open({str(spy)!r}, 'w').write(os.environ.get('ANTHROPIC_API_KEY', ''))\n"
        "    assert area(1) > 3\n"
    )
    configure(server, {"claude": {"apiKey": WORKSPACE_KEY}, "checks": {"runTests": True}})
    try:
        fake_local.push(Reply(f"```python\n{generated}```"))
        open_fresh(server, module.as_uri(), module.read_text())
        server.run("tests", module.as_uri(), range_dict(0, 0, 2, 0), tier="local", timeout=120)
    finally:
        configure(server, {"claude": {"apiKey": WORKSPACE_KEY}})
    seen = spy.read_text() if spy.exists() else ""
    RESULTS.add("secrets", cases=1, known_env_exposure_to_generated_tests=int(ENV_KEY in seen))
    assert spy.exists(), "the generated test ran"
    assert ENV_KEY not in seen


def test_cli_doctor_does_not_print_keys(work: Path, fake_local: FakeLMStudio) -> None:
    config = work / "doctor.json"
    config.write_text(json.dumps({"local": {"apiKey": LOCAL_KEY, "embeddedModel": "off"}}))
    run = subprocess.run(
        [
            *(sys.executable, "-m", "ladder_lsp", "doctor"),
            *("--config", str(config), "--base-url", fake_local.base_url),
        ],
        capture_output=True,
        text=True,
        env=stress_env(work, ANTHROPIC_API_KEY=ENV_KEY),
        timeout=120,
    )
    output = run.stdout + run.stderr
    leaks = [k for k in KEYS if k in output]
    RESULTS.add("secrets", cases=1, secret_leaks=len(leaks))
    assert run.returncode == 0, output
    assert "present" in output
    assert leaks == []
