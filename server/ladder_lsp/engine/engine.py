"""One run of an action, start to finish, independent of LSP (the CLI uses it too).

route → prompt → stream from a backend (progress: tier · model · tokens · tok/s) → the verdict
on the answer (`verdict.py`: code out of the answer, the block rebuilt, checks, minimal line
edits). What to try after a failure — a local retry with the reason in the prompt, Claude
when escalation is allowed (`routing.escalateOnFailure`), the local model when Claude cannot
serve — is the routing policy's (`routing.py`); the Engine carries it out, so users get an
edit that passed the checks or no edit and one clear reason. Cancelling the awaiting task
cancels the HTTP stream. Backends come from a `BackendFactory` (tests pass in-process fakes).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from ladder_lsp.backends.base import (
    Backend,
    BackendError,
    ChatRequest,
    Completion,
    FailureKind,
    LocalServer,
    OnEvent,
    Tier,
)
from ladder_lsp.backends.factory import BackendFactory, Backends
from ladder_lsp.engine import ahead, prompts, routing
from ladder_lsp.engine.actions import instruction_problem
from ladder_lsp.engine.progress import ProgressMeter
from ladder_lsp.engine.run_types import Attempt, Report, RunInput, RunOutcome
from ladder_lsp.engine.verdict import (
    Verdict,
    failed_outcome,
    judge,
    unreadable_test_file,
    with_note,
)
from ladder_lsp.pipeline.testfile import plan_for
from ladder_lsp.privacy import local_only_reason
from ladder_lsp.settings import Settings
from ladder_lsp.store.pricing import cost

if TYPE_CHECKING:
    from ladder_lsp.store.ledger import Ledger

log = logging.getLogger(__name__)
OFF_LOOP_CHARS = 64 * 1024  # selections larger than this are scored and scanned in a thread


class Engine:
    """Holds the backends for the current settings; `run` is safe to call concurrently."""

    def __init__(
        self,
        settings: Settings,
        ledger: Ledger | None = None,
        *,
        backends: BackendFactory | None = None,
    ) -> None:
        self._backends = backends if backends is not None else Backends()
        self.ledger = ledger
        self.settings = settings
        self.local: LocalServer = self._backends.local(settings.local)
        self._claude: Backend | None = None
        self._embedded: Backend | None = None
        self._embedded_missing = False
        self.last_rate = 0.0

    def update(self, settings: Settings) -> None:
        """New settings: new backends (runs in flight keep the ones they started with)."""
        if settings.local != self.settings.local:
            self.local = self._backends.local(settings.local)
        if settings.local.embedded_model != self.settings.local.embedded_model:
            self._embedded, self._embedded_missing = None, False
        if settings.claude != self.settings.claude:
            self._claude = None
        self.settings = settings

    def embedded(self) -> Backend | None:
        """The in-process engine, when no server answers and a GGUF is available."""
        setting = self.settings.local.embedded_model
        if setting == "off":
            return None
        if self._embedded is None and not self._embedded_missing:
            self._embedded = self._backends.embedded(setting)
            # looked once; listing must not touch the disk
            self._embedded_missing = self._embedded is None
        return self._embedded

    def local_backend(self) -> Backend:
        """The local tier: the configured server, or the embedded engine when it is down."""
        if self.local.reachable is False:
            fallback = self.embedded()
            if fallback is not None:
                return fallback
        return self.local

    def claude(self) -> Backend | None:
        """The Claude backend when a key is configured; the SDK is imported on first use."""
        if self._claude is None and self.claude_key():
            self._claude = self._backends.claude(self.settings.claude, self.claude_key())
        return self._claude

    def claude_key(self) -> str:
        return self.settings.claude.api_key or os.environ.get("ANTHROPIC_API_KEY", "")

    def availability(self, path: str, code: str) -> routing.Availability:
        return self._availability(self._private_reason(path, code))

    def _private_reason(self, path: str, code: str) -> str:
        """Why this code must not leave the machine ('' when it may): a scan of all of it."""
        return local_only_reason(path, code, self.settings.privacy.local_only) or ""

    def _availability(self, private_reason: str) -> routing.Availability:
        reachable = self.local.reachable
        if reachable is False and self.embedded() is not None:
            reachable = True
        return routing.availability(
            reachable,
            self.local.problem,
            has_claude_key=bool(self.claude_key()),
            private_reason=private_reason,
        )

    async def aclose(self) -> None:
        await self._backends.aclose()

    # -- the run ---------------------------------------------------------------------------

    async def run(self, inp: RunInput, report: Report) -> RunOutcome:
        meter = ProgressMeter(report)
        code = inp.target.selected_text
        unusable = instruction_problem(inp.spec, inp.instruction)
        if unusable:
            return RunOutcome("failed", unusable[0].upper() + unusable[1:] + ".")
        if self.local.reachable is False:
            await self.local.probe()  # it may be back: a refused connection costs nothing
        context = await self._local_context()
        too_large = prompts.beyond_every_window(code, context)
        if too_large:
            return RunOutcome("failed", too_large)

        def read_selection() -> tuple[routing.Score, str]:
            """The two passes over the whole selection: its score and the secret scan."""
            the_score = routing.score(
                inp.spec, code, inp.language, inp.diagnostics, context, inp.instruction
            )
            return the_score, self._private_reason(inp.path, code)

        if len(code) > OFF_LOOP_CHARS:  # seconds on a big file: listing must keep answering
            the_score, private = await asyncio.to_thread(read_selection)
        else:
            the_score, private = read_selection()
        available = self._availability(private)
        decision = routing.decide(inp.spec, self.settings, available, the_score, explicit=inp.tier)
        if decision.tier is None:
            return RunOutcome("failed", decision.refusal)
        steps: list[str] = []
        if decision.why and decision.tier is Tier.CLAUDE:
            steps.append(f"sent to Claude: {decision.why}")  # logged, as titles say it
        unreadable = await unreadable_test_file(inp)
        if unreadable:
            return RunOutcome("failed", unreadable)
        queue = routing.plan(decision.tier, self.settings, available, explicit=inp.tier is not None)
        if queue == [Tier.LOCAL, Tier.LOCAL] and available.private_reason:
            log.info("escalation to Claude blocked: %s", available.private_reason)
        tried: list[Tier] = []
        attempts: list[Attempt] = []
        retry_reason = ""
        last = RunOutcome("failed", "no attempt was made")
        while queue:
            tier = queue.pop(0)
            if routing.is_escalation(tried, tier):
                steps.append(f"escalated to Claude: {retry_reason}")
                report(f"escalating to Claude: {retry_reason}")
            tried.append(tier)
            verdict = await self._attempt(inp, tier, retry_reason, meter, context, attempts)
            if verdict.outcome is not None:
                return attrs.evolve(
                    verdict.outcome,
                    steps=(*steps, verdict.outcome.message),
                    attempts=tuple(attempts),
                )
            steps.append(f"{tier.label}: {verdict.failure}")
            retry_reason = verdict.failure
            previous = last if tried[:-1] else None
            last = failed_outcome(tier, verdict)
            if previous is not None and tier is Tier.CLAUDE and verdict.kind in routing.CLAUDE_DOWN:
                # the user needs both halves: why local failed, and why Claude could not help
                last = attrs.evolve(
                    previous,
                    message=f"{previous.message.rstrip('.')}; Claude was not used: "
                    f"{verdict.failure.rstrip('.')}.",
                )
            queue = routing.after_failure(
                queue,
                tier,
                verdict.kind,
                tried,
                auto=routing.is_auto(self.settings, inp.tier),
                claude_allowed=routing.claude_allowed(self.settings, available),
                local_ok=available.local_ok,
                local_fallback=self.local_backend() is not self.local,
            )
        if last.status in ("rejected", "no-change") and self._demo_served():
            from ladder_lsp.backends.embedded import DEMO_NOTE

            last = attrs.evolve(last, message=f"{last.message} {DEMO_NOTE}")
        return attrs.evolve(last, steps=tuple(steps), attempts=tuple(attempts))

    def _demo_served(self) -> bool:
        """The bundled demonstration model served the local tier (first contact, no server)."""
        served = self._embedded is not None and self.local_backend() is self._embedded
        return served and bool(getattr(self._embedded, "demo", False))

    async def _model_name(self, backend: Backend) -> str:
        """The model a backend will use, for progress (contract: tier · model · tok/s)."""
        if backend is self.local:
            try:
                return await self.local.resolve_model()
            except BackendError:
                return "?"
        return (await backend.list_models())[0].id

    async def _local_context(self) -> int:
        """The local model's context window as its server reports it (else the setting)."""
        backend = self.local_backend()
        if backend is not self.local:
            models = await backend.list_models()
            return models[0].max_context_length or self.local.settings.context_length
        try:
            model = await self.local.resolve_model()
        except BackendError:
            return self.local.settings.context_length
        return await self.local.context_length(model)

    async def reserve_budget(self, request: ChatRequest, key: str, *, explicit: bool) -> str:
        """Why this Claude call would break `budget.dailyUsd` (estimated before sending), or
        "" with the estimate held in the ledger under `key` while the call runs (so calls
        running side by side count each other)."""
        daily = self.settings.budget.daily_usd
        if self.ledger is None or not routing.budget_applies(daily, explicit=explicit):
            return ""
        estimate = cost(self.settings.claude.model, routing.estimated_usage(request))
        try:
            return await asyncio.to_thread(
                self.ledger.reserve,
                key,
                estimate,
                lambda spent: routing.over_budget(spent, estimate, daily),
            )
        except sqlite3.Error as exc:
            return f"the usage ledger cannot be read ({exc}), so the Claude budget is unknown"

    async def complete(
        self, backend: Backend, request: ChatRequest, on_event: OnEvent, spend_key: str
    ) -> Completion:
        """The call; a Claude call's cost stays held under `spend_key` until its run is
        recorded (released when the call fails or is cancelled: nothing to charge)."""
        try:
            completion = await backend.complete(request, on_event)
        except BaseException:
            if spend_key and self.ledger is not None:
                self.ledger.release(spend_key)
            raise
        if spend_key and self.ledger is not None:
            self.ledger.hold(spend_key, cost(completion.model, completion.usage))
        return completion

    async def _attempt(
        self,
        inp: RunInput,
        tier: Tier,
        retry_reason: str,
        meter: ProgressMeter,
        context: int,
        attempts: list[Attempt],
    ) -> Verdict:
        """One model call and the verdict on its answer (or why no call was made)."""
        backend = self.local_backend() if tier is Tier.LOCAL else self.claude()
        if backend is None:
            return Verdict(None, "Claude is not configured", FailureKind.NOT_CONFIGURED)
        plan = plan_for(Path(inp.path), inp.language) if inp.spec.id == "tests" else None
        prompt_input = prompts.PromptInput(
            spec=inp.spec,
            language=inp.language,
            path=inp.path,
            lines=inp.target.lines,
            start_line=inp.target.start_line,
            end_line=inp.target.end_line,
            code=inp.target.selected_text,
            diagnostics=inp.diagnostics,
            retry_reason=retry_reason,
            test_module=plan.import_hint if plan else "",
            instruction=inp.instruction,
        )
        window = context if tier is Tier.LOCAL else prompts.CLAUDE_CONTEXT_TOKENS
        try:
            request = prompts.build(prompt_input, window)
        except prompts.PromptTooLarge as exc:
            return Verdict(None, str(exc), FailureKind.TOO_LARGE)
        spend_key = uuid.uuid4().hex if tier is Tier.CLAUDE else ""
        if spend_key:
            over = await self.reserve_budget(request, spend_key, explicit=inp.tier is Tier.CLAUDE)
            if over:
                return Verdict(None, over, FailureKind.BUDGET)
        model = await self._model_name(backend)
        label = f"{tier.label} · {model}"
        meter.start(label if not retry_reason else f"{label} (retry)")
        work = ahead.for_run(inp)  # the original is read while the model answers
        on_event = work.around(meter) if work else meter

        async def judged(answer: Completion) -> Verdict:
            if work is not None:
                await work.settle()  # the checks read what it read
            read = work is not None and work.read
            return await judge(inp, tier, answer, self.settings.checks, read_ahead=read)

        early = ahead.EarlyVerdict(judged, model, active=inp.spec.edits_code)
        try:
            try:
                completion = await self.complete(
                    backend, request, early.around(on_event), spend_key
                )
            except BackendError as exc:
                log.warning("%s failed: %s %s", tier.value, exc.message, exc.detail)
                return Verdict(None, exc.message, exc.kind)
            attempts.append(
                Attempt(tier, completion.model, completion.usage, completion.endpoint, spend_key)
            )
            self.last_rate = meter.rate or self.last_rate
            verdict = await early.take(completion) or await judged(completion)
        finally:
            early.cancel()  # unless taken: judged too early (more came) or not needed
        if verdict.outcome is not None:
            return attrs.evolve(verdict, outcome=with_note(verdict.outcome, request.trimmed))
        return attrs.evolve(verdict, model=completion.model, note=request.trimmed)
