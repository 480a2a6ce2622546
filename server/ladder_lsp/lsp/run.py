"""`ladder.run` inside an editor: arguments → RunInput → engine → delivery → one message.

The command checks its arguments against the open document (action, version, tier,
selection) and builds the `RunInput`, runs the engine (or the parallel workers) under
work-done progress (`lsp.progress`), and hands the outcome to the shared delivery path
(`engine.delivery.deliver`, which the CLI uses too) with the editor's sink
(`lsp.editor_sink`). Both cancel paths end here: progress cancel and `$/cancelRequest`.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from lsprotocol import types

from ladder_lsp.analysis.languages import language_from_path
from ladder_lsp.backends.base import Tier
from ladder_lsp.engine.actions import find_action, instruction_problem
from ladder_lsp.engine.delivery import Disposition, deliver, record
from ladder_lsp.engine.run_types import RunInput, RunOutcome
from ladder_lsp.engine.workers import run_workers
from ladder_lsp.lsp.document import read_lines
from ladder_lsp.lsp.editor_sink import EditorSink
from ladder_lsp.lsp.listing import RunArgs
from ladder_lsp.lsp.progress import Progress
from ladder_lsp.lsp.session import LadderServer
from ladder_lsp.lsp.text import document_for_path, open_document, path_of, to_server_position
from ladder_lsp.pipeline.target import make_target

log = logging.getLogger(__name__)


class UserError(Exception):
    """Refuse the run with a message the user sees; nothing was changed."""


async def run_command(ls: LadderServer, args: RunArgs) -> dict[str, Any]:
    """The `ladder.run` handler body; never raises for expected failures."""
    return await cancellable(ls, _run(ls, args))


async def cancellable(
    ls: LadderServer, work: Coroutine[Any, Any, dict[str, Any]]
) -> dict[str, Any]:
    """Run a command's work as its own task, cancelled by `$/cancelRequest` for the command's
    request (pygls would only answer -32800 and let the work go on)."""
    msg_id = ls.protocol.msg_id
    job = asyncio.ensure_future(work)
    if msg_id is not None:
        ls.jobs_by_request[msg_id] = job
    try:
        return await asyncio.shield(job)
    except asyncio.CancelledError:
        job.cancel()
        return {"applied": False, "reason": "cancelled"}
    finally:
        if msg_id is not None:
            ls.jobs_by_request.pop(msg_id, None)


async def _run(ls: LadderServer, args: RunArgs) -> dict[str, Any]:
    try:
        inp = _prepare(ls, args)
    except UserError as exc:
        _tell(ls, types.MessageType.Warning, f"Ladder: {exc}")
        return {"applied": False, "tier": None, "model": "", "reason": str(exc)}
    progress = Progress.start(ls, f"Ladder: {inp.spec.verb}")
    try:
        if args.workers:
            outcome = await run_workers(ls.engine, inp, progress.report)
        else:
            outcome = await ls.engine.run(inp, progress.report)
    except asyncio.CancelledError:
        progress.end("Cancelled")
        cancelled = RunOutcome("cancelled", "cancelled")
        await asyncio.shield(
            record(ls.engine.ledger, inp, cancelled, Disposition.CANCELLED, progress.elapsed)
        )
        return _cancelled(ls)
    except Exception:
        log.exception("run failed")
        progress.end("Failed")
        _tell(
            ls,
            types.MessageType.Error,
            "Ladder: internal error; nothing was changed (details in the log).",
        )
        return {"applied": False, "tier": None, "model": "", "reason": "internal error"}
    # the progress ends once the edit is on its way, or before the delivery waits on the
    # editor or the user (a question, `edits.confirm`, is not work)
    settled = functools.partial(progress.end, outcome.status)
    try:
        delivery = await deliver(
            inp,
            outcome,
            EditorSink(ls, args.uri, settled),
            secrets=ls.secrets(),
            ledger=ls.engine.ledger,
            elapsed=lambda: progress.elapsed,
            confirm=ls.settings.edits.confirm,
        )
    except asyncio.CancelledError:
        return _cancelled(ls)
    finally:  # after the edit: these writes need not delay it
        settled()  # a no-op when the delivery ended it
        log.info("%s: %s in %.2f s%s", inp.spec.id, outcome.status, progress.elapsed, _by(outcome))
        for step in outcome.steps:
            ls.window_log_message(
                types.LogMessageParams(types.MessageType.Info, ls.redact(f"Ladder: {step}"))
            )
    ls.send_status()
    level = types.MessageType.Info if delivery.applied else types.MessageType.Warning
    _tell(ls, level, f"Ladder: {delivery.message}")
    result: dict[str, Any] = {
        "applied": delivery.applied,
        "tier": outcome.tier.value if outcome.tier else None,
        "model": outcome.model,
        **delivery.extra,
    }
    if not delivery.applied:
        result["reason"] = delivery.message
    return result


def _by(outcome: RunOutcome) -> str:
    """Who answered, for the server's log: each call's tier, model and local server."""
    calls = [
        f"{a.tier.value} {a.model}" + (f" at {a.endpoint}" if a.endpoint else "")
        for a in outcome.attempts
    ]
    return f" ({'; '.join(calls)})" if calls else ""


def _cancelled(ls: LadderServer) -> dict[str, Any]:
    _tell(ls, types.MessageType.Info, "Ladder: cancelled; nothing was changed.")
    return {"applied": False, "tier": None, "model": "", "reason": "cancelled"}


def _prepare(ls: LadderServer, args: RunArgs) -> RunInput:
    spec = find_action(args.action, ls.settings)
    if spec is None:
        raise UserError(f"unknown action {args.action!r}")
    instruction = (args.instruction or "").strip()
    unusable = instruction_problem(spec, instruction)
    if unusable:
        raise UserError(unusable)
    doc = open_document(ls.workspace, args.uri)
    if doc is None:
        raise UserError("the document is not open in the editor")
    if args.version is not None and doc.version is not None and args.version != doc.version:
        raise UserError("the document changed since the action was offered; choose it again")
    tier = None
    if args.tier:
        try:
            tier = Tier(args.tier)
        except ValueError:
            raise UserError(f"unknown tier {args.tier!r} (local or claude)") from None
    lines = read_lines(doc)  # the target keeps them as a tuple: its own snapshot
    codec = doc.position_codec
    start = to_server_position(lines, args.range.start, codec)
    end = to_server_position(lines, args.range.end, codec)
    if end < start:
        start, end = end, start
    target = make_target(args.uri, doc.version, tuple(lines), start, end)
    if not target.selected_text.strip():
        raise UserError("the selection is empty")
    path = path_of(args.uri)
    return RunInput(
        spec=spec,
        target=target,
        language=doc.language_id or language_from_path(path),
        path=path,
        diagnostics=tuple(args.diagnostics or ()),
        tier=tier,
        instruction=instruction,
        read_file=lambda p: _read_text(ls, p),
    )


def _read_text(ls: LadderServer, path: Path) -> str | None:
    doc = document_for_path(ls.workspace, path)
    if doc is not None:
        return str(doc.source)
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _tell(ls: LadderServer, level: types.MessageType, message: str) -> None:
    ls.window_show_message(types.ShowMessageParams(type=level, message=ls.redact(message)))
