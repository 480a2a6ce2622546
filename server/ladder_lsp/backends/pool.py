"""The local tier as a pool: `local.baseUrl` and `local.endpoints`, used side by side.

Every member is an OpenAI-compatible server (`OpenAICompatBackend`) with its own slots
(`maxParallel`). A request goes to a member with a free slot and the earliest expected finish
(its measured tokens/s, learned from its own answers; ties go to the least busy, then to the
order of the settings); when every slot is busy it waits for the first one to free. A member
that fails (refused connection, 5xx, a stall, a cut stream) is set aside by its own circuit
breaker and the request is re-sent, from scratch, to another member: a fault of one local
server costs time, not a Claude request. Only when no member can answer does the failure
reach the engine (which may then escalate). Health is live: a member set aside is tried again
after a short cool-down, and one that was down is probed in the background now and then, so
a server started later is used without restarting the editor.

When nothing answers at the default `local.baseUrl`, the pool looks once for LM Studio where it
usually is instead (under WSL: the Windows host, `wsl.py`) and, when found, serves from there;
`notice` tells the user where it was found, or the one thing to switch on.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import attrs

from ladder_lsp.backends.base import (
    BackendError,
    ChatRequest,
    Completion,
    FailureKind,
    ModelInfo,
    OnEvent,
    StreamEvent,
    Tier,
)
from ladder_lsp.backends.breaker import CLOSED, BreakerOpen, CircuitBreaker
from ladder_lsp.backends.discovery import MODEL_CHOICE_TTL_SECONDS, SharedClient
from ladder_lsp.backends.openai_compat import OpenAICompatBackend
from ladder_lsp.backends.wsl import Discovery, applies, discover
from ladder_lsp.settings import LocalSettings, pool_settings
from ladder_lsp.settings_lists import endpoint_name, same_url

if TYPE_CHECKING:
    import httpx
else:
    from ladder_lsp.backends.lazy_http import httpx

log = logging.getLogger(__name__)

MEMBER_COOLDOWN = 5.0  # seconds a failed member is set aside before it is tried again
RATE_WEIGHT = 0.3  # how much one answer moves a member's measured tokens/s
# A member that failed this way is set aside; other failures (a wrong key, no model loaded
# there) only make this request try another member.
OUTAGES = frozenset(
    {
        FailureKind.UNREACHABLE,
        FailureKind.OVERLOADED,
        FailureKind.TIMEOUT,
        FailureKind.STREAM_CUT,
        FailureKind.HTTP,
        FailureKind.BAD_RESPONSE,
    }
)


@attrs.define(eq=False)
class Member:
    """One server of the pool and what the pool learned about it."""

    name: str
    backend: OpenAICompatBackend
    breaker: CircuitBreaker
    busy: int = 0
    served: int = 0
    failed: int = 0
    rate: float = 0.0  # tokens/s of its answers (0: not measured yet)
    last_probe: float = 0.0

    @property
    def slots(self) -> int:
        return self.backend.settings.max_parallel

    @property
    def known_down(self) -> bool:
        return self.breaker.state != CLOSED or self.backend.reachable is False

    def learn(self, completion: Completion, seconds: float) -> None:
        self.served += 1
        tokens = completion.usage.output_tokens
        if tokens > 1 and seconds > 0:
            rate = tokens / seconds
            self.rate = rate if not self.rate else self.rate + RATE_WEIGHT * (rate - self.rate)

    def snapshot(self) -> dict[str, Any]:
        """What `ladder/status` and `doctor --json` show (never the key)."""
        return {
            "name": self.name,
            "baseUrl": self.backend.settings.base_url,
            "up": not self.known_down and self.backend.reachable is not None,
            "busy": self.busy,
            "slots": self.slots,
            "model": self.backend.settings.model or self.backend.last_model,
            "tokensPerSecond": round(self.rate, 1),
            "served": self.served,
            "failed": self.failed,
            "problem": self.backend.problem,
        }


class LocalPool:
    """The local tier (`LocalServer`): one or more servers, one dispatcher."""

    tier = Tier.LOCAL

    def __init__(
        self,
        settings: LocalSettings,
        client: httpx.AsyncClient | SharedClient,
        *,
        cooldown: float = MEMBER_COOLDOWN,
        clock: Callable[[], float] = time.monotonic,
        search: Callable[[], Awaitable[Discovery]] | None = None,
    ) -> None:
        self.settings = settings
        self._client = client
        # where to look when the default URL answers nothing (tests give their own hosts)
        self._look = search or (lambda: discover(client))
        self._searched = False
        self.notice = ""  # where the local model was found, or what to switch on; once
        self._clock = clock
        self._cooldown = cooldown
        self.members = [
            Member(name, OpenAICompatBackend(member, client), self._breaker(name, cooldown))
            for name, member in pool_settings(settings)
        ]
        self._freed = asyncio.Event()  # set (and replaced) whenever a slot frees
        self._probes: set[asyncio.Task[None]] = set()
        self._refreshing: dict[str, asyncio.Task[None]] = {}

    def _breaker(self, name: str, cooldown: float) -> CircuitBreaker:
        return CircuitBreaker(f"local:{name}", threshold=1, cooldown=cooldown, clock=self._clock)

    # -- what the engine and the status ask --------------------------------------------------

    @property
    def primary(self) -> OpenAICompatBackend:
        return self.members[0].backend

    @property
    def reachable(self) -> bool | None:
        """True when any member answers; False when every member was tried and none did."""
        states = [m.backend.reachable for m in self.members]
        if any(state is True for state in states):
            return True
        return False if all(state is False for state in states) else None

    @property
    def problem(self) -> str:
        if self.reachable is not False:
            return ""
        if len(self.members) == 1:
            return self.primary.problem
        names = ", ".join(m.name for m in self.members)
        return f"no local model server of the pool answers ({names})"

    @property
    def slots(self) -> int:
        """How many answers the pool can stream at once (the fan-out's parallelism)."""
        return sum(m.slots for m in self.members)

    @property
    def last_model(self) -> str:
        return self._preferred().backend.last_model

    def snapshot(self) -> list[dict[str, Any]]:
        return [m.snapshot() for m in self.members]

    def _preferred(self) -> Member:
        """The member that speaks for the pool: the first one that is not known to be down."""
        return next((m for m in self.members if not m.known_down), self.members[0])

    async def list_models(self, *, fresh: bool = False) -> list[ModelInfo]:
        """The models of the first member that answers (status, model switching)."""
        error: BackendError | None = None
        for member in sorted(self.members, key=lambda m: m.known_down):
            try:
                models = await member.backend.list_models(fresh=fresh)
            except BackendError as exc:
                error = error or exc
                continue
            member.breaker.success()
            return models
        assert error is not None
        raise error

    async def probe(self) -> None:
        """Ask every idle member again whether it answers (in parallel). Busy ones are left
        alone: llama.cpp's Python server stops a generation when another request arrives."""
        await asyncio.gather(*(self._probe(m) for m in self.members if not m.busy))
        if self.primary.reachable is False and not self._searched:
            await self._search()

    async def _search(self) -> None:
        """Once: LM Studio where it usually is when the default URL answers nothing."""
        self._searched = True
        if not applies(self.settings.base_url):
            return
        found = await self._look()
        if found.found is None:
            self.notice = f"Ladder: no local model server at {self.settings.base_url}. " + (
                found.advice if found.wsl else "Is LM Studio's server running?"
            )
            return
        url = found.found.base_url
        if any(same_url(m.backend.settings.base_url, url) for m in self.members):
            return
        member = attrs.evolve(self.settings, base_url=url, endpoints=())
        name = "Windows host" if found.wsl else endpoint_name(url)
        backend = OpenAICompatBackend(member, self._client)
        await backend.probe()
        self.members.append(Member(name, backend, self._breaker(name, self._cooldown)))
        self.notice = f"Ladder: local model found at {url}. {found.advice}"
        log.info("local model server found at %s", url)

    def refresh_model_choice(self, max_age: float = MODEL_CHOICE_TTL_SECONDS) -> None:
        """A run is likely (the user is looking at the actions): each idle, answering member
        whose model list a run would ask again (older than `max_age`) asks it now, in the
        background, so the run finds it fresh instead of waiting a round trip for it. Busy
        members are left alone (llama.cpp's Python server stops a generation for a request)."""
        for member in self.members:
            backend = member.backend
            if backend.settings.model or member.busy or backend.reachable is not True:
                continue  # a pinned model needs no list; a down member has its own probes
            running = self._refreshing.get(member.name)
            if (running is not None and not running.done()) or backend.models_age() < max_age:
                continue
            self._refreshing[member.name] = asyncio.ensure_future(self._refresh(member))

    async def _refresh(self, member: Member) -> None:
        try:
            await member.backend.list_models(max_age=0)
        except BackendError as exc:  # kept in `reachable`/`problem`; the run will say it
            log.info("local model list from %s: %s", member.name, exc.message)

    async def _probe(self, member: Member) -> None:
        member.last_probe = self._clock()
        await member.backend.probe()
        if member.backend.reachable:
            member.breaker.success()

    async def resolve_model(self) -> str:
        return await self._preferred().backend.resolve_model()

    async def context_length(self, model: str) -> int:
        """The smallest window among the members that may serve: the prompt must fit the
        one that gets it."""
        windows = []
        for member in self.members:
            if member.known_down and member is not self._preferred():
                continue
            try:
                own = await member.backend.resolve_model()
            except BackendError:
                continue
            windows.append(await member.backend.context_length(own))
        return min(windows, default=self.settings.context_length)

    def known_context_length(self) -> int:
        windows = [
            m.backend.known_context_length()
            for m in self.members
            if not m.known_down or m is self._preferred()
        ]
        return min(windows, default=self.settings.context_length)

    # -- one answer ------------------------------------------------------------------------

    async def complete(self, request: ChatRequest, on_event: OnEvent) -> Completion:
        tried: set[Member] = set()
        error: BackendError | None = None
        while True:
            member = await self._acquire(tried, on_event)
            if member is None:
                assert error is not None
                raise error
            tried.add(member)
            if len(self.members) > 1:
                on_event(StreamEvent(status=f"on {member.name}"))
            started = self._clock()
            try:
                completion = await member.backend.complete(request, on_event)
            except BackendError as exc:
                self._failed(member, exc)
                if exc.kind is FailureKind.TOO_LARGE or not self._others_left(tried):
                    raise
                error = exc
                on_event(
                    StreamEvent(
                        status=f"{member.name} failed ({exc.message}); re-sent to another "
                        "local server",
                        restart=True,
                    )
                )
                continue
            except BaseException:
                member.breaker.neutral()
                raise
            finally:
                self._release(member)
            member.breaker.success()
            seconds = self._clock() - started
            member.learn(completion, seconds)
            log.debug(  # the run's own line (`lsp.run`) is written once the edit is sent
                "local answer from %s in %.2f s (%.0f tok/s)", member.name, seconds, member.rate
            )
            return attrs.evolve(completion, endpoint=member.name)

    def _failed(self, member: Member, exc: BackendError) -> None:
        member.failed += 1
        log.warning("local server %s failed: %s %s", member.name, exc.message, exc.detail)
        if exc.kind in OUTAGES:
            member.breaker.failure()
        else:
            member.breaker.neutral()

    def _others_left(self, tried: set[Member]) -> bool:
        return any(m not in tried for m in self._eligible())

    def _eligible(self) -> list[Member]:
        """The members that serve the wanted model: with `local.model` set, those asked with
        it whose model list (when known) has it; without, all of them."""
        wanted = self.settings.model
        if not wanted:
            return self.members
        serving = [m for m in self.members if m.backend.settings.model == wanted]
        listed = [m for m in serving if _may_serve(m.backend, wanted)]
        return listed or serving or self.members

    async def _acquire(self, tried: set[Member], on_event: OnEvent) -> Member | None:
        """A member with a free slot (its slot taken), waiting while all are busy; None when
        no member not yet tried can serve."""
        told = False
        while True:
            candidates = [m for m in self._eligible() if m not in tried]
            if not candidates:
                return None
            self._probe_down(candidates)
            usable = [m for m in candidates if self._usable(m)]
            if not usable:  # every one is set aside: the pool is down, try anyway
                usable = [m for m in candidates if m.breaker.retry_in() == 0]
                if not usable:
                    return None
            free = [m for m in usable if m.busy < m.slots]
            for member in sorted(free, key=self._expected_finish):
                try:
                    member.breaker.before_call()
                except BreakerOpen:
                    continue
                member.busy += 1
                return member
            if not told:
                on_event(StreamEvent(status="queued (all local slots busy)"))
                told = True
            await self._freed.wait()

    def _release(self, member: Member) -> None:
        member.busy -= 1
        freed, self._freed = self._freed, asyncio.Event()
        freed.set()

    def _usable(self, member: Member) -> bool:
        """Up, or set aside long enough to be tried again (the breaker's probe)."""
        if member.breaker.state != CLOSED:
            return member.breaker.retry_in() == 0
        return member.backend.reachable is not False

    def _expected_finish(self, member: Member) -> tuple[float, float, int]:
        """Sort key: the time an answer takes there (unmeasured members count as the average
        of the measured ones), then how full it is, then its place in the settings."""
        rates = [m.rate for m in self.members if m.rate]
        rate = member.rate or (sum(rates) / len(rates) if rates else 1.0)
        return (1.0 / rate, member.busy / member.slots, self.members.index(member))

    def _probe_down(self, candidates: list[Member]) -> None:
        """Members known to be down are asked again in the background, once per cool-down."""
        now = self._clock()
        for member in candidates:
            if member.backend.reachable is False and now - member.last_probe >= self._cooldown:
                member.last_probe = now
                task = asyncio.ensure_future(self._probe(member))
                self._probes.add(task)
                task.add_done_callback(self._probes.discard)

    async def aclose(self) -> None:
        for task in [*self._probes, *self._refreshing.values()]:
            task.cancel()


def _may_serve(backend: OpenAICompatBackend, model: str) -> bool:
    listed = backend.cached_models()
    return listed is None or any(m.id == model for m in listed)
