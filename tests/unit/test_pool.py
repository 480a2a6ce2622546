"""The local pool (backends/pool.py) over real HTTP fakes and the real httpx client: dispatch
to free members, failover from scratch without leaving the local tier, live recovery, model
constraints, measured speed, and a status that never shows a key."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from typing import Any

import attrs
import httpx
import pytest

from ladder_lsp.backends.base import BackendError, ChatRequest, FailureKind, StreamEvent
from ladder_lsp.backends.pool import LocalPool
from ladder_lsp.backends.wsl import DEFAULT_BASE_URL, Discovery, find_local_server
from ladder_lsp.settings import LocalSettings
from ladder_lsp.settings_lists import Endpoint
from tests.fakes import FakeLMStudio, Fault, Reply
from tests.ports import dead_url

REQUEST = ChatRequest(system="You edit code.", user="Refactor: def f(): pass", max_tokens=300)
ANSWER = "def f():\n    return None\n"


@pytest.fixture
def fakes() -> Iterator[list[FakeLMStudio]]:
    servers = [FakeLMStudio(default=Reply(ANSWER)).start() for _ in range(3)]
    yield servers
    for server in servers:
        server.stop()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def pool(http: httpx.AsyncClient, *urls: str, cooldown: float = 5.0, **local: Any) -> LocalPool:
    first, *rest = urls
    endpoints = tuple(
        Endpoint(url, name=f"m{i}", **local.pop(f"m{i}", {})) for i, url in enumerate(rest, 1)
    )
    settings = LocalSettings(base_url=first, max_parallel=1, endpoints=endpoints, **local)
    return LocalPool(settings, http, cooldown=cooldown)


class Events(list[StreamEvent]):
    def __call__(self, event: StreamEvent) -> None:
        self.append(event)

    @property
    def statuses(self) -> list[str]:
        return [e.status for e in self if e.status]


async def test_parallel_requests_spread_over_the_members(
    http: httpx.AsyncClient, fakes: list[FakeLMStudio]
) -> None:
    for fake in fakes:
        fake.script.default = Reply(ANSWER, first_byte_delay=0.15)
    the_pool = pool(http, *(f.base_url for f in fakes))
    events = Events()
    done = await asyncio.gather(*(the_pool.complete(REQUEST, events) for _ in range(6)))
    assert [len(f.chat_requests()) for f in fakes] == [2, 2, 2]  # one slot each: 2 rounds
    assert sorted(Counter(c.endpoint for c in done).values()) == [2, 2, 2]
    assert "queued (all local slots busy)" in events.statuses
    assert all(m["busy"] == 0 for m in the_pool.snapshot())


async def test_a_dead_member_costs_a_retry_on_another_not_a_failure(
    http: httpx.AsyncClient, fakes: list[FakeLMStudio]
) -> None:
    the_pool = pool(http, dead_url(), fakes[0].base_url)
    events = Events()
    completion = await the_pool.complete(REQUEST, events)
    assert completion.text == ANSWER and completion.endpoint == "m1"
    assert any("re-sent to another local server" in s for s in events.statuses)
    assert any(e.restart for e in events)
    assert the_pool.reachable is True  # the pool answers although its baseUrl does not
    first, second = the_pool.snapshot()
    assert (first["up"], first["failed"], second["up"], second["served"]) == (False, 1, True, 1)
    # set aside: the next request goes straight to the member that works
    again = Events()
    assert (await the_pool.complete(REQUEST, again)).endpoint == "m1"
    assert not any("re-sent" in s for s in again.statuses)


async def test_a_member_dying_mid_answer_is_re_sent_from_scratch(
    http: httpx.AsyncClient, fakes: list[FakeLMStudio]
) -> None:
    fakes[0].script.push(Reply("def f():\n    partial and wrong", fault=Fault.drop_after(3)))
    the_pool = pool(http, fakes[0].base_url, fakes[1].base_url)
    events = Events()
    completion = await the_pool.complete(REQUEST, events)
    assert completion.text == ANSWER, "nothing of the cut answer is kept"
    assert completion.endpoint == "m1"
    restart = next(i for i, e in enumerate(events) if e.restart)
    assert "".join(e.text for e in events[restart:]) == ANSWER


async def test_when_every_member_fails_the_engine_gets_the_failure(
    http: httpx.AsyncClient,
) -> None:
    the_pool = pool(http, dead_url(), dead_url())
    with pytest.raises(BackendError) as caught:
        await the_pool.complete(REQUEST, Events())
    assert caught.value.kind is FailureKind.UNREACHABLE
    assert the_pool.reachable is False
    assert "no local model server of the pool answers" in the_pool.problem


async def test_a_request_too_large_is_not_sent_around(
    http: httpx.AsyncClient, fakes: list[FakeLMStudio]
) -> None:
    fakes[0].script.push(
        Reply(fault=Fault.http_error(400, {"error": "context length of 2048 exceeded"}))
    )
    the_pool = pool(http, fakes[0].base_url, fakes[1].base_url)
    with pytest.raises(BackendError) as caught:
        await the_pool.complete(REQUEST, Events())
    assert caught.value.kind is FailureKind.TOO_LARGE
    assert fakes[1].chat_requests() == []


async def test_a_member_that_comes_back_is_used_again(
    http: httpx.AsyncClient, fakes: list[FakeLMStudio]
) -> None:
    fakes[0].stop()  # down at start
    for fake in fakes[:2]:
        fake.script.default = Reply(ANSWER, first_byte_delay=0.1)
    the_pool = pool(http, fakes[0].base_url, fakes[1].base_url, cooldown=0.05)
    assert (await the_pool.complete(REQUEST, Events())).endpoint == "m1"
    fakes[0].start()  # the user starts LM Studio; same port
    await asyncio.sleep(0.1)  # past the cool-down
    served = await asyncio.gather(*(the_pool.complete(REQUEST, Events()) for _ in range(4)))
    assert {c.endpoint for c in served} == {the_pool.members[0].name, "m1"}, "both serve again"


async def test_a_member_down_at_start_is_probed_in_the_background(
    http: httpx.AsyncClient, fakes: list[FakeLMStudio]
) -> None:
    fakes[0].stop()
    the_pool = pool(http, fakes[0].base_url, fakes[1].base_url, cooldown=0.05)
    await the_pool.probe()  # as at start: the baseUrl is known down, m1 up
    assert [m["up"] for m in the_pool.snapshot()] == [False, True]
    fakes[0].start()
    await asyncio.sleep(0.1)
    await the_pool.complete(REQUEST, Events())  # dispatching notices it is due a probe
    for _ in range(50):
        if the_pool.snapshot()[0]["up"]:
            break
        await asyncio.sleep(0.02)
    assert the_pool.snapshot()[0]["up"] is True
    assert the_pool.reachable is True


async def test_requests_for_a_model_go_only_to_members_that_serve_it(
    http: httpx.AsyncClient, fakes: list[FakeLMStudio]
) -> None:
    the_pool = pool(
        http,
        fakes[0].base_url,
        fakes[1].base_url,
        fakes[2].base_url,
        model="qwen2.5-coder-7b-instruct",
        m1={"model": "llama-3.2-3b-instruct"},  # this box serves another model
    )
    await asyncio.gather(*(the_pool.complete(REQUEST, Events()) for _ in range(4)))
    assert len(fakes[1].chat_requests()) == 0
    assert len(fakes[0].chat_requests()) + len(fakes[2].chat_requests()) == 4
    assert {r["model"] for f in (fakes[0], fakes[2]) for r in f.chat_requests()} == {
        "qwen2.5-coder-7b-instruct"
    }


async def test_the_faster_member_gets_the_next_request(
    http: httpx.AsyncClient, fakes: list[FakeLMStudio]
) -> None:
    long = "x = 1\n" * 40
    fakes[0].script.default = Reply(long, chunk_delay=0.01)  # slow box first in the settings
    fakes[1].script.default = Reply(long)
    the_pool = pool(http, fakes[0].base_url, fakes[1].base_url)
    await asyncio.gather(the_pool.complete(REQUEST, Events()), the_pool.complete(REQUEST, Events()))
    slow, fast = the_pool.snapshot()
    assert 0 < slow["tokensPerSecond"] < fast["tokensPerSecond"]
    before = len(fakes[0].chat_requests())
    for _ in range(3):  # one at a time: both are free each time
        assert (await the_pool.complete(REQUEST, Events())).endpoint == "m1"
    assert len(fakes[0].chat_requests()) == before


async def test_cancelling_frees_the_slot(
    http: httpx.AsyncClient, fakes: list[FakeLMStudio]
) -> None:
    fakes[0].script.push(Reply(fault=Fault.hang()))
    the_pool = pool(http, fakes[0].base_url)
    task = asyncio.ensure_future(the_pool.complete(REQUEST, Events()))
    await asyncio.sleep(0.2)
    assert the_pool.snapshot()[0]["busy"] == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert the_pool.snapshot()[0]["busy"] == 0
    assert (await the_pool.complete(REQUEST, Events())).text == ANSWER


async def test_the_status_shows_members_but_never_a_key(
    http: httpx.AsyncClient, fakes: list[FakeLMStudio]
) -> None:
    the_pool = pool(
        http,
        fakes[0].base_url,
        fakes[1].base_url,
        api_key="sk-primary-key-1",
        m1={"api_key": "sk-lan-key-22"},
    )
    await the_pool.complete(REQUEST, Events())
    shown = repr(the_pool.snapshot())
    assert "sk-primary" not in shown and "sk-lan" not in shown
    assert [m["name"] for m in the_pool.snapshot()] == [f"127.0.0.1:{fakes[0].port}", "m1"]


def searching(hosts: list[str], port: int, wsl: bool = True) -> Any:
    """The pool's search as under WSL, over the given hosts (the file parsing is wsl.py's)."""

    async def look() -> Discovery:
        async with httpx.AsyncClient() as client:
            found = await find_local_server(client, hosts, port=port)
        return Discovery(wsl, tuple(hosts), found)

    return look


async def test_nothing_at_the_default_url_finds_lm_studio_on_the_windows_host(
    http: httpx.AsyncClient, fakes: list[FakeLMStudio]
) -> None:
    windows = fakes[0]
    the_pool = LocalPool(
        LocalSettings(base_url="http://localhost:1234/v1", max_parallel=1),
        http,
        search=searching(["127.0.0.1"], windows.port),
    )
    assert the_pool.settings.base_url == DEFAULT_BASE_URL
    the_pool.members[0].backend.settings = attrs.evolve(
        the_pool.members[0].backend.settings, base_url=dead_url()
    )  # nothing answers "at localhost:1234" here, whatever runs on this machine
    await the_pool.probe()
    assert the_pool.reachable is True
    assert [m["name"] for m in the_pool.snapshot()] == ["localhost:1234", "Windows host"]
    assert the_pool.notice.startswith(f"Ladder: local model found at {windows.base_url}.")
    assert f'"ladder.local.baseUrl": "{windows.base_url}"' in the_pool.notice
    assert (await the_pool.complete(REQUEST, Events())).endpoint == "Windows host"
    await the_pool.probe()  # searched once only
    assert len(the_pool.members) == 2


async def test_when_the_windows_host_answers_nothing_the_notice_says_what_to_switch_on(
    http: httpx.AsyncClient,
) -> None:
    the_pool = LocalPool(
        LocalSettings(base_url=DEFAULT_BASE_URL), http, search=searching(["127.0.0.1"], 9)
    )
    the_pool.members[0].backend.settings = attrs.evolve(
        the_pool.members[0].backend.settings, base_url=dead_url()
    )
    await the_pool.probe()
    assert the_pool.reachable is False and len(the_pool.members) == 1
    assert "Serve on Local Network" in the_pool.notice and "mirrored" in the_pool.notice


async def test_a_chosen_url_is_not_second_guessed(http: httpx.AsyncClient) -> None:
    looked: list[bool] = []

    async def look() -> Discovery:
        looked.append(True)
        return Discovery(False, (), None)

    the_pool = LocalPool(LocalSettings(base_url=dead_url()), http, search=look)
    await the_pool.probe()
    assert looked == [] and the_pool.notice == ""


def model_lists(fake: FakeLMStudio) -> int:
    return len(fake.requests_to("/api/v0/models", "GET"))


async def test_a_likely_run_brings_the_model_choice_up_to_date_in_the_background(
    http: httpx.AsyncClient, fakes: list[FakeLMStudio]
) -> None:
    """Listing calls `refresh_model_choice`: a stale list is asked again beside the listing
    (once, however often it is called meanwhile), so the run that follows asks only its chat."""
    a, b, _ = fakes
    the_pool = pool(http, a.base_url, b.base_url)
    await the_pool.probe()
    a.reset_records()
    b.reset_records()
    the_pool.refresh_model_choice()  # just listed: nothing to ask
    await asyncio.sleep(0.05)
    assert (model_lists(a), model_lists(b)) == (0, 0)
    the_pool.refresh_model_choice(max_age=0)  # as if older than a run accepts
    the_pool.refresh_model_choice(max_age=0)  # a second cursor move while it is asked
    await asyncio.sleep(0)
    assert len(a.requests) == len(b.requests) == 0, "nothing waited for in the caller"
    for _ in range(100):
        if model_lists(a) and model_lists(b):
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)
    assert (model_lists(a), model_lists(b)) == (1, 1)
    await the_pool.complete(REQUEST, Events())
    assert (model_lists(a), model_lists(b)) == (1, 1), "the run found the list fresh"
    assert len(a.chat_requests()) + len(b.chat_requests()) == 1
