"""`lsp_text.open_document` / `path_of` / `uri_for_path` on a real pygls Workspace: an open
document is found whatever the spelling of its URI's escapes (the end-to-end cases are in
tests/e2e/test_uri_paths.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types
from pygls.workspace import Workspace

from ladder_lsp.lsp.text import document_for_path, open_document, path_of, uri_for_path
from tests.e2e.test_uri_paths import lower_hex_uri, pathlib_uri, vscode_uri

SPELLINGS = [vscode_uri, lower_hex_uri, pathlib_uri]


def workspace_with(uri: str, text: str = "x = 1\n") -> Workspace:
    ws = Workspace(None)
    item = types.TextDocumentItem(uri=uri, language_id="python", version=3, text=text)
    ws.put_text_document(item)
    return ws


@pytest.mark.parametrize("opened", SPELLINGS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("asked", SPELLINGS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("path", ["/tmp/my project/utils.py", "/tmp/café/café.py", "/tmp/100%.py"])
def test_an_open_document_is_found_under_any_spelling(
    opened: object, asked: object, path: str
) -> None:
    assert callable(opened) and callable(asked)
    ws = workspace_with(opened(path))
    doc = open_document(ws, asked(path))
    assert doc is not None and doc.version == 3
    assert doc.uri == opened(path), "the document keeps the client's spelling"


def test_a_drive_letter_is_the_same_file_in_any_case_and_spelling() -> None:
    ws = workspace_with("file:///c%3A/Users/me/my%20project/a.py")
    for uri in (
        "file:///C:/Users/me/my%20project/a.py",
        "file:///c:/Users/me/my%20project/a.py",
        "file:///C%3a/Users/me/my%20project/a.py",
    ):
        assert open_document(ws, uri) is not None, uri
    assert path_of("file:///c%3A/Users/me/my%20project/a.py") == "c:/Users/me/my project/a.py"


def test_a_document_that_is_not_open_is_none_and_the_disk_is_not_read(tmp_path: Path) -> None:
    on_disk = tmp_path / "my project" / "a.py"
    on_disk.parent.mkdir()
    on_disk.write_text("y = 2\n")
    ws = workspace_with(vscode_uri(str(tmp_path / "other.py")))
    assert open_document(ws, vscode_uri(str(on_disk))) is None
    assert document_for_path(ws, on_disk) is None
    assert open_document(ws, "untitled:Untitled-1") is None


def test_path_of_decodes_file_uris_and_keeps_other_uris() -> None:
    assert path_of("file:///tmp/my%20project/caf%c3%a9/100%25.py") == "/tmp/my project/café/100%.py"
    assert path_of("untitled:Untitled-1") == "untitled:Untitled-1"


def test_uri_for_path_uses_the_clients_spelling_when_the_file_is_open(tmp_path: Path) -> None:
    path = tmp_path / "café" / "test_cart.py"
    client_uri = lower_hex_uri(str(path))
    ws = workspace_with(client_uri)
    assert uri_for_path(ws, path) == client_uri
    doc = document_for_path(ws, path)
    assert doc is not None and doc.uri == client_uri


def test_uri_for_path_encodes_a_file_that_is_not_open(tmp_path: Path) -> None:
    path = tmp_path / "100%" / "test_cart.py"
    uri = uri_for_path(Workspace(None), path)
    assert uri == path.as_uri()
    assert path_of(uri) == str(path)
