"""A pygls server that does nothing but answer: the floor under Ladder's own start-up and
code-action latency, measured in the same run with the same client.

It answers `initialize` like any pygls 2 server, keeps documents in pygls' workspace (so
`didChange` costs what pygls costs), and lists four constant CodeActions shaped like Ladder's
(title, kind, tags, a `ladder.run` command carrying the range and document version) without
looking at the text. Its `ladder.run` is the floor under a run: after `bench.backend` named
a URL and a body, it streams that POST with httpx until `data: [DONE]` and sends an applyEdit
that changes nothing, so what remains is JSON-RPC, stdio, pygls' dispatch and one streaming
call. `python -m tests.benchmarks.minimal_server` serves over stdio.
"""

from __future__ import annotations

from typing import Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer

server = LanguageServer("minimal-pygls", "0")
backend: dict[str, Any] = {}  # "url", "body" and the httpx client, once `bench.backend` ran

TITLES = (
    ("Refactor with local model", "refactor", types.CodeActionKind.RefactorRewrite),
    ("Add docstring with local model", "docstring", types.CodeActionKind.RefactorRewrite),
    ("Explain with local model", "explain", types.CodeActionKind.Source),
    ("Write tests with local model", "tests", types.CodeActionKind.Refactor),
)


@server.feature(
    types.TEXT_DOCUMENT_CODE_ACTION,
    types.CodeActionOptions(code_action_kinds=[kind for _, _, kind in TITLES]),
)
def code_actions(ls: LanguageServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    doc = ls.workspace.text_documents.get(params.text_document.uri)
    version = doc.version if doc is not None else None
    rng = params.range
    payload_range: dict[str, Any] = {
        "start": {"line": rng.start.line, "character": rng.start.character},
        "end": {"line": rng.end.line, "character": rng.end.character},
    }
    return [
        types.CodeAction(
            title=title,
            kind=kind,
            command=types.Command(
                title=title,
                command="ladder.run",
                arguments=[
                    {
                        "action": action,
                        "uri": params.text_document.uri,
                        "range": payload_range,
                        "version": version,
                    }
                ],
            ),
            tags=[types.CodeActionTag.LlmGenerated],
        )
        for title, action, kind in TITLES
    ]


@server.command("bench.backend")
def set_backend(ls: LanguageServer, *args: Any) -> None:
    import httpx

    backend.update(url=args[0], body=args[1], http=httpx.AsyncClient())


@server.command("ladder.run")
async def run(ls: LanguageServer, *args: Any) -> dict[str, Any]:
    async with backend["http"].stream(
        "POST", backend["url"], json=backend["body"], timeout=600.0
    ) as resp:
        async for _line in resp.aiter_lines():  # to the end, as Ladder reads it
            pass
    where = types.Position(0, 0)
    doc = types.OptionalVersionedTextDocumentIdentifier(uri=args[0]["uri"], version=None)
    change = types.TextDocumentEdit(doc, [types.TextEdit(types.Range(where, where), "")])
    edit = types.WorkspaceEdit(document_changes=[change])
    await ls.workspace_apply_edit_async(types.ApplyWorkspaceEditParams(edit=edit))
    return {"applied": True}


if __name__ == "__main__":
    server.start_io()
