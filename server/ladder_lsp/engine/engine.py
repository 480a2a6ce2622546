"""One run of an action, start to finish, independent of LSP (the CLI uses it too).

route → prompt → stream from a backend (progress: tier · model · tokens · tok/s) → take the
code out of the answer → rebuild the block → checks → minimal line edits. A failed check is
retried once on the local model with the reason in the prompt, then escalated to Claude when
that is allowed (`routing.escalateOnFailure`), so users get an edit that passed the checks or
no edit and one clear reason. Cancelling the awaiting task cancels the HTTP stream.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import attrs

from ladder_lsp.backends.base import (
    Backend,
    BackendError,
    ChatRequest,
    Completion,
    FailureKind,
    StreamEvent,
    Tier,
    Usage,
)
from ladder_lsp.backends.openai_compat import OpenAICompatBackend, SharedClient
from ladder_lsp.engine import prompts
from ladder_lsp.engine import routing as router
from ladder_lsp.engine.actions import ActionSpec
from ladder_lsp.pipeline.answer import extract_code
from ladder_lsp.pipeline.checks.context import CheckContext
from ladder_lsp.pipeline.checks.runner import run_checks
from ladder_lsp.pipeline.checks.tests import run_pytest
from ladder_lsp.pipeline.edits import LineEdit, minimal_edits
from ladder_lsp.pipeline.reasoning import strip_reasoning
from ladder_lsp.pipeline.reindent import build_block
from ladder_lsp.pipeline.target import Target
from ladder_lsp.pipeline.testfile import merge_generated, plan_for
from ladder_lsp.privacy import local_only_reason
from ladder_lsp.settings import Settings

if TYPE_CHECKING:
    from ladder_lsp.store.ledger import Ledger

log = logging.getLogger(__name__)

Status = Literal["edit", "no-change", "rejected", "failed", "cancelled", "explained"]
Report = Callable[[str], None]
OFFLOAD_CHARS = 100_000  # checks on documents bigger than this run in a worker thread
UNCHANGED = "the model returned the code unchanged"
LOCAL_DOWN = frozenset({FailureKind.UNREACHABLE, FailureKind.NO_MODEL, FailureKind.TOO_LARGE})
CLAUDE_DOWN = frozenset(
    {
        FailureKind.AUTH,
        FailureKind.RATE_LIMITED,
        FailureKind.OVERLOADED,
        FailureKind.NOT_CONFIGURED,
        FailureKind.UNREACHABLE,
        FailureKind.BUDGET,
    }
)


@attrs.frozen
class NewFileEdit:
    """Text for the one test file the `tests` action may touch (path chosen by Ladder)."""

    path: Path
    exists: bool
    insert_text: str
    insert_line: int  # the line to insert at (end of an existing file)


@attrs.frozen
class RunInput:
    spec: ActionSpec
    target: Target
    language: str
    path: str  # filesystem path (or the URI for unsaved documents)
    diagnostics: tuple[str, ...] = ()
    tier: Tier | None = None  # an explicit choice ("… with Claude")
    read_file: Callable[[Path], str | None] = lambda _p: None


@attrs.frozen
class Attempt:
    """One model call of a run, for the ledger (cost, savings)."""

    tier: Tier
    model: str
    usage: Usage


@attrs.frozen
class RunOutcome:
    status: Status
    message: str  # one line for the user
    tier: Tier | None = None
    model: str = ""
    edits: tuple[LineEdit, ...] = ()
    new_file: NewFileEdit | None = None
    markdown: str = ""
    steps: tuple[str, ...] = ()  # what happened, for the log and the ledger
    attempts: tuple[Attempt, ...] = ()


@attrs.frozen
class _Answer:
    """What one attempt produced: an outcome, or a reason to try the next step."""

    outcome: RunOutcome | None
    failure: str = ""
    kind: FailureKind | None = None
    model: str = ""  # the model that answered: a rejected answer has one too
    note: str = ""  # for the user whatever became of the answer (`BuiltRequest.trimmed`)


class ProgressMeter:
    """Stream events → throttled progress lines: `local model · 42 tok · 31 tok/s`."""

    def __init__(self, report: Report, min_interval: float = 0.1) -> None:
        self._report = report
        self._min = min_interval
        self.label = ""
        self.tokens = 0
        self._first: float | None = None
        self._last_sent = 0.0
        self.rate = 0.0

    def start(self, label: str) -> None:
        self.label, self.tokens, self._first, self.rate = label, 0, None, 0.0
        self._report(label)

    def __call__(self, event: StreamEvent) -> None:
        now = time.monotonic()
        if event.status:
            self._report(f"{self.label} · {event.status}")
            return
        if not event.text:
            return
        self.tokens += 1
        if self._first is None:
            self._first = now
        elapsed = now - self._first
        if elapsed > 0:
            self.rate = (self.tokens - 1) / elapsed
        if self.tokens == 1 or now - self._last_sent >= self._min:
            self._last_sent = now
            rate = f" · {self.rate:.0f} tok/s" if self.rate else ""
            self._report(f"{self.label} · {self.tokens} tok{rate}")


class Engine:
    """Holds the backends for the current settings; `run` is safe to call concurrently."""

    def __init__(self, settings: Settings, ledger: Ledger | None = None) -> None:
        self._http = SharedClient()
        self.ledger = ledger
        self.settings = settings
        self.local = OpenAICompatBackend(settings.local, self._http)
        self._claude: Backend | None = None
        self._embedded: Backend | None = None
        self._embedded_missing = False
        self.last_rate = 0.0

    def update(self, settings: Settings) -> None:
        """New settings: new backends (runs in flight keep the ones they started with)."""
        if settings.local != self.settings.local:
            self.local = OpenAICompatBackend(settings.local, self._http)
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
            from ladder_lsp.backends import embedded

            path = embedded.find_model(setting) if embedded.available(setting) else None
            if path is None:
                self._embedded_missing = True  # looked once; listing must not touch the disk
                return None
            self._embedded = embedded.EmbeddedBackend(path)
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
            from ladder_lsp.backends.anthropic import ClaudeBackend

            self._claude = ClaudeBackend(self.settings.claude, self.claude_key())
        return self._claude

    def claude_key(self) -> str:
        return self.settings.claude.api_key or os.environ.get("ANTHROPIC_API_KEY", "")

    def availability(self, path: str, code: str) -> router.Availability:
        reachable = self.local.reachable
        if reachable is False and self.embedded() is not None:
            reachable = True
        has_key = bool(self.claude_key())
        return router.Availability(
            local_ok=reachable is not False,
            local_problem="" if reachable is not False else self.local.problem,
            claude_ok=has_key,
            claude_problem="" if has_key else "no Claude API key",
            private_reason=local_only_reason(path, code, self.settings.privacy.local_only) or "",
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- the run ---------------------------------------------------------------------------

    async def run(self, inp: RunInput, report: Report) -> RunOutcome:
        meter = ProgressMeter(report)
        code = inp.target.selected_text
        if self.local.reachable is False:
            await self.local.probe()  # it may be back: a refused connection costs nothing
        context = await self._local_context()
        the_score = router.score(inp.spec, code, inp.language, inp.diagnostics, context)
        available = self.availability(inp.path, code)
        decision = router.decide(inp.spec, self.settings, available, the_score, explicit=inp.tier)
        if decision.tier is None:
            return RunOutcome("failed", decision.refusal)
        unreadable = await _unreadable_test_file(inp)
        if unreadable:
            return RunOutcome("failed", unreadable)
        steps: list[str] = []
        auto = inp.tier is None and self.settings.routing.mode == "auto"
        queue = self._plan(decision.tier, available, explicit=inp.tier is not None)
        tried: list[Tier] = []
        attempts: list[Attempt] = []
        retry_reason = ""
        last = RunOutcome("failed", "no attempt was made")
        while queue:
            tier = queue.pop(0)
            if tried and tried[-1] is Tier.LOCAL and tier is Tier.CLAUDE:
                steps.append(f"escalated to Claude: {retry_reason}")
                report(f"escalating to Claude: {retry_reason}")
            tried.append(tier)
            answer = await self._attempt(inp, tier, retry_reason, meter, context, attempts)
            if answer.outcome is not None:
                return attrs.evolve(
                    answer.outcome,
                    steps=(*steps, answer.outcome.message),
                    attempts=tuple(attempts),
                )
            steps.append(f"{tier.label}: {answer.failure}")
            retry_reason = answer.failure
            previous = last if tried[:-1] else None
            last = self._failed(tier, answer, decision.why)
            if previous is not None and tier is Tier.CLAUDE and answer.kind in CLAUDE_DOWN:
                # the user needs both halves: why local failed, and why Claude could not help
                last = attrs.evolve(
                    previous,
                    message=f"{previous.message.rstrip('.')}; Claude was not used: "
                    f"{answer.failure.rstrip('.')}.",
                )
            if (
                answer.kind is FailureKind.UNREACHABLE
                and tier is Tier.LOCAL
                and self.local_backend() is not self.local
                and tried.count(Tier.LOCAL) == 1
            ):
                queue.insert(0, Tier.LOCAL)  # the server went away: the embedded engine serves
            elif answer.kind in LOCAL_DOWN and tier is Tier.LOCAL:
                # no point retrying a server that is down or too small; fall back when allowed
                queue = [t for t in queue if t is not Tier.LOCAL]
                if auto and not queue and self._claude_allowed(available):
                    queue = [Tier.CLAUDE]
            elif answer.kind in CLAUDE_DOWN and tier is Tier.CLAUDE:
                queue = [t for t in queue if t is not Tier.CLAUDE]
                if auto and Tier.LOCAL not in tried and available.local_ok:
                    queue = [Tier.LOCAL]
        if last.status in ("rejected", "no-change") and self._demo_served():
            from ladder_lsp.backends.embedded import DEMO_NOTE

            last = attrs.evolve(last, message=f"{last.message} {DEMO_NOTE}")
        return attrs.evolve(last, steps=tuple(steps), attempts=tuple(attempts))

    def _demo_served(self) -> bool:
        """The bundled demonstration model served the local tier (first contact, no server)."""
        served = self._embedded is not None and self.local_backend() is self._embedded
        return served and bool(getattr(self._embedded, "demo", False))

    def _claude_allowed(self, available: router.Availability) -> bool:
        return (
            available.claude_ok
            and not available.private_reason
            and self.settings.budget.daily_usd > 0
        )

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

    async def _over_budget(self, request: ChatRequest, *, explicit: bool) -> str:
        """Why this Claude call would break `budget.dailyUsd` (estimated before sending)."""
        if self.ledger is None:
            return ""
        from ladder_lsp.store.ledger import cost

        daily = self.settings.budget.daily_usd
        if daily == 0 and explicit:
            return ""  # 0 stops automatic use only; an explicit "with Claude" is the user's call
        estimate = cost(
            self.settings.claude.model,
            Usage(
                input_tokens=prompts.estimate_tokens(request.system + request.user),
                output_tokens=request.max_tokens // 2,
            ),
        )
        try:
            spent = await asyncio.to_thread(self.ledger.spent_today)
        except sqlite3.Error as exc:
            return f"the usage ledger cannot be read ({exc}), so the Claude budget is unknown"
        if spent + estimate > daily:
            return f"today's Claude budget is spent (${spent:.2f} of ${daily:.2f})"
        return ""

    def _failed(self, tier: Tier, answer: _Answer, why: str) -> RunOutcome:
        if answer.failure == UNCHANGED:
            status: Status = "no-change"
            message = f"No change: the {tier.label} returned the code unchanged."
        elif answer.kind is not None:
            status, message = "failed", answer.failure
        else:
            status = "rejected"
            message = f"No edit: {_whose(tier)} answer was rejected — {answer.failure}."
        return _with_note(RunOutcome(status, message, tier, answer.model), answer.note)

    def _plan(self, first: Tier, available: router.Availability, *, explicit: bool) -> list[Tier]:
        """The cascade: local, one local retry, then Claude when escalation is allowed."""
        if first is Tier.CLAUDE or explicit:
            return [first]
        plan = [Tier.LOCAL]
        if self.settings.routing.escalate_on_failure:
            plan.append(Tier.LOCAL)
            if self.settings.routing.mode == "auto" and self._claude_allowed(available):
                plan.append(Tier.CLAUDE)
            elif available.private_reason:
                log.info("escalation to Claude blocked: %s", available.private_reason)
        return plan

    async def _attempt(
        self,
        inp: RunInput,
        tier: Tier,
        retry_reason: str,
        meter: ProgressMeter,
        context: int,
        attempts: list[Attempt],
    ) -> _Answer:
        backend = self.local_backend() if tier is Tier.LOCAL else self.claude()
        if backend is None:
            return _Answer(None, "Claude is not configured", FailureKind.NOT_CONFIGURED)
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
        )
        try:
            request = prompts.build(prompt_input, context if tier is Tier.LOCAL else 200_000)
        except prompts.PromptTooLarge as exc:
            return _Answer(None, str(exc), FailureKind.TOO_LARGE)
        if tier is Tier.CLAUDE:
            over = await self._over_budget(request, explicit=inp.tier is Tier.CLAUDE)
            if over:
                return _Answer(None, over, FailureKind.BUDGET)
        label = f"{tier.label} · {await self._model_name(backend)}"
        meter.start(label if not retry_reason else f"{label} (retry)")
        try:
            completion = await backend.complete(request, meter)
        except BackendError as exc:
            log.warning("%s failed: %s %s", tier.value, exc.message, exc.detail)
            return _Answer(None, exc.message, exc.kind)
        attempts.append(Attempt(tier, completion.model, completion.usage))
        self.last_rate = meter.rate or self.last_rate
        answer = await self._finish(inp, tier, request, completion)
        if answer.outcome is not None:
            return attrs.evolve(answer, outcome=_with_note(answer.outcome, request.trimmed))
        return attrs.evolve(answer, model=completion.model, note=request.trimmed)

    async def _finish(
        self, inp: RunInput, tier: Tier, request: ChatRequest, completion: Completion
    ) -> _Answer:
        model = completion.model
        if not inp.spec.edits_code:
            text, unfinished = strip_reasoning(completion.text)
            text = text.strip()
            if not text:
                return _Answer(None, unfinished or "the answer is empty")
            if completion.finish_reason == "length":
                text += "\n\n*(The answer was cut off at the token limit.)*"
            return _Answer(
                RunOutcome(
                    "explained",
                    f"Explained by {tier.label} ({model}).",
                    tier=tier,
                    model=model,
                    markdown=text,
                )
            )
        original = inp.target.selected_text
        extracted = extract_code(completion.text, language=inp.language, original=original)
        if extracted.code is None:
            return _Answer(None, extracted.reason or "the answer contains no code")
        if inp.spec.id == "tests":
            return await self._finish_tests(
                inp, tier, model, extracted.code, completion.finish_reason
            )
        target = inp.target
        new_block = build_block(target, extracted.code)
        old_block = target.lines[target.start_line : target.end_line]
        old_doc = "".join(target.lines)
        new_doc = "".join(
            (*target.lines[: target.start_line], *new_block, *target.lines[target.end_line :])
        )
        ctx = CheckContext(
            action=inp.spec.id,
            language=inp.language,
            old_document=old_doc,
            new_document=new_doc,
            old_block="".join(old_block),
            new_block="".join(new_block),
            finish_reason=completion.finish_reason,
            diagnostics=inp.diagnostics,
            source_path=inp.path,
            custom_prompt=inp.spec.custom_prompt,
        )
        reasons = (
            await asyncio.to_thread(run_checks, ctx)
            if len(new_doc) > OFFLOAD_CHARS
            else run_checks(ctx)
        )
        if reasons:
            return _Answer(None, "; ".join(reasons))
        edits = minimal_edits(old_block, new_block, target.start_line)
        if not edits:
            return _Answer(None, UNCHANGED)
        changed = sum(len(e.new_lines) for e in edits)
        return _Answer(
            RunOutcome(
                "edit",
                f"{inp.spec.verb} by {tier.label} ({model}): {changed} line(s) changed.",
                tier=tier,
                model=model,
                edits=tuple(edits),
            )
        )

    async def _finish_tests(
        self, inp: RunInput, tier: Tier, model: str, code: str, finish_reason: str
    ) -> _Answer:
        plan = plan_for(Path(inp.path), inp.language)
        existing = inp.read_file(plan.path)
        insert = merge_generated(existing or "", code)
        new_text = (existing or "") + insert
        ctx = CheckContext(
            action="tests",
            language=inp.language,
            old_document=existing or "",
            new_document=new_text,
            old_block="",
            new_block=insert,
            finish_reason=finish_reason,
            source_path=inp.path,
            source_code=inp.target.selected_text,
        )
        reasons = run_checks(ctx)
        if reasons:
            return _Answer(None, "; ".join(reasons))
        if self.settings.checks.run_tests and plan.path.suffix == ".py":
            failed = await run_pytest(new_text, plan.path, self.settings.checks.timeout_seconds)
            if failed:
                return _Answer(None, failed)
        line = len((existing or "").splitlines(True)) if existing else 0
        verb = "Extended" if existing is not None else "Created"
        return _Answer(
            RunOutcome(
                "edit",
                f"{verb} {plan.path.name} with tests by {tier.label} ({model}).",
                tier=tier,
                model=model,
                new_file=NewFileEdit(plan.path, existing is not None, insert, line),
            )
        )


async def _unreadable_test_file(inp: RunInput) -> str:
    """Why `tests` cannot extend the test file (it exists but is not UTF-8 text): said before
    any model is asked, so no tokens are spent on an answer that cannot be delivered."""
    if inp.spec.id != "tests":
        return ""
    path = plan_for(Path(inp.path), inp.language).path
    if inp.read_file(path) is not None or not await asyncio.to_thread(os.path.lexists, path):
        return ""
    return (
        f"{path.name} exists but is not UTF-8 text, so Ladder cannot extend it; "
        "nothing was sent to a model."
    )


def _with_note(outcome: RunOutcome, note: str) -> RunOutcome:
    """The outcome's one line, with what the user must also know about the run."""
    if not note:
        return outcome
    return attrs.evolve(outcome, message=f"{outcome.message.rstrip('.')}; {note}.")


def _whose(tier: Tier) -> str:
    return "the local model's" if tier is Tier.LOCAL else "Claude's"
