"""What the editor can do, read once from `initialize` into one typed object.

Every LSP-facing decision (versioned edits, creating files, progress, showing a document,
even whether to send `workspace/applyEdit` at all) asks this object, so a capability is
interpreted in exactly one place and a client that lacks one is handled the same everywhere.
"""

from __future__ import annotations

import attrs
from lsprotocol import types


@attrs.frozen
class ClientFeatures:
    apply_edit: bool = False  # workspace.applyEdit: the server may send edits to apply
    document_changes: bool = False  # versioned TextDocumentEdits
    create_files: bool = False  # CreateFile resource operations (needs document_changes)
    change_annotations: bool = False  # workspace.workspaceEdit.changeAnnotationSupport
    work_done_progress: bool = False  # server-initiated progress
    show_document: bool = False  # window/showDocument
    configuration: bool = False  # workspace/configuration pull


def read_features(caps: types.ClientCapabilities | None) -> ClientFeatures:
    """The client's capabilities, absent fields read as "not supported" (as the spec says)."""
    if caps is None:
        return ClientFeatures()
    ws = caps.workspace
    edit = ws.workspace_edit if ws else None
    document_changes = bool(edit and edit.document_changes)
    operations = (edit.resource_operations or []) if edit else []
    window = caps.window
    return ClientFeatures(
        apply_edit=bool(ws and ws.apply_edit),
        document_changes=document_changes,
        create_files=document_changes and types.ResourceOperationKind.Create in operations,
        change_annotations=bool(edit and edit.change_annotation_support),
        work_done_progress=bool(window and window.work_done_progress),
        show_document=bool(window and window.show_document and window.show_document.support),
        configuration=bool(ws and ws.configuration),
    )
