"""Backend faults in the middle of one long session: the local server restarts, swaps its
loaded model, is slow to load; Claude has an outage (529 for a while). Ladder recovers each
time without a restart, says honestly what it waits for, and stops calling Claude while it
is down (circuit breaker), probing again after a cool-down."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from ladder_lsp.backends.discovery import MODEL_CHOICE_TTL_SECONDS
from tests.e2e.test_run_local import CART, REFACTORED_TOTAL
from tests.fakes.anthropic import ClaudeReply, FakeAnthropic, claude_error
from tests.fakes.lmstudio import FakeLMStudio, Reply
from tests.fakes.script import Fault
from tests.stress.client import LspServer, range_dict, stress_env
from tests.stress.conftest import internal_error_messages, running_server
from tests.stress.results import RESULTS

KEY = "sk-ant-faults-0123456789abcdefghijklmnop"
GOOD = f"```python\n{REFACTORED_TOTAL}```"
TOTAL = range_dict(7, 0, 12, 0)
SLOW_LOAD_SECONDS = 3.0
COOLDOWN = 1.0  # LADDER_BREAKER_COOLDOWN for this server (the default is 30 s)
THRESHOLD = 3
SDK_ATTEMPTS = 3  # the Claude backend's max_retries=2, plus the first try


@pytest.fixture(scope="module")
def fake_local() -> Iterator[FakeLMStudio]:
    with FakeLMStudio() as fake:
        yield fake


@pytest.fixture(scope="module")
def fake_claude() -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as fake:
        yield fake


@pytest.fixture(scope="module")
def server(
    fake_local: FakeLMStudio, fake_claude: FakeAnthropic, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LspServer]:
    work = tmp_path_factory.mktemp("faults")
    options = {
        "local": {"baseUrl": fake_local.base_url, "embeddedModel": "off"},
        "claude": {"baseUrl": fake_claude.url, "apiKey": KEY},
        "ledger": {"path": str(work / "ledger.sqlite3")},
        "routing": {"escalateOnFailure": False},
    }
    env = stress_env(work, LADDER_BREAKER_COOLDOWN=str(COOLDOWN))
    with running_server("faults", work, options, env=env) as server:
        yield server


@pytest.fixture(autouse=True)
def clean(fake_local: FakeLMStudio, fake_claude: FakeAnthropic) -> None:
    """Every test starts with the module's fakes answering GOOD by default, with nothing
    scripted, whatever ran before it (or nothing did: a test run alone)."""
    for fake in (fake_local, fake_claude):
        fake.script.clear()
        fake.responder = None
    fake_local.default = Reply(GOOD)
    fake_claude.default = ClaudeReply(GOOD)


def fresh_doc(server: LspServer, name: str) -> str:
    uri = f"file:///stress/faults/{name}.py"
    if uri in server.docs:
        server.replace_text(uri, CART)
    else:
        server.open(uri, CART)
    return uri


def poll(predicate: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    """Re-check a fact the server only reports when asked (breaker state)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def progress_messages(server: LspServer, since: int) -> list[str]:
    return [
        v.get("message") or ""
        for values in server.progress(since).values()
        for v in values
        if v.get("kind") in ("begin", "report")
    ]


def test_local_server_restart_mid_session(server: LspServer, fake_local: FakeLMStudio) -> None:
    uri = fresh_doc(server, "restart")
    fake_local.push(GOOD)
    assert server.run("refactor", uri, TOTAL, tier="local")["applied"] is True
    server.replace_text(uri, CART)
    fake_local.stop()
    mark = server.mark()
    down = server.run("refactor", uri, TOTAL, tier="local")
    status_down = server.execute("ladder.status")
    fake_local.start()  # same port: the user restarted LM Studio's server
    fake_local.push(GOOD)
    back = server.run("refactor", uri, TOTAL, tier="local")
    status_up = server.execute("ladder.status")
    RESULTS.add("faults", cases=3)
    assert down["applied"] is False and "not reachable" in down["reason"], down
    assert status_down["local"]["reachable"] is False
    assert back["applied"] is True, back
    assert status_up["local"]["reachable"] is True
    assert server.docs[uri].text.count("t += item.price * item.qty") == 1
    assert internal_error_messages(server, mark) == []


def test_local_server_swaps_its_loaded_model(server: LspServer, fake_local: FakeLMStudio) -> None:
    uri = fresh_doc(server, "swap")
    before = [dict(m) for m in fake_local.models]
    fake_local.strict_models = True
    try:
        first = server.run("refactor", uri, TOTAL, tier="local")
        server.replace_text(uri, CART)
        # The user loads another model in LM Studio (JIT): the old one stays listed, unloaded.
        for m in fake_local.models:
            m["state"] = "loaded" if m["id"] == "llama-3.2-3b-instruct" else "not-loaded"
        time.sleep(MODEL_CHOICE_TTL_SECONDS)  # a person takes longer than this to swap
        swapped = server.run("refactor", uri, TOTAL, tier="local")
        server.replace_text(uri, CART)
        # ... or replaces it with a model Ladder has never seen.
        fake_local.models = [
            {"id": "brand-new-coder", "type": "llm", "state": "loaded", "max_context_length": 8192}
        ]
        time.sleep(MODEL_CHOICE_TTL_SECONDS)
        replaced = server.run("refactor", uri, TOTAL, tier="local")
        # ... or swaps faster than the model list is cached: the server's "no such model"
        # makes Ladder ask again which one is loaded, and the same run goes on with it.
        fake_local.models = [
            {"id": "swift-coder", "type": "llm", "state": "loaded", "max_context_length": 8192}
        ]
        server.replace_text(uri, CART)
        at_once = server.run("refactor", uri, TOTAL, tier="local")
    finally:
        fake_local.models = before
        fake_local.strict_models = False
    RESULTS.add("faults", cases=3)
    assert first["applied"] is True and first["model"] == "qwen2.5-coder-7b-instruct", first
    assert swapped["applied"] is True and swapped["model"] == "llama-3.2-3b-instruct", swapped
    assert replaced["applied"] is True and replaced["model"] == "brand-new-coder", replaced
    assert at_once["applied"] is True and at_once["model"] == "swift-coder", at_once


