"""`ladder-lsp doctor`'s parts: one pool member checked against a real fake LM Studio (models,
context window, a bounded probe chat timing its tokens/s), and the report as text and JSON —
with the WSL discovery's setting or advice."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from ladder_lsp.backends.base import ModelInfo
from ladder_lsp.backends.factory import Backends
from ladder_lsp.backends.wsl import Discovery, Found, HostFiles
from ladder_lsp.doctor import (
    PROBE_CHAT,
    MemberReport,
    Report,
    check_member,
    collect,
    render_json,
    render_text,
)
from ladder_lsp.settings import LocalSettings, Settings
from tests.fakes import Fault
from tests.fakes.lmstudio import FakeLMStudio, Reply

COUNTING = "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20"


@pytest.fixture
def lmstudio() -> Iterator[FakeLMStudio]:
    with FakeLMStudio(default=Reply(COUNTING)) as fake:
        yield fake


@pytest_asyncio.fixture
async def backends() -> AsyncIterator[Backends]:
    made = Backends()
    yield made
    await made.aclose()


async def test_a_member_that_serves_is_measured(lmstudio: FakeLMStudio, backends: Backends) -> None:
    server = backends.local(LocalSettings(base_url=lmstudio.base_url, max_parallel=2))
    report = await check_member("box", server)
    assert (report.name, report.base_url, report.slots) == ("box", lmstudio.base_url, 2)
    assert report.up and report.reachable and not report.problem
    assert report.model == "qwen2.5-coder-7b-instruct"
    assert report.context_length == 32768
    assert report.tokens_per_second is not None and report.tokens_per_second > 0
    (probe,) = lmstudio.chat_requests()
    assert probe["max_tokens"] == PROBE_CHAT.max_tokens <= 16, "a short probe, a few tokens"


async def test_tokens_per_second_is_generation_speed_not_time_to_first_token(
    backends: Backends,
) -> None:
    """A server that thinks before its first token but then streams fast measures faster
    than one that starts at once and streams slowly (10× apart: no tight timing)."""
    slow_start = Reply(COUNTING, first_byte_delay=0.4, chunk_delay=0.004)
    slow_stream = Reply(COUNTING, chunk_delay=0.04)
    with FakeLMStudio(default=slow_start) as a, FakeLMStudio(default=slow_stream) as b:
        fast = await check_member("a", backends.local(LocalSettings(base_url=a.base_url)))
        slow = await check_member("b", backends.local(LocalSettings(base_url=b.base_url)))
    assert fast.tokens_per_second is not None and slow.tokens_per_second is not None
    assert fast.tokens_per_second > slow.tokens_per_second


async def test_a_probe_chat_that_hangs_is_cut_and_said(
    lmstudio: FakeLMStudio, backends: Backends
) -> None:
    lmstudio.push(Reply(fault=Fault.hang()))
    server = backends.local(LocalSettings(base_url=lmstudio.base_url))
    report = await check_member("box", server, probe_seconds=0.3)
    assert report.up, "it answers and has a model: only the speed is unknown"
    assert report.tokens_per_second is None
    assert report.to_json()["problem"] == "the probe answer took longer than 0.3 s"
    assert lmstudio.wait_for_disconnect(), "the hanging chat's connection is closed"


async def test_a_member_whose_chat_fails_or_has_no_model_is_down(
    lmstudio: FakeLMStudio, backends: Backends
) -> None:
    lmstudio.push(Reply(fault=Fault.http_error(500)))
    server = backends.local(LocalSettings(base_url=lmstudio.base_url))
    failing = await check_member("box", server)
    assert failing.reachable and not failing.up and failing.problem
    lmstudio.models = [{**m, "state": "not-loaded"} for m in lmstudio.models]
    empty = await check_member("box", server)
    assert empty.reachable and not empty.up and "No model is loaded" in empty.problem


def report(discovery: Discovery | None, *members: MemberReport) -> Report:
    return Report(members, discovery, None, "claude-x", False, 5.0)


DOWN = MemberReport(
    "localhost:1234", "http://localhost:1234/v1", 4, problem="not reachable at localhost"
)
WINDOWS = "http://172.17.224.1:1234/v1"
LOADED = (ModelInfo("qwen", state="loaded"), ModelInfo("llama", state="not-loaded"))


def test_text_gives_the_exact_setting_when_the_windows_host_answers() -> None:
    text = render_text(report(Discovery(True, ("172.17.224.1",), Found(WINDOWS, LOADED)), DOWN))
    assert "LM Studio on the Windows host (WSL): tried 172.17.224.1" in text
    assert f"  found: {WINDOWS} (qwen)" in text
    assert f'  use: "ladder.local.baseUrl": "{WINDOWS}"' in text
    assert text.endswith("No tier can serve: start LM Studio's server or set a Claude key.\n")


def test_text_and_json_give_the_switch_when_nothing_answers() -> None:
    r = report(Discovery(True, ("172.17.224.1",), None), DOWN)
    assert "Serve on Local Network" in render_text(r)
    discovery = json.loads(render_json(r))["discovery"]
    assert discovery["found"] is None and discovery["setting"] is None
    assert discovery["hosts"] == ["172.17.224.1"] and discovery["wsl"] is True
    assert "networkingMode=mirrored" in discovery["advice"]


def test_outside_wsl_the_text_adds_nothing_to_the_members_problem() -> None:
    r = report(Discovery(False, (), None), DOWN)
    assert "Windows host" not in render_text(r)
    assert "Start LM Studio's server" in json.loads(render_json(r))["discovery"]["advice"]


def test_json_has_every_member_and_the_fields_scripts_read() -> None:
    up = MemberReport(
        "gpu-box",
        "http://gpu-box.lan:1234/v1",
        2,
        reachable=True,
        up=True,
        model="qwen",
        context_length=32768,
        tokens_per_second=41.5,
    )
    payload = json.loads(render_json(report(None, up, DOWN)))
    assert payload["members"] == [
        {
            "name": "gpu-box",
            "baseUrl": "http://gpu-box.lan:1234/v1",
            "up": True,
            "slots": 2,
            "model": "qwen",
            "contextLength": 32768,
            "tokensPerSecond": 41.5,
            "problem": None,
        },
        {
            "name": "localhost:1234",
            "baseUrl": "http://localhost:1234/v1",
            "up": False,
            "slots": 4,
            "model": None,
            "contextLength": None,
            "tokensPerSecond": None,
            "problem": "not reachable at localhost",
        },
    ]
    assert payload["discovery"] is None and payload["ready"] is True
    text = render_text(report(None, up, DOWN))
    assert "Local server 'gpu-box': http://gpu-box.lan:1234/v1 (2 slots)" in text
    assert "  speed: 41.5 tokens/s" in text and "Local engine: the server above" in text


def answers(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=0.5).close()
    except OSError:
        return False
    return True


async def test_collect_searches_the_windows_host_only_for_a_silent_default(
    tmp_path: Path,
) -> None:
    if answers("localhost", 1234):
        pytest.skip("something serves localhost:1234 on this machine")
    files = HostFiles(tmp_path / "osrelease", tmp_path / "route", tmp_path / "resolv.conf")
    files.osrelease.write_text("5.15.167.4-microsoft-standard-WSL2\n")
    files.resolv.write_text("nameserver 192.0.2.1\n")  # TEST-NET: nothing answers there
    silent = Settings(local=LocalSettings(embedded_model="off"))
    found = await collect(silent, files)
    assert found.discovery is not None
    assert (found.discovery.wsl, found.discovery.hosts) == (True, ("192.0.2.1",))
    assert "Serve on Local Network" in render_text(found)
    chosen = Settings(local=LocalSettings(base_url="http://127.0.0.1:1/v1", embedded_model="off"))
    assert (await collect(chosen, files)).discovery is None
