"""`ladder.job` inside an editor: a workspace job (`engine.jobs`) under one work-done progress,
its results as ONE WorkspaceEdit (one TextDocumentEdit per file, the open documents'
versions, a change annotation per unit: "Cart.total · docstring · local"), and its report as
a Markdown document (showDocument).

Arguments: `{"instruction", "paths"?, "plan"?, "dryRun"?, "resume"?}` (a job id: what is left
of a job the journal holds, e.g. after the editor closed mid-job); the dry run answers the plan
without running anything (the VS Code client shows it for confirmation). Cancelling (progress
or `$/cancelRequest`) stops every unit and applies nothing. A file the user changed while the
job ran is left out of the edit and reported.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.workspace import TextDocument

from ladder_lsp.analysis.text import split_lines
from ladder_lsp.engine.confirm import DISCARDED, Confirmation
from ladder_lsp.engine.delivery import Delivery, Disposition, deliver_job
from ladder_lsp.engine.jobs import job as jobs
from ladder_lsp.engine.jobs.merge import FileChange, FileText
from ladder_lsp.engine.jobs.report import as_markdown, totals, unit_rows
from ladder_lsp.lsp.document import read_lines
from ladder_lsp.lsp.editor_sink import (
    APPLY_TIMEOUT,
    NOT_APPLIED,
    NOT_CONFIRMED,
    apply_workspace_edit,
    sends_edits,
)
from ladder_lsp.lsp.preview import ANSWER_TIMEOUT, diff_name, previews_itself, user_says_apply
from ladder_lsp.lsp.progress import Progress
from ladder_lsp.lsp.run import cancellable
from ladder_lsp.lsp.session import LadderServer
from ladder_lsp.lsp.show import show_markdown
from ladder_lsp.lsp.text import document_for_path, line_edits_to_text_edits, path_of
from ladder_lsp.pipeline.edits import unified_diff
from ladder_lsp.store.jobs import JobJournal

log = logging.getLogger(__name__)
JOB_COMMAND = "ladder.job"
JOB_TITLE = "Run a workspace job…"


def job_action() -> types.CodeAction:
    """The source action that starts a job (the client asks for the instruction)."""
    return types.CodeAction(
        title=JOB_TITLE,
        kind=types.CodeActionKind.Source,
        command=types.Command(title=JOB_TITLE, command=JOB_COMMAND, arguments=[{}]),
    )


async def job_command(ls: LadderServer, args: Any) -> dict[str, Any]:
    return await cancellable(ls, _job(ls, args))


def _arguments(args: Any) -> dict[str, Any] | str:
    """The command's one object argument, checked; a str says what is wrong."""
    if isinstance(args, list):
        args = args[0] if len(args) == 1 else None
    if not isinstance(args, dict):
        return 'ladder.job takes one object: {"instruction", "paths"?, "plan"?, "dryRun"?}'
    instruction = args.get("instruction", "")
    paths = args.get("paths") or []
    if not isinstance(instruction, str):
        return "ladder.job: instruction must be a string"
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        return "ladder.job: paths must be a list of strings"
    resume = args.get("resume") or ""
    if not isinstance(resume, str):
        return "ladder.job: resume must be a job id"
    if not instruction.strip() and args.get("plan") is None and not resume:
        return "ladder.job needs an instruction (or a plan)"
    return {"instruction": instruction, "paths": [path_of(p) for p in paths],
            "plan": args.get("plan"), "dryRun": bool(args.get("dryRun")),
            "resume": resume}  # fmt: skip


def _root(ls: LadderServer) -> Path | None:
    folders = list(ls.workspace.folders.values())
    if folders:
        return Path(path_of(folders[0].uri))
    root = ls.workspace.root_path
    return Path(root) if root else None


def _load(ls: LadderServer, path: Path) -> FileText | None:
    doc = document_for_path(ls.workspace, path)
    if doc is not None:
        lines = tuple(read_lines(doc))
        return FileText(path, doc.uri, doc.version, "".join(lines), lines)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    return FileText(path, path.as_uri(), None, text, tuple(split_lines(text)))