@pytest.mark.parametrize("model", ["", "llama-3.2-3b-instruct"], ids=["loaded", "jit-load"])
def test_slow_first_byte_says_what_it_waits_for(
    server: LspServer, fake_local: FakeLMStudio, model: str
) -> None:
    uri = fresh_doc(server, f"slow-{model or 'loaded'}")
    if model:
        server.execute("ladder.selectModel", model)
    try:
        fake_local.push(Reply(GOOD, fault=Fault.slow_load(SLOW_LOAD_SECONDS)))
        mark = server.mark()
        chats = len(fake_local.chat_requests())
        started = time.monotonic()
        future = server.run_future("refactor", uri, TOTAL, tier="local")
        wanted = "loading model" if model else "waiting for the model"
        said = server.wait_until(
            lambda: any(wanted in m for m in progress_messages(server, mark)), 10
        )
        # the model server holds the request and has sent nothing yet
        arrived = fake_local.wait_until(lambda: len(fake_local.chat_requests()) > chats, 10)
        waiting_while_silent = arrived and not future.done()
        result = server.wait(future, 60)
        elapsed = time.monotonic() - started
    finally:
        if model:
            server.execute("ladder.selectModel", "")
    RESULTS.add("faults", cases=1)
    RESULTS.maximum("faults", slow_load_run_seconds=round(elapsed, 2))
    assert said, progress_messages(server, mark)
    assert waiting_while_silent
    assert result["applied"] is True, result


def breaker_state(server: LspServer, fake_claude: FakeAnthropic) -> dict[str, Any]:
    breakers = server.stats()["breakers"]
    return dict(breakers.get(fake_claude.url.rstrip("/"), {}))


def test_claude_outage_trips_the_breaker_and_recovers(
    server: LspServer, fake_local: FakeLMStudio, fake_claude: FakeAnthropic
) -> None:
    uri = fresh_doc(server, "outage")
    fake_claude.default = ClaudeReply(fault=claude_error(529, retry_after=0.01))
    sent = len(fake_claude.message_requests())
    mark = server.mark()

    failing = [server.run("refactor", uri, TOTAL, tier="claude") for _ in range(THRESHOLD)]
    after_trip = len(fake_claude.message_requests())
    tripped = breaker_state(server, fake_claude)

    refused = [server.run("refactor", uri, TOTAL, tier="claude") for _ in range(5)]
    while_open = len(fake_claude.message_requests())

    # auto routing that wants Claude falls back to the local model at once while it is open
    server.workspace_config = {"routing": {"escalateAbove": 1}}
    status_mark = server.mark()
    server.notify("workspace/didChangeConfiguration", {"settings": {"ladder": {}}})
    assert server.wait_until(
        lambda: any(m == "ladder/status" for m, _ in server.notifications[status_mark:]), 10
    )
    fake_local.push(GOOD)
    fallback = server.run("refactor", uri, TOTAL)
    server.replace_text(uri, CART)
    after_fallback = len(fake_claude.message_requests())

    # cool-down over, still down: one probe (with the SDK's retries), open again, longer
    assert poll(lambda: breaker_state(server, fake_claude).get("retryIn") == 0, 10)
    probe_failed = server.run("refactor", uri, TOTAL, tier="claude")
    reopened = breaker_state(server, fake_claude)
    after_probe = len(fake_claude.message_requests())

    # Claude is back: after the (doubled) cool-down the probe succeeds and closes it
    fake_claude.default = ClaudeReply(GOOD)
    assert poll(lambda: breaker_state(server, fake_claude).get("retryIn") == 0, 10)
    recovered = server.run("refactor", uri, TOTAL, tier="claude")
    closed = breaker_state(server, fake_claude)
    server.workspace_config = None
    server.notify("workspace/didChangeConfiguration", {"settings": {"ladder": {}}})

    RESULTS.add("faults", cases=len(failing) + len(refused) + 3)
    RESULTS.add("faults", breaker_trips=int(closed.get("trips", 0)))
    RESULTS.set(
        "faults",
        claude_requests_during_outage=after_probe - sent,
        claude_requests_while_breaker_open=while_open - after_trip,
        runs_refused_by_breaker=len(refused),
    )
    assert all(r["applied"] is False and "overloaded" in r["reason"] for r in failing), failing
    assert after_trip - sent == THRESHOLD * SDK_ATTEMPTS
    assert tripped["state"] == "open" and tripped["trips"] >= 1, tripped
    assert all("not retrying for" in r["reason"] for r in refused), refused
    assert while_open == after_trip, "no request reaches Claude while the breaker is open"
    assert fallback["applied"] is True and fallback["tier"] == "local", fallback
    assert after_fallback == while_open
    assert probe_failed["applied"] is False
    assert after_probe - after_fallback == SDK_ATTEMPTS, "exactly one probe"
    assert reopened["state"] == "open" and reopened["cooldown"] == 2 * COOLDOWN, reopened
    assert recovered["applied"] is True and recovered["tier"] == "claude", recovered
    assert closed["state"] == "closed" and closed["failures"] == 0, closed
    assert internal_error_messages(server, mark) == []
