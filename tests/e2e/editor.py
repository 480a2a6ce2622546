"""A minimal editor around the pytest-lsp client: it keeps the text of the documents it opened,
applies the server's `workspace/applyEdit` exactly as an editor would (UTF-16 positions,
versioned documentChanges checked against its own versions) and tells the server with
`didChange`, so tests can compare the final text byte for byte."""

from __future__ import annotations

import asyncio
from typing import Any

import attrs
from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.utf16 import utf16_to_index


def fix_code_action_structuring(client: LanguageClient) -> None:
    """lsprotocol 2025.0.0's client converter turns a CodeAction carrying a `command` into a
    `Command`; decide by the type of the `command` field instead."""
    converter = client.protocol._converter

    def structure(obj: Any, _: Any) -> types.CodeAction | types.Command:
        if isinstance(obj.get("command"), str):
            return converter.structure(obj, types.Command)
        return converter.structure(obj, types.CodeAction)

    converter.register_structure_hook(types.CodeAction | types.Command, structure)


def drop_late_responses(client: LanguageClient) -> None:
    """A response to a request the test stopped waiting for (a `wait_for` that timed out) is
    dropped, as an editor drops it. pygls would set the result on the cancelled future, fail,
    and pytest-lsp would take that for a broken server and kill it, failing every later test
    on the same session instead of the one that timed out."""
    protocol = client.protocol
    handle = protocol._handle_response

    def handle_response(msg_id: Any, result: Any = None, error: Any = None) -> None:
        future = protocol._request_futures.get(msg_id)
        if future is not None and future.cancelled():
            protocol._request_futures.pop(msg_id, None)
            return
        handle(msg_id, result, error)

    protocol._handle_response = handle_response  # type: ignore[method-assign]


def record_arrivals(client: LanguageClient, log: list[str]) -> None:
    """Append each message from the server to `log` as it arrives, in order: its method, and
    a progress notification's kind (`$/progress:end`). Handlers run later, as tasks, so only
    this order says which message the server sent first."""
    protocol = client.protocol
    handle = protocol.handle_message

    def handle_message(message: Any) -> None:
        method = getattr(message, "method", None)
        if method == types.PROGRESS:
            value = getattr(message.params, "value", None)
            kind = value.get("kind") if isinstance(value, dict) else getattr(value, "kind", "")
            method = f"{method}:{kind}"
        if method:
            log.append(method)
        handle(message)

    protocol.handle_message = handle_message  # type: ignore[method-assign]


def offset_of(text: str, pos: types.Position) -> int:
    lines = text.splitlines(keepends=True)
    if pos.line >= len(lines):
        return len(text)
    start = sum(len(x) for x in lines[: pos.line])
    body = lines[pos.line].rstrip("\r\n")
    return start + utf16_to_index(body, pos.character)


def apply_text_edits(text: str, edits: list[types.TextEdit]) -> str:
    spans = sorted(
        ((offset_of(text, e.range.start), offset_of(text, e.range.end), e.new_text) for e in edits),
        key=lambda s: (s[0], s[1]),
        reverse=True,
    )
    for start, end, new in spans:
        text = text[:start] + new + text[end:]
    return text


@attrs.define
class Doc:
    uri: str
    text: str
    version: int
    language: str