def _refuse(ls: LadderServer, message: str) -> dict[str, Any]:
    ls.window_show_message(types.ShowMessageParams(types.MessageType.Warning, f"Ladder: {message}"))
    return {"applied": False, "reason": message}


async def _job(ls: LadderServer, raw: Any) -> dict[str, Any]:
    args = _arguments(raw)
    if isinstance(args, str):
        return _refuse(ls, args)
    root = _root(ls)
    if root is None:
        return _refuse(ls, "ladder.job needs a workspace folder")
    journal = None if args["dryRun"] else await asyncio.to_thread(JobJournal.open, ls.settings)
    try:
        return await _run_job(ls, args, root, journal)
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("job failed")
        return _refuse(ls, "internal error in the job; nothing was changed (details in the log)")
    finally:
        if journal is not None:
            journal.close()


async def _run_job(
    ls: LadderServer, args: dict[str, Any], root: Path, journal: JobJournal | None
) -> dict[str, Any]:
    engine = ls.engine
    progress = Progress.start(ls, "Ladder: job")
    try:
        the_job = await jobs.prepare(
            engine, journal, root=root, load=lambda p: _load(ls, p), report=progress.report,
            instruction=args["instruction"], patterns=args["paths"], plan_data=args["plan"],
            resume=args["resume"],
        )  # fmt: skip
    except jobs.JobError as exc:
        progress.end("Refused")
        return _refuse(ls, f"{exc}; nothing was run")
    except asyncio.CancelledError:
        progress.end("Cancelled")
        raise
    if args["dryRun"]:
        progress.end("Planned")
        return {"applied": False, "dryRun": True, "plan": the_job.plan.to_json(),
                "files": sorted({r.unit.path for r in the_job.units})}  # fmt: skip
    try:
        results = await jobs.run(engine, journal, the_job, progress.report)
    except asyncio.CancelledError:
        progress.end("Cancelled")
        await asyncio.shield(jobs.set_state(journal, the_job, "cancelled"))
        cancelled = "Ladder: job cancelled; nothing applied."
        ls.window_show_message(types.ShowMessageParams(types.MessageType.Info, cancelled))
        return {"applied": False, "job": the_job.id, "reason": "cancelled"}
    progress.end("Delivering")
    delivered = await deliver_job(
        the_job.units, the_job.files, results, EditorJobSink(ls),
        settings=engine.settings, secrets=ls.secrets(), ledger=engine.ledger,
    )  # fmt: skip
    rows = unit_rows(
        the_job, results, {k: v.value for k, v in delivered.units.items()},
        engine.settings.claude.model,
    )  # fmt: skip
    summary = totals(rows, the_job)
    applied = any(d.applied for d in delivered.files.values())
    await jobs.set_state(journal, the_job, "applied" if applied else "done")
    report = ls.redact(as_markdown(the_job, rows))
    await show_markdown(ls, f"job-{the_job.id}", report, fallback=_one_line(summary))
    ls.send_status()
    result: dict[str, Any] = {
        "applied": applied,
        "job": the_job.id,
        "units": rows,
        "summary": summary,
        "files": {the_job.relative(p): d.disposition.value for p, d in delivered.files.items()},
    }
    for d in delivered.files.values():
        result.update(d.extra)
    return result


def _one_line(summary: dict[str, Any]) -> str:
    done = summary["units"] - len(summary["failed"])
    failed = f"; failed: {', '.join(summary['failed'])}" if summary["failed"] else ""
    return f"Ladder job: {done}/{summary['units']} units done{failed}"


