"""Delivery into the editor: the `Sink` that `engine.delivery.deliver` hands a run's result to.

An edit is moved onto the document as it is now (unchanged version: as is; the user typed
meanwhile: `rebase.carry`, or stale), sent as one versioned WorkspaceEdit with
`workspace/applyEdit`, and its answer read (applied, refused, no answer; an edit that landed
without an answer counts as applied). A new test file goes as CreateFile + edit (or is written
by Ladder when the client cannot create files); an explanation is shown with
`window/showDocument`. A client without `workspace.applyEdit` gets the edit back in the
command's result (`{"edit": ...}`) instead of a request it would not answer. A change that
needs the user's yes (`edits.confirm`) is previewed first (`lsp.preview`).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lsprotocol import types

from ladder_lsp.analysis.text import split_lines
from ladder_lsp.engine.confirm import DISCARDED, Confirmation
from ladder_lsp.engine.delivery import Delivery, Disposition
from ladder_lsp.engine.run_types import RunInput, RunOutcome
from ladder_lsp.lsp.document import document_lines
from ladder_lsp.lsp.preview import (
    ANSWER_TIMEOUT,
    annotated,
    diff_name,
    previews_itself,
    user_says_apply,
)
from ladder_lsp.lsp.session import LadderServer
from ladder_lsp.lsp.show import show_markdown, show_uri
from ladder_lsp.lsp.text import (
    document_for_path,
    line_edits_to_text_edits,
    open_document,
    path_of,
    uri_for_path,
)
from ladder_lsp.pipeline.edits import LineEdit, apply_line_edits, unified_diff
from ladder_lsp.pipeline.rebase import carry

log = logging.getLogger(__name__)
APPLY_TIMEOUT = 30.0  # some clients (Vim's ALE) never answer workspace/applyEdit
LANDED_POLL_SECONDS = 0.05


class EditorSink:
    """Delivery into the editor: `workspace/applyEdit` for edits, showDocument for answers.

    `settled` is called once Ladder's own work is done and the delivery waits on someone
    else: the edit request is written, the user is asked, an earlier edit's echo is awaited
    (the run's progress ends there, so it covers the edit's making but not the editor's
    answer or the user's choice)."""

    def __init__(self, ls: LadderServer, uri: str, settled: Callable[[], None]) -> None:
        self._ls = ls
        self._uri = uri
        self._settled = settled

    async def edit(
        self,
        inp: RunInput,
        outcome: RunOutcome,
        edits: tuple[LineEdit, ...],
        confirm: Confirmation | None,
    ) -> Delivery:
        ls, uri = self._ls, self._uri
        if confirm is not None and sends_edits(ls) and not previews_itself(ls):
            lines = inp.target.lines
            new = apply_line_edits(lines, edits)
            diff = unified_diff(diff_name(ls, Path(inp.path)), lines, new)
            self._settled()
            if not await user_says_apply(ls, confirm, diff, Path(inp.path).name):
                return Delivery(Disposition.REFUSED, DISCARDED)
            confirm = None  # the user said apply: the edit goes as any other
        async with ls.deliveries.one_at_a_time(
            path_of(uri), lambda: _version_now(ls, uri), self._settled
        ):
            doc = open_document(ls.workspace, uri)
            if doc is None:
                return Delivery(
                    Disposition.STALE,
                    "the document was closed while the model was answering; nothing applied.",
                )
            current = document_lines(doc)
            moved = list(edits) if doc.version == inp.target.version else None
            if moved is None:
                moved = carry(inp.target, edits, current)
            if moved is None:
                return Delivery(
                    Disposition.STALE,
                    "you changed the code the model was working on, so nothing was applied "
                    "(run the action again).",
                )
            text_edits = line_edits_to_text_edits(moved, current, doc.position_codec)
            version = doc.version  # pygls updates `doc` in place when the editor's change arrives
            edit = _workspace_edit(ls, uri, version, text_edits)
            if not sends_edits(ls):
                return _returned(ls, edit, outcome)
            # built only if the client is slow to answer (ALE never does)
            expected = functools.cache(lambda: "".join(apply_line_edits(current, moved)))
            answer = await apply_workspace_edit(
                ls,
                edit if confirm is None else annotated(edit, confirm),
                inp.spec.verb,
                landed=lambda: _text_now(ls, uri) == expected(),
                timeout=APPLY_TIMEOUT if confirm is None else ANSWER_TIMEOUT,
                sent=self._settled,
            )
            if answer is not Disposition.APPLIED:
                return Delivery(answer, (NOT_CONFIRMED if confirm else NOT_APPLIED)[answer])
            ls.deliveries.applied(path_of(uri), version)  # the next one waits for its didChange
            return Delivery(Disposition.APPLIED, outcome.message)

    async def new_file(
        self, inp: RunInput, outcome: RunOutcome, confirm: Confirmation | None
    ) -> Delivery:
        plan = outcome.new_file
        assert plan is not None
        ls = self._ls
        ladder_writes = not plan.exists and not ls.features.create_files  # no edit to preview
        if confirm is not None and (ladder_writes or (sends_edits(ls) and not previews_itself(ls))):
            old = (inp.read_file(plan.path) or "") if plan.exists else ""
            new = split_lines(old + plan.insert_text)
            diff = unified_diff(diff_name(ls, plan.path), split_lines(old), new)
            self._settled()
            if not await user_says_apply(ls, confirm, diff, plan.path.name):
                return Delivery(Disposition.REFUSED, DISCARDED)
            confirm = None
        async with ls.deliveries.one_at_a_time(str(plan.path), lambda: None, self._settled):
            return await _apply_new_file(ls, outcome, confirm, self._settled)

    async def explanation(self, inp: RunInput, outcome: RunOutcome) -> Delivery:
        self._settled()
        shown = await _show_explanation(self._ls, inp, outcome)
        return Delivery(Disposition.SHOWN if shown else Disposition.REFUSED, outcome.message)


NOT_APPLIED = {
    Disposition.REFUSED: "the editor did not apply the edit (the document may have changed).",
    Disposition.NO_ANSWER: (
        "the editor did not answer the edit request, so Ladder cannot tell whether it was "
        "applied; check the file."
    ),
}
NOT_CONFIRMED = {  # the edit went to the client's own preview (a single run's or a job's)
    # VS Code lists a change that needs confirmation unticked: Apply alone applies nothing
    Disposition.REFUSED: "the edit was not applied (discarded in the preview, or left unticked "
    "there, or the document changed).",
    Disposition.NO_ANSWER: "the preview was not answered in time; nothing was applied.",
}


def sends_edits(ls: LadderServer) -> bool:
    """Whether to send `workspace/applyEdit`: the client declares it (or the user says it
    applies edits anyway, `edits.applyEdit: always`)."""
    return ls.features.apply_edit or ls.settings.edits.apply_edit == "always"


def _returned(ls: LadderServer, edit: types.WorkspaceEdit, outcome: RunOutcome) -> Delivery:
    """For clients without `workspace.applyEdit`: the edit goes back in the command result."""
    return Delivery(
        Disposition.RETURNED,
        f"{outcome.message.rstrip('.')}; your editor does not accept edits from a server "
        '(workspace.applyEdit), so the edit is in the command\'s result ("edit").',
        {"edit": ls.protocol._converter.unstructure(edit)},
    )


def _workspace_edit(
    ls: LadderServer, uri: str, version: int | None, edits: list[types.TextEdit]
) -> types.WorkspaceEdit:
    if ls.features.document_changes:
        return types.WorkspaceEdit(
            document_changes=[
                types.TextDocumentEdit(
                    text_document=types.OptionalVersionedTextDocumentIdentifier(
                        uri=uri, version=version
                    ),
                    edits=list(edits),
                )
            ]
        )
    return types.WorkspaceEdit(changes={uri: list(edits)})


async def apply_workspace_edit(
    ls: LadderServer,
    edit: types.WorkspaceEdit,
    label: str,
    landed: Callable[[], bool] | None = None,
    timeout: float = APPLY_TIMEOUT,
    sent: Callable[[], None] = lambda: None,
) -> Disposition:
    """Send the edit and wait (`timeout` seconds) for the answer: applied, refused or no
    answer. Some clients (Vim's ALE) apply the edit and send `didChange` but never answer:
    `landed` recognises the applied text so they are not told their edit failed after a long
    wait. `sent` is called once the request is written."""
    request = asyncio.wrap_future(  # written before pygls returns its future: no loop turn
        ls.workspace_apply_edit(types.ApplyWorkspaceEditParams(edit=edit, label=f"Ladder: {label}"))
    )
    sent()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    try:
        while not request.done():
            await asyncio.wait({request}, timeout=LANDED_POLL_SECONDS)
            if request.done():
                break
            if landed is not None and landed():
                log.info("the edit landed but the client has not answered workspace/applyEdit")
                return Disposition.APPLIED
            if loop.time() >= deadline:
                log.warning("client did not answer workspace/applyEdit in %s s", timeout)
                return Disposition.NO_ANSWER
    finally:
        if not request.done():
            request.cancel()
    try:
        result = request.result()
    except Exception as exc:
        log.warning("workspace/applyEdit failed: %s", exc)
        return Disposition.REFUSED
    if not result.applied:
        log.info("client refused the edit: %s", result.failure_reason)
        return Disposition.REFUSED
    return Disposition.APPLIED


def _version_now(ls: LadderServer, uri: str) -> int | None:
    doc = open_document(ls.workspace, uri)
    return None if doc is None else doc.version


def _text_now(ls: LadderServer, uri: str) -> str | None:
    doc = open_document(ls.workspace, uri)
    return None if doc is None else str(doc.source)


async def _apply_new_file(
    ls: LadderServer, outcome: RunOutcome, confirm: Confirmation | None, settled: Callable[[], None]
) -> Delivery:
    """The test file as CreateFile + edit (under `confirm`'s annotation when given), or
    written by Ladder for a client that cannot create files."""
    plan = outcome.new_file
    assert plan is not None
    uri = uri_for_path(ls.workspace, plan.path)
    insert = types.TextEdit(
        range=types.Range(types.Position(plan.insert_line, 0), types.Position(plan.insert_line, 0)),
        new_text=plan.insert_text,
    )
    open_doc = document_for_path(ls.workspace, plan.path)
    version = open_doc.version if open_doc is not None else None
    if not plan.exists and open_doc is None and await asyncio.to_thread(os.path.lexists, plan.path):
        # there is a file (or a link) Ladder could not read as text: never replace it
        name = plan.path.name
        return Delivery(
            Disposition.BLOCKED,
            f"{name} exists but could not be read as UTF-8 text; nothing written.",
        )
    features = ls.features
    if not plan.exists and not features.create_files:
        # The client cannot create files through an edit: write it ourselves, then show it.
        try:
            await asyncio.to_thread(_create_exclusive, plan.path, plan.insert_text)
        except OSError as exc:
            return Delivery(
                Disposition.BLOCKED, f"could not create {plan.path}: {exc.strerror or exc}"
            )
        settled()
        await show_uri(ls, uri)
        return Delivery(Disposition.APPLIED, outcome.message)
    changes: list[Any] = []
    if not plan.exists:
        changes.append(
            types.CreateFile(uri=uri, options=types.CreateFileOptions(ignore_if_exists=True))
        )
    if features.document_changes:
        changes.append(
            types.TextDocumentEdit(
                text_document=types.OptionalVersionedTextDocumentIdentifier(
                    uri=uri, version=version
                ),
                edits=[insert],
            )
        )
        edit = types.WorkspaceEdit(document_changes=changes)
    else:
        edit = types.WorkspaceEdit(changes={uri: [insert]})
    if not sends_edits(ls):
        return _returned(ls, edit, outcome)
    if confirm is not None:
        edit = annotated(edit, confirm)
    answer = await apply_workspace_edit(
        ls,
        edit,
        "Write tests",
        timeout=APPLY_TIMEOUT if confirm is None else ANSWER_TIMEOUT,
        sent=settled,
    )
    if answer is Disposition.APPLIED:
        return Delivery(answer, outcome.message)
    if confirm is not None:
        return Delivery(answer, NOT_CONFIRMED[answer])
    return Delivery(answer, "the editor did not apply the test file.")


async def _show_explanation(ls: LadderServer, inp: RunInput, outcome: RunOutcome) -> bool:
    name = Path(inp.path).stem or "selection"
    header = (
        f"# {name}: lines {inp.target.start_line + 1}-{inp.target.end_line}\n\n"
        f"*Explained by {outcome.tier.label if outcome.tier else 'Ladder'} "
        f"({outcome.model})*\n\n"
    )
    markdown = ls.redact(outcome.markdown)
    return await show_markdown(ls, name, header + markdown + "\n", fallback=markdown)


def _create_exclusive(path: Path, text: str) -> None:
    """A new file, never an existing one (nor the target of a link planted in its place)."""
    with open(path, "x", encoding="utf-8") as f:
        f.write(text)