class Editor:
    def __init__(self, client: LanguageClient) -> None:
        self.client = client
        fix_code_action_structuring(client)
        drop_late_responses(client)
        self.arrivals: list[str] = []  # the server's messages, in order (`record_arrivals`)
        record_arrivals(client, self.arrivals)
        self._start_clean()

        @client.feature(types.WORKSPACE_APPLY_EDIT)
        async def on_apply(params: types.ApplyWorkspaceEditParams) -> Any:
            return await self._on_apply(params)

        @client.feature("ladder/status")
        def on_status(params: Any) -> None:
            self._on_status(params)

        @client.feature(types.WINDOW_SHOW_MESSAGE_REQUEST)
        def on_question(params: types.ShowMessageRequestParams) -> Any:
            return self._on_question(params)

    def _start_clean(self) -> None:
        self.docs: dict[str, Doc] = {}
        self.applied: list[types.ApplyWorkspaceEditParams] = []
        self.created: list[str] = []
        self.status: list[Any] = []
        self.refuse_edits = False
        self.before_apply: Any = None  # async callable run before an edit is applied
        # set to an unset Event to hold back the didChange of applied edits until it is set
        # (Eglot sends it only after an idle delay)
        self.hold_changes: asyncio.Event | None = None
        self._held: set[asyncio.Task[None]] = set()
        self._opened: set[str] = set()
        self.questions: list[types.ShowMessageRequestParams] = []
        # the user's answers to window/showMessageRequest, in order (None: closed unanswered);
        # a callable is called with the question first (the user does something meanwhile)
        self.answers: list[Any] = []  # str, None or a callable

    # -- documents -------------------------------------------------------------------------

    def open(self, uri: str, text: str, language: str = "python") -> Doc:
        doc = Doc(uri, text, 1, language)
        self.docs[uri] = doc
        self._opened.add(uri)
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                types.TextDocumentItem(uri=uri, language_id=language, version=1, text=text)
            )
        )
        return doc

    def type_text(self, uri: str, rng: types.Range, new_text: str) -> None:
        """The user edits the document (incremental didChange)."""
        doc = self.docs[uri]
        doc.text = apply_text_edits(doc.text, [types.TextEdit(rng, new_text)])
        doc.version += 1
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=doc.version),
                content_changes=[types.TextDocumentContentChangePartial(range=rng, text=new_text)],
            )
        )

    async def forget(self) -> None:
        """End a test on a server the next test reuses: close the documents it opened (the
        server forgets them), wait for what the server sent before that, and clear what this
        editor and its client recorded, so the next test starts as on a fresh session."""
        pending = self.client.protocol._request_futures
        for msg_id in [i for i, f in pending.items() if not f.done()]:  # a failed test's run
            self.client.cancel_request(types.CancelParams(id=msg_id))
        for uri in sorted(self._opened):
            self._settle(self.docs[uri])
            self.client.text_document_did_close(
                types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri))
            )
        # a round trip: every message the server sent before it has been handled
        nowhere = types.Range(types.Position(0, 0), types.Position(0, 0))
        await asyncio.wait_for(
            self.client.text_document_code_action_async(
                types.CodeActionParams(
                    types.TextDocumentIdentifier("file:///ladder-e2e/not-open.py"),
                    nowhere,
                    types.CodeActionContext(diagnostics=[]),
                )
            ),
            10,
        )
        for task in self._held:
            task.cancel()
        self._start_clean()
        client = self.client
        client.messages.clear()
        client.log_messages.clear()
        client.shown_documents.clear()
        client.progress_reports.clear()
        client.diagnostics.clear()
        self.arrivals.clear()
        client._last_log_index = 0
        client._configuration = {"": {}}

    def _settle(self, doc: Doc) -> None:
        """A keystroke that changes nothing, before closing: when the editor's echo of an
        applied edit reached the server before its answer to applyEdit, the server still waits
        for an echo of the version it sent against, and the next test's document, reopened at
        version 1, would wait `deliveries.ECHO_TIMEOUT` for it. Like the user's next
        keystroke, this change ends that wait."""
        doc.version += 1
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(
                    uri=doc.uri, version=doc.version
                ),
                content_changes=[types.TextDocumentContentChangeWholeDocument(text=doc.text)],
            )
        )

    # -- requests --------------------------------------------------------------------------

    async def actions(
        self,
        uri: str,
        rng: types.Range,
        diagnostics: list[types.Diagnostic] | None = None,
        only: list[str] | None = None,
    ) -> list[types.CodeAction]:
        result = await self.client.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                range=rng,
                context=types.CodeActionContext(diagnostics=diagnostics or [], only=only),
            )
        )
        return [a for a in result or [] if isinstance(a, types.CodeAction)]

    async def execute(self, action: types.CodeAction) -> Any:
        assert action.command is not None
        return await self.client.workspace_execute_command_async(
            types.ExecuteCommandParams(
                command=action.command.command, arguments=action.command.arguments
            )
        )

    async def command(self, name: str, *arguments: Any) -> Any:
        return await self.client.workspace_execute_command_async(
            types.ExecuteCommandParams(command=name, arguments=list(arguments) or None)
        )

    @property
    def shown(self) -> list[str]:
        return [d.uri for d in self.client.shown_documents]

    def messages(self) -> list[str]:
        return [m.message for m in self.client.messages]

    def progress_begun(self, skip: int = 0) -> bool:
        """Whether the progress of a run past the first `skip` runs (tokens) has begun. Safe
        from a fake's thread (`Scripted.answer_after`): progress begins when the client
        accepts the token, beside the run, so a fast run may end before it shows."""
        runs = list(self.client.progress_reports.values())[skip:]
        return any(
            reports and isinstance(reports[0], types.WorkDoneProgressBegin) for reports in runs
        )

    async def progress_token(self, timeout: float = 30) -> str:
        """The token of the session's one run, once its progress has begun."""

        async def begun() -> None:
            while not self.progress_begun():  # noqa: ASYNC110
                await asyncio.sleep(0.005)

        await asyncio.wait_for(begun(), timeout)
        (token,) = list(self.client.progress_reports)
        return str(token)

    def progress_messages(self) -> list[str]:
        """The messages of every `$/progress` report the server sent, in order."""
        return [
            r.message or ""
            for reports in self.client.progress_reports.values()
            for r in reports
            if isinstance(r, types.WorkDoneProgressReport)
        ]

    # -- client features -------------------------------------------------------------------

    async def _on_apply(
        self, params: types.ApplyWorkspaceEditParams
    ) -> types.ApplyWorkspaceEditResult:
        if self.before_apply is not None:
            await self.before_apply()
        self.applied.append(params)
        if self.refuse_edits:
            return types.ApplyWorkspaceEditResult(applied=False, failure_reason="refused")
        edit = params.edit
        for change in edit.document_changes or []:
            if isinstance(change, types.CreateFile):
                self.created.append(change.uri)
                self.docs.setdefault(change.uri, Doc(change.uri, "", 0, "python"))
                continue
            if not isinstance(change, types.TextDocumentEdit):
                continue
            uri = change.text_document.uri
            doc = self.docs.get(uri)
            if doc is None:
                return types.ApplyWorkspaceEditResult(applied=False, failure_reason="unknown doc")
            version = change.text_document.version
            if version is not None and version != doc.version:
                return types.ApplyWorkspaceEditResult(applied=False, failure_reason="stale")
            edits = [  # an annotated edit is applied as VS Code does: like a plain one
                types.TextEdit(e.range, e.new_text)
                for e in change.edits
                if isinstance(e, (types.TextEdit, types.AnnotatedTextEdit))
            ]
            self._apply(doc, edits)
        for uri, edits in (edit.changes or {}).items():
            self._apply(self.docs[uri], list(edits))
        await asyncio.sleep(0)
        return types.ApplyWorkspaceEditResult(applied=True)

    def _apply(self, doc: Doc, edits: list[types.TextEdit]) -> None:
        doc.text = apply_text_edits(doc.text, edits)
        doc.version += 1
        if doc.version <= 1:
            return
        change = types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=doc.uri, version=doc.version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=doc.text)],
        )
        hold = self.hold_changes
        if hold is None:
            self.client.text_document_did_change(change)
            return

        async def send_later() -> None:
            await hold.wait()
            self.client.text_document_did_change(change)

        task = asyncio.ensure_future(send_later())
        self._held.add(task)
        task.add_done_callback(self._held.discard)

    def _on_status(self, params: Any) -> None:
        self.status.append(to_plain(params))

    def _on_question(self, params: types.ShowMessageRequestParams) -> Any:
        self.questions.append(params)
        answer = self.answers.pop(0) if self.answers else None
        if callable(answer):
            answer = answer(params)
        offered = [a.title for a in params.actions or []]
        if answer is None:
            return None
        assert answer in offered, (answer, offered)
        return types.MessageActionItem(title=answer)


def to_plain(obj: Any) -> Any:
    """pygls hands unknown notification params over as namedtuples; tests want dicts."""
    if hasattr(obj, "_asdict"):
        return {k: to_plain(v) for k, v in obj._asdict().items()}
    if isinstance(obj, dict):
        return {k: to_plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_plain(v) for v in obj]
    return obj
