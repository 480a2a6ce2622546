"""`ladder-lsp doctor [--json]`: what can serve, measured now.

Every member of the local pool (`settings.pool_settings`) is asked at once for its models, the
one it would use and that model's context window, and runs a short probe chat (a few tokens,
bounded) to measure its tokens/s. When `local.baseUrl` is the default and nothing answers
there, `backends/wsl.py` looks for LM Studio on the Windows host (under WSL) and the report
gives the exact setting to use, or the one thing to switch on. Then the embedded engine and
Claude, as before. `--json` prints the same for scripts. No API key ever reaches the output:
everything printed passes through `delivery.redact` with every key the settings know.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import attrs
import httpx

from ladder_lsp.backends import wsl
from ladder_lsp.backends.base import BackendError, ChatRequest, LocalServer, ModelInfo, StreamEvent
from ladder_lsp.backends.factory import Backends
from ladder_lsp.engine.delivery import redact
from ladder_lsp.engine.engine import Engine
from ladder_lsp.privacy import known_secrets
from ladder_lsp.settings import Settings, pool_settings
from ladder_lsp.settings_lists import endpoint_name

PROBE_CHAT = ChatRequest(
    system="You are a terse assistant.",
    user="Count from 1 to 20, separated by spaces.",
    max_tokens=16,
    temperature=0.0,
)
PROBE_CHAT_SECONDS = 10.0  # a model LM Studio must load first may take longer: not measured


@attrs.frozen
class MemberReport:
    """One local server as the doctor found it. `up`: it answered and has a model to serve."""

    name: str
    base_url: str
    slots: int
    reachable: bool = False
    up: bool = False
    models: tuple[ModelInfo, ...] = ()
    model: str = ""
    context_length: int | None = None
    tokens_per_second: float | None = None
    speed_note: str = ""  # why tokens/s was not measured
    problem: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "baseUrl": self.base_url,
            "up": self.up,
            "slots": self.slots,
            "model": self.model or None,
            "contextLength": self.context_length,
            "tokensPerSecond": self.tokens_per_second,
            "problem": self.problem or self.speed_note or None,
        }


@attrs.frozen
class Report:
    members: tuple[MemberReport, ...]
    discovery: wsl.Discovery | None
    embedded: str | None  # the in-process model, when no member is up and one is found
    claude_model: str
    claude_key: bool
    daily_budget_usd: float

    @property
    def local_ok(self) -> bool:
        return any(m.up for m in self.members) or self.embedded is not None

    @property
    def ready(self) -> bool:
        return self.local_ok or self.claude_key


async def check_member(
    name: str, server: LocalServer, probe_seconds: float = PROBE_CHAT_SECONDS
) -> MemberReport:
    """Models, the one in use, its context window and a measured tokens/s."""
    report = MemberReport(name, server.settings.base_url, server.settings.max_parallel)
    try:
        models = await server.list_models(fresh=True)
        report = attrs.evolve(report, reachable=True, models=tuple(models))
        model = await server.resolve_model()
        report = attrs.evolve(
            report, model=model, context_length=await server.context_length(model)
        )
        rate, note = await measure_speed(server, probe_seconds)
    except BackendError as exc:
        return attrs.evolve(report, reachable=server.reachable is not False, problem=exc.message)
    return attrs.evolve(report, up=True, tokens_per_second=rate, speed_note=note)


async def measure_speed(
    server: LocalServer, seconds: float = PROBE_CHAT_SECONDS
) -> tuple[float | None, str]:
    """Tokens/s of a short probe chat: generation speed from the first token on (so a slow
    first token — prompt processing, loading — does not count) when the answer streamed,
    else the whole request's rate."""
    seen: list[float] = []  # when each piece of text arrived

    def on_event(event: StreamEvent) -> None:
        if event.text:
            seen.append(time.monotonic())

    started = time.monotonic()
    try:
        completion = await asyncio.wait_for(server.complete(PROBE_CHAT, on_event), seconds)
    except asyncio.TimeoutError:
        return None, f"the probe answer took longer than {seconds:g} s"
    ended = time.monotonic()
    tokens = completion.usage.output_tokens
    if tokens >= 2 and len(seen) >= 2 and ended > seen[0]:
        return round((tokens - 1) / (ended - seen[0]), 1), ""
    if tokens and ended > started:
        return round(tokens / (ended - started), 1), ""
    return None, "the probe answer had no tokens to time"


