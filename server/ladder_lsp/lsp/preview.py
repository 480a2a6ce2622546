"""The editor's way to ask before an edit is applied (`edits.confirm`, see engine/confirm.py).

A client that declares change-annotation support gets the edit marked `needsConfirmation`
and shows its own refactor preview (VS Code), so its answer to `workspace/applyEdit` is the
user's. Any other client is asked with `window/showMessageRequest`: Apply, Show diff (a
unified diff shown from the cache directory, then the question again) or Discard. Closing
the question, or no answer, discards: nothing lands without a yes.
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

from lsprotocol import types

from ladder_lsp.engine.confirm import ANNOTATION_ID, APPLY, DISCARD, SHOW_DIFF, Confirmation
from ladder_lsp.lsp.session import LadderServer
from ladder_lsp.lsp.show import cache_file, show_file

log = logging.getLogger(__name__)
ANSWER_TIMEOUT = 900.0  # seconds a question waits for the user before it counts as Discard


def previews_itself(ls: LadderServer) -> bool:
    """The client shows annotated edits for confirmation (annotations need versioned edits)."""
    return ls.features.change_annotations and ls.features.document_changes


def diff_name(ls: LadderServer, path: Path) -> str:
    """A path in a diff header: relative to the workspace root when under it."""
    root = ls.workspace.root_path
    if root and path.is_relative_to(root):
        return os.path.relpath(path, root)
    return path.name


def annotated(edit: types.WorkspaceEdit, confirm: Confirmation) -> types.WorkspaceEdit:
    """`edit` with every change under one annotation that needs the user's confirmation."""
    changes: list[types.TextDocumentEdit | types.CreateFile] = []
    for change in edit.document_changes or []:
        if isinstance(change, types.TextDocumentEdit):
            edits = [
                types.AnnotatedTextEdit(
                    annotation_id=ANNOTATION_ID, range=e.range, new_text=e.new_text
                )
                for e in change.edits
                if isinstance(e, types.TextEdit)  # Ladder sends no snippet edits
            ]
            changes.append(types.TextDocumentEdit(change.text_document, list(edits)))
        elif isinstance(change, types.CreateFile):
            changes.append(
                types.CreateFile(
                    uri=change.uri, options=change.options, annotation_id=ANNOTATION_ID
                )
            )
    return types.WorkspaceEdit(
        document_changes=changes,
        change_annotations={
            ANNOTATION_ID: types.ChangeAnnotation(
                label=confirm.label, needs_confirmation=True, description=confirm.question
            )
        },
    )


async def user_says_apply(ls: LadderServer, confirm: Confirmation, diff: str, name: str) -> bool:
    """Ask until the user chooses Apply (True) or Discard / closes the question (False);
    Show diff shows `diff` and asks again."""
    offer_diff = ls.features.show_document
    while True:
        titles = [APPLY, SHOW_DIFF, DISCARD] if offer_diff else [APPLY, DISCARD]
        params = types.ShowMessageRequestParams(
            type=types.MessageType.Info,
            message=f"Ladder: {confirm.question}",
            actions=[types.MessageActionItem(title=t) for t in titles],
        )
        try:
            answer = await asyncio.wait_for(
                ls.window_show_message_request_async(params), ANSWER_TIMEOUT
            )
        except asyncio.TimeoutError:
            log.info("no answer to the confirmation in %s s: discarded", ANSWER_TIMEOUT)
            return False
        except Exception as exc:
            log.warning("window/showMessageRequest failed: %s", exc)
            return False
        title = answer.title if answer is not None else None
        if title != SHOW_DIFF:
            return title == APPLY
        shown = await show_file(ls, cache_file("diff", name, ".diff"), diff)
        if not shown:
            offer_diff = False  # it cannot be shown: do not offer it again
