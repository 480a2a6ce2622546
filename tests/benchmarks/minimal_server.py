"""A pygls server that does nothing but answer: the floor under Ladder's own start-up and
code-action latency, measured in the same run with the same client.

It answers `initialize` like any pygls 2 server, keeps documents in pygls' workspace (so
`didChange` costs what pygls costs), and lists four constant CodeActions shaped like Ladder's
(title, kind, tags, a `ladder.run` command carrying the range and document version) without
looking at the text. `python -m tests.benchmarks.minimal_server` serves over stdio.
"""

from __future__ import annotations

from typing import Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer

server = LanguageServer("minimal-pygls", "0")

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


if __name__ == "__main__":
    server.start_io()