async def collect(settings: Settings, files: wsl.HostFiles = wsl.REAL_FILES) -> Report:
    """Ask every member in parallel, then look elsewhere if the default URL is silent
    (`files`: where WSL's facts are read; tests fake them)."""
    engine = Engine(settings)
    backends = Backends()
    try:
        pool = pool_settings(settings.local)
        members = await asyncio.gather(
            *(check_member(name, backends.local(member)) for name, member in pool)
        )
        discovery = None
        if wsl.applies(settings.local.base_url) and not members[0].reachable:
            async with httpx.AsyncClient() as client:
                discovery = await wsl.discover(client, files)
        embedded = None
        if not any(m.up for m in members):
            fallback = engine.embedded()
            if fallback is not None:
                (info,) = await fallback.list_models()
                embedded = info.id
        return Report(
            tuple(members),
            discovery,
            embedded,
            settings.claude.model,
            bool(engine.claude_key()),
            settings.budget.daily_usd,
        )
    finally:
        await backends.aclose()
        await engine.aclose()


def render_text(report: Report) -> str:
    lines: list[str] = []
    for m in report.members:
        lines.extend(_member_lines(m))
    lines.extend(_discovery_lines(report.discovery))
    up = sum(m.up for m in report.members)
    if up:
        servers = "the server above" if up == 1 else f"the {up} servers above"
        lines.append(f"Local engine: {servers}")
    elif report.embedded is not None:
        lines.append(
            f"Local engine: embedded llama.cpp with {report.embedded} (in-process fallback)"
        )
    lines.append(f"Claude: model {report.claude_model}")
    lines.append(f"  key: {'present' if report.claude_key else 'missing (set ANTHROPIC_API_KEY)'}")
    lines.append(f"  budget: ${report.daily_budget_usd:.2f}/day")
    lines.append(
        "Ready."
        if report.ready
        else "No tier can serve: start LM Studio's server or set a Claude key."
    )
    return "\n".join(lines) + "\n"


def _discovery_lines(d: wsl.Discovery | None) -> list[str]:
    """Outside WSL there is no other host to try, and the member's problem says it all."""
    if d is None or not d.wsl:
        return []
    tried = ", ".join(d.hosts) or "no address found"
    lines = [f"LM Studio on the Windows host (WSL): tried {tried}"]
    if d.found is not None:
        models = [m.id for m in d.found.models if m.state == "loaded"] or [
            m.id for m in d.found.models
        ]
        serving = f" ({models[0]})" if models else ""
        lines.append(f"  found: {d.found.base_url}{serving}")
        lines.append(f"  use: {wsl.setting_line(d.found)}")
    else:
        lines.append(f"  advice: {d.advice}")
    return lines


def _member_lines(m: MemberReport) -> list[str]:
    named = "" if m.name == endpoint_name(m.base_url) else f" {m.name!r}"
    lines = [f"Local server{named}: {m.base_url} ({m.slots} slot{'s' * (m.slots != 1)})"]
    lines.append(f"  reachable: {'yes' if m.reachable else 'no'}")
    for info in m.models:
        extra = ", ".join(
            x
            for x in (
                info.state,
                info.type,
                f"ctx {info.max_context_length}" if info.max_context_length else "",
            )
            if x
        )
        lines.append(f"  model: {info.id}" + (f" ({extra})" if extra else ""))
    if m.model:
        lines.append(
            f"  using: {m.model}"
            + (f" (context {m.context_length} tokens)" if m.context_length else "")
        )
    if m.up:
        speed = (
            f"{m.tokens_per_second} tokens/s" if m.tokens_per_second is not None else "not measured"
        )
        lines.append(f"  speed: {speed}" + (f" ({m.speed_note})" if m.speed_note else ""))
    if m.problem:
        lines.append(f"  problem: {m.problem}")
    return lines


def render_json(report: Report) -> str:
    d = report.discovery
    discovery = None
    if d is not None:
        discovery = {
            "wsl": d.wsl,
            "hosts": list(d.hosts),
            "found": d.found.base_url if d.found else None,
            "setting": wsl.setting_line(d.found) if d.found else None,
            "advice": d.advice,
        }
    return json.dumps(
        {
            "members": [m.to_json() for m in report.members],
            "discovery": discovery,
            "embedded": report.embedded,
            "claude": {
                "model": report.claude_model,
                "key": report.claude_key,
                "dailyBudgetUsd": report.daily_budget_usd,
            },
            "ready": report.ready,
        },
        indent=2,
    )


async def doctor(settings: Settings, *, as_json: bool = False) -> int:
    """Print the report; exit 0 when at least one tier can serve."""
    report = await collect(settings)
    text = render_json(report) + "\n" if as_json else render_text(report)
    print(redact(text, known_secrets(settings)), end="")
    return 0 if report.ready else 1