class EditorJobSink:
    """The job's changes as one WorkspaceEdit; a file changed since the job read it is left
    out (stale). Each applied open document owes a didChange, as for single runs."""

    def __init__(self, ls: LadderServer) -> None:
        self._ls = ls

    async def files(
        self, changes: Sequence[FileChange], confirm: Confirmation | None
    ) -> dict[Path, Delivery]:
        ls = self._ls
        if confirm is not None and sends_edits(ls) and not previews_itself(ls):
            diff = "".join(
                unified_diff(diff_name(ls, c.file.path), c.file.lines, c.new_lines) for c in changes
            )
            if not await user_says_apply(ls, confirm, diff, "job"):
                return {c.file.path: Delivery(Disposition.REFUSED, DISCARDED) for c in changes}
            confirm = None  # the user said apply
        out: dict[Path, Delivery] = {}
        keys = sorted(str(c.file.path) for c in changes)
        async with contextlib.AsyncExitStack() as stack:
            for key in keys:  # sorted: two jobs never wait on each other's turns
                await stack.enter_async_context(
                    ls.deliveries.one_at_a_time(key, functools.partial(_version_now, ls, key))
                )
            document_changes: list[types.TextDocumentEdit] = []
            annotations: dict[str, types.ChangeAnnotation] = {}
            sent: list[tuple[FileChange, TextDocument | None]] = []
            for change in changes:
                doc = document_for_path(ls.workspace, change.file.path)
                now = await _text_now(doc, change.file.path)
                if now != change.file.text:
                    out[change.file.path] = Delivery(
                        Disposition.STALE,
                        f"{change.file.path.name} changed while the job ran; left unchanged.",
                    )
                    continue
                codec = doc.position_codec if doc else ls.workspace.position_codec
                uri = doc.uri if doc else change.file.uri
                edits: list[types.TextEdit | types.AnnotatedTextEdit] = []
                for unit in change.units:
                    for te in line_edits_to_text_edits(unit.edits, change.file.lines, codec):
                        if not ls.features.change_annotations:
                            edits.append(te)
                            continue
                        annotations[unit.unit_id] = types.ChangeAnnotation(
                            label=unit.label,
                            needs_confirmation=confirm is not None,
                            description=confirm.question if confirm else None,
                        )
                        edits.append(
                            types.AnnotatedTextEdit(
                                annotation_id=unit.unit_id, range=te.range, new_text=te.new_text
                            )
                        )
                version = doc.version if doc else None
                document_changes.append(
                    types.TextDocumentEdit(
                        types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=version),
                        edits=edits,
                    )
                )
                sent.append((change, doc))
            if not document_changes:
                return out
            edit = _workspace_edit(ls, document_changes, annotations)
            if not sends_edits(ls):
                delivery = Delivery(
                    Disposition.RETURNED,
                    "your editor does not accept edits from a server; the edit is in the result",
                    {"edit": ls.protocol._converter.unstructure(edit)},
                )
                return {**out, **{c.file.path: delivery for c, _ in sent}}
            answer = await apply_workspace_edit(
                ls,
                edit,
                "workspace job",
                timeout=APPLY_TIMEOUT if confirm is None else ANSWER_TIMEOUT,
            )
            not_applied = NOT_APPLIED if confirm is None else NOT_CONFIRMED
            for change, doc in sent:
                if answer is Disposition.APPLIED:
                    if doc is not None:
                        ls.deliveries.applied(str(change.file.path), doc.version)
                    out[change.file.path] = Delivery(answer, "")
                else:
                    out[change.file.path] = Delivery(answer, not_applied[answer])
        return out


def _workspace_edit(
    ls: LadderServer,
    document_changes: list[types.TextDocumentEdit],
    annotations: dict[str, types.ChangeAnnotation],
) -> types.WorkspaceEdit:
    if ls.features.document_changes:
        return types.WorkspaceEdit(
            document_changes=list(document_changes), change_annotations=annotations or None
        )
    return types.WorkspaceEdit(
        changes={
            dc.text_document.uri: [
                types.TextEdit(e.range, e.new_text)
                for e in dc.edits
                if not isinstance(e, types.SnippetTextEdit)
            ]
            for dc in document_changes
        }
    )


def _version_now(ls: LadderServer, key: str) -> int | None:
    doc = document_for_path(ls.workspace, key)
    return None if doc is None else doc.version


async def _text_now(doc: TextDocument | None, path: Path) -> str | None:
    if doc is not None:
        return "".join(read_lines(doc))
    try:
        return await asyncio.to_thread(path.read_text, "utf-8")
    except (OSError, UnicodeDecodeError):
        return None
