"""What one model answer becomes: an edit, a test file, an explanation — or the reason it was
rejected, which the next attempt is told.

The code is taken out of the answer, the block rebuilt in the document, the checks run
(in a worker thread for big documents) and the change reduced to minimal line edits; the
`tests` action merges into its test file instead (and may run pytest). An answer that passes
nothing becomes a `Verdict` without an outcome, and the cascade decides what to try next.
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

import attrs

from ladder_lsp.analysis.python.location import in_place
from ladder_lsp.backends.base import Completion, FailureKind, Tier
from ladder_lsp.engine.run_types import NewFileEdit, RunInput, RunOutcome, Status
from ladder_lsp.pipeline.answer import extract_code
from ladder_lsp.pipeline.checks.context import CheckContext
from ladder_lsp.pipeline.checks.runner import run_checks
from ladder_lsp.pipeline.checks.tests import run_pytest
from ladder_lsp.pipeline.edits import minimal_edits
from ladder_lsp.pipeline.reasoning import only_reasoned, strip_reasoning
from ladder_lsp.pipeline.reindent import build_block
from ladder_lsp.pipeline.surroundings import cut_surroundings
from ladder_lsp.pipeline.testfile import merge_generated, plan_for
from ladder_lsp.settings import ChecksSettings

log = logging.getLogger(__name__)
OFFLOAD_CHARS = 100_000  # checks on documents bigger than this run in a worker thread
UNCHANGED = "the model returned the code unchanged"


@attrs.frozen
class Verdict:
    """What one attempt produced: an outcome, or a reason to try the next step."""

    outcome: RunOutcome | None
    failure: str = ""
    kind: FailureKind | None = None  # set when the backend failed (no answer to judge)
    model: str = ""  # the model that answered: a rejected answer has one too
    note: str = ""  # for the user whatever became of the answer (`BuiltRequest.trimmed`)


async def judge(
    inp: RunInput,
    tier: Tier,
    completion: Completion,
    checks: ChecksSettings,
    *,
    read_ahead: bool = False,
) -> Verdict:
    """The verdict on one answer to `inp`. `read_ahead`: the original was read while the
    model answered (`engine.ahead`), so what the checks read of a big file is cached."""
    model = completion.model
    reasoned = only_reasoned(completion.text, completion.reasoning_tokens, completion.finish_reason)
    if reasoned:
        return Verdict(None, reasoned)
    if not inp.spec.edits_code:
        text, unfinished = strip_reasoning(completion.text)
        text = text.strip()
        if not text:
            return Verdict(None, unfinished or "the answer is empty")
        if completion.finish_reason == "length":
            text += "\n\n*(The answer was cut off at the token limit.)*"
        return Verdict(
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
        return Verdict(None, extracted.reason or "the answer contains no code")
    if inp.spec.id == "tests":
        return await _judge_tests(
            inp, tier, model, extracted.code, completion.finish_reason, checks
        )
    target = inp.target
    code, cut = cut_surroundings(target, extracted.code)
    if cut:
        log.info("cut %d line(s) the answer repeats from around the selection", cut)
    new_block = build_block(target, code)
    old_block = target.lines[target.start_line : target.end_line]
    where = in_place(target.lines, target.start_line, target.end_line, new_block, target.text)
    new_doc = None
    if where is None:  # else the checks join it if one needs it
        new_doc = "".join(
            (*target.lines[: target.start_line], *new_block, *target.lines[target.end_line :])
        )
    ctx = CheckContext(
        action=inp.spec.id,
        language=inp.language,
        old_document=target.text,
        new_document=new_doc,
        old_block="".join(old_block),
        new_block="".join(new_block),
        finish_reason=completion.finish_reason,
        diagnostics=inp.diagnostics,
        source_path=inp.path,
        custom_prompt=inp.spec.custom_prompt,
        instruction=inp.instruction,
        where=where,
    )
    # A big file's checks run in a thread unless the original was read ahead: then what is
    # left is the answer's own work (a millisecond at 20,000 lines), and the hop to a thread
    # and back, with the GIL shared, would cost more than it keeps off the loop.
    offload = len(target.text) > OFFLOAD_CHARS and not (read_ahead and where is not None)
    reasons = await asyncio.to_thread(run_checks, ctx) if offload else run_checks(ctx)
    if reasons:
        return Verdict(None, "; ".join(reasons))
    edits = minimal_edits(old_block, new_block, target.start_line)
    if not edits:
        return Verdict(None, UNCHANGED)
    changed = sum(len(e.new_lines) for e in edits)
    return Verdict(
        RunOutcome(
            "edit",
            f"{inp.spec.verb} by {tier.label} ({model}): {changed} line(s) changed.",
            tier=tier,
            model=model,
            edits=tuple(edits),
        )
    )


async def _judge_tests(
    inp: RunInput, tier: Tier, model: str, code: str, finish_reason: str, checks: ChecksSettings
) -> Verdict:
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
        return Verdict(None, "; ".join(reasons))
    if checks.run_tests and plan.path.suffix == ".py":
        failed = await run_pytest(new_text, plan.path, checks.timeout_seconds)
        if failed:
            return Verdict(None, failed)
    line = len((existing or "").splitlines(True)) if existing else 0
    verb = "Extended" if existing is not None else "Created"
    return Verdict(
        RunOutcome(
            "edit",
            f"{verb} {plan.path.name} with tests by {tier.label} ({model}).",
            tier=tier,
            model=model,
            new_file=NewFileEdit(plan.path, existing is not None, insert, line),
        )
    )


def failed_outcome(tier: Tier, verdict: Verdict) -> RunOutcome:
    """The outcome of a run whose last attempt on `tier` ended in `verdict` (no outcome)."""
    if verdict.failure == UNCHANGED:
        status: Status = "no-change"
        message = f"No change: the {tier.label} returned the code unchanged."
    elif verdict.kind is not None:
        status, message = "failed", verdict.failure
    else:
        status = "rejected"
        message = f"No edit: {_whose(tier)} answer was rejected — {verdict.failure}."
    return with_note(RunOutcome(status, message, tier, verdict.model), verdict.note)


async def unreadable_test_file(inp: RunInput) -> str:
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


def with_note(outcome: RunOutcome, note: str) -> RunOutcome:
    """The outcome's one line, with what the user must also know about the run."""
    if not note:
        return outcome
    return attrs.evolve(outcome, message=f"{outcome.message.rstrip('.')}; {note}.")


def _whose(tier: Tier) -> str:
    return "the local model's" if tier is Tier.LOCAL else "Claude's"
