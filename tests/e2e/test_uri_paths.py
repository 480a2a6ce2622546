"""Files whose path needs percent-encoding in a URI: a space, a non-ASCII letter, `%`.

Clients spell the same file differently: VS Code (vscode-uri) escapes every reserved
character in upper-case hex, lower-cases a drive letter and escapes its colon
(`file:///c%3A/my%20project/caf%C3%A9.py`); Python's `Path.as_uri()` keeps the colon; other
clients and hand-written URIs use lower-case hex (`caf%c3%a9`). pygls files open documents under
the *unquoted* URI, so a lookup with the URI as sent found nothing: no code actions at all.
Whatever the spelling, the document the client opened is the one Ladder lists actions for,
runs them on, edits, and writes tests next to; the CLI takes such paths too.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import AsyncIterator, Callable
from pathlib import Path, PureWindowsPath
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
import pytest_asyncio
from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.e2e.conftest import Servers, local_only_settings
from tests.e2e.editor import Editor
from tests.e2e.test_cli import ladder
from tests.e2e.test_run_local import CART, REFACTORED_TOTAL, TOTAL_RANGE, by_title, refactor_total
from tests.fakes.lmstudio import FakeLMStudio, Reply

FOLDERS = ["my project", "café", "100%"]
AREA_RANGE = types.Range(types.Position(15, 0), types.Position(17, 0))
TESTS_ANSWER = (
    "```python\nimport cart\n\n\ndef test_area_of_unit_circle():\n"
    "    assert round(cart.area(1), 5) == 3.14159\n```"
)
REFACTORED_CART = CART.replace(
    "        for i in items:\n            t = t + i.price * i.qty\n",
    "        for item in items:\n            t += item.price * item.qty\n",
)

_UNRESERVED = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~/")


def _escaped(path: str, hex_format: str) -> str:
    return "".join(
        ch if ch in _UNRESERVED else "".join(hex_format.format(b) for b in ch.encode())
        for ch in path
    )


def vscode_uri(path: str, hex_format: str = "%{:02X}") -> str:
    """`URI.file(path).toString()` in vscode-uri: a drive letter lower-cased and its colon
    escaped, every byte outside the unreserved set escaped."""
    posix = path.replace("\\", "/")
    if len(posix) > 1 and posix[1] == ":":
        posix = "/" + posix[0].lower() + posix[1:]
    return "file://" + _escaped(posix, hex_format)


def lower_hex_uri(path: str) -> str:
    """The same with lower-case escapes (`caf%c3%a9`, `%3a`), as other clients write them."""
    return vscode_uri(path, "%{:02x}")


def pathlib_uri(path: str) -> str:
    return Path(path).as_uri()


ENCODERS: dict[str, Callable[[str], str]] = {
    "vscode": vscode_uri,
    "lower-hex": lower_hex_uri,
    "pathlib": pathlib_uri,
}


def path_in(uri: str) -> Path:
    """The path a file URI names, decoded independently of Ladder and pygls."""
    return Path(unquote(urlsplit(uri).path))


def test_the_encoders_spell_the_path_as_their_clients_do() -> None:
    path = "/tmp/my project/café/100%.py"
    assert vscode_uri(path) == "file:///tmp/my%20project/caf%C3%A9/100%25.py"
    assert lower_hex_uri(path) == "file:///tmp/my%20project/caf%c3%a9/100%25.py"
    assert pathlib_uri(path) == "file:///tmp/my%20project/caf%C3%A9/100%25.py"
    assert vscode_uri("C:\\Users\\me\\my project\\a.py") == (
        "file:///c%3A/Users/me/my%20project/a.py"
    )
    assert all(path_in(encode(path)) == Path(path) for encode in ENCODERS.values())


# -- sessions whose workspace folders need escaping --------------------------------------


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The workspace folders of the module's sessions: one per name that needs escaping."""
    parent = tmp_path_factory.mktemp("workspace")
    for name in FOLDERS:
        (parent / name).mkdir()
    return {name: parent / name for name in FOLDERS}


@pytest.fixture(params=FOLDERS)
def project(request: pytest.FixtureRequest, workspace: dict[str, Path]) -> Path:
    """The test's workspace folder as it finds it: `cart.py` and nothing else."""
    folder = workspace[request.param]
    for child in folder.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()
    (folder / "cart.py").write_text(CART)
    return folder


@pytest.fixture(scope="module", params=list(ENCODERS))
def encode(request: pytest.FixtureRequest) -> Callable[[str], str]:
    return ENCODERS[request.param]


@pytest.fixture(scope="module")
def folder_options(
    shared_fake_local: FakeLMStudio, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    return local_only_settings(shared_fake_local, tmp_path_factory.mktemp("ledger"))


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def folder_client(
    servers: Servers,
    folder_options: dict[str, Any],
    workspace: dict[str, Path],
    encode: Callable[[str], str],
) -> AsyncIterator[LanguageClient]:
    """A session whose workspace folders are the `workspace` folders, named in the encoder's
    spelling (a client's multi-root workspace; the first one is the root)."""
    folders = [types.WorkspaceFolder(uri=encode(str(p)), name=p.name) for p in workspace.values()]
    client = await servers.start(folder_options, root_uri=folders[0].uri, folders=folders)
    yield client
    await servers.end(client)


@pytest_asyncio.fixture(loop_scope="session")
async def editor(
    folder_client: LanguageClient, project: Path, fake_local: FakeLMStudio
) -> AsyncIterator[Editor]:
    """The session's editor, on a project reset for the test and a reset fake model."""
    found: Editor = folder_client.editor  # type: ignore[attr-defined]
    yield found
    await found.forget()


async def test_listing_offers_the_actions(
    editor: Editor, project: Path, encode: Callable[[str], str]
) -> None:
    uri = encode(str(project / "cart.py"))
    editor.open(uri, CART)
    actions = await editor.actions(uri, TOTAL_RANGE)
    titles = [a.title for a in actions]
    assert "Refactor with local model" in titles
    assert "Write tests with local model" in titles
    refactor = by_title(actions, "Refactor with local model")
    assert refactor.command is not None and refactor.command.arguments is not None
    assert refactor.command.arguments[0]["uri"] == uri, "the action names the client's URI"


async def test_empty_cursor_finds_the_enclosing_function(
    editor: Editor, project: Path, encode: Callable[[str], str]
) -> None:
    uri = encode(str(project / "cart.py"))
    editor.open(uri, CART)
    cursor = types.Position(10, 8)
    refactor = by_title(
        await editor.actions(uri, types.Range(cursor, cursor)), "Refactor with local model"
    )
    assert refactor.command is not None and refactor.command.arguments is not None
    rng = refactor.command.arguments[0]["range"]
    assert (rng["start"]["line"], rng["end"]["line"]) == (7, 12)


async def test_refactor_applies_the_edit(
    editor: Editor, fake_local: FakeLMStudio, project: Path, encode: Callable[[str], str]
) -> None:
    uri = encode(str(project / "cart.py"))
    fake_local.push(Reply(f"```python\n{REFACTORED_TOTAL}```"))
    editor.open(uri, CART)
    result = await refactor_total(editor, uri)
    assert result["applied"] is True, result
    assert editor.docs[uri].text == REFACTORED_CART
    (applied,) = editor.applied
    (change,) = applied.edit.document_changes or []
    assert isinstance(change, types.TextDocumentEdit)
    assert change.text_document.uri == uri


async def test_tests_action_creates_the_test_file_beside_the_source(
    editor: Editor, fake_local: FakeLMStudio, project: Path, encode: Callable[[str], str]
) -> None:
    uri = encode(str(project / "cart.py"))
    fake_local.push(Reply(TESTS_ANSWER))
    editor.open(uri, CART)
    result = await editor.execute(
        by_title(await editor.actions(uri, AREA_RANGE), "Write tests with local model")
    )
    assert result["applied"] is True, result
    (created,) = editor.created
    assert path_in(created) == project / "test_cart.py"
    assert "def test_area_of_unit_circle" in editor.docs[created].text


async def test_tests_action_extends_the_test_file_open_in_the_editor(
    editor: Editor, fake_local: FakeLMStudio, project: Path, encode: Callable[[str], str]
) -> None:
    """The test file is open under the client's spelling with unsaved changes: the new tests
    join the buffer (its text, its version, its URI), not the older copy on disk."""
    test_path = project / "test_cart.py"
    test_path.write_text("import cart\n")
    unsaved = "import cart\n\n\ndef test_empty_area():\n    assert cart.area(0) == 0\n"
    test_uri = encode(str(test_path))
    editor.open(test_uri, unsaved)
    uri = encode(str(project / "cart.py"))
    editor.open(uri, CART)
    fake_local.push(Reply(TESTS_ANSWER))
    result = await editor.execute(
        by_title(await editor.actions(uri, AREA_RANGE), "Write tests with local model")
    )
    assert result["applied"] is True, result
    assert editor.created == []
    assert editor.docs[test_uri].text == (
        f"{unsaved}\n\ndef test_area_of_unit_circle():\n"
        "    assert round(cart.area(1), 5) == 3.14159\n"
    )
    assert test_path.read_text() == "import cart\n", "the editor saves, not Ladder"


# -- Windows drive letters (the document is open: no file on this disk is needed) --------

DRIVE_PATH = PureWindowsPath("C:/Users/me/my project/café/cart.py")


@pytest.mark.parametrize(
    "uri",
    [vscode_uri(str(DRIVE_PATH)), lower_hex_uri(str(DRIVE_PATH)), DRIVE_PATH.as_uri()],
    ids=["vscode", "lower-hex", "pathlib"],
)
async def test_drive_letter_uris_are_listed(lsp: Editor, uri: str) -> None:
    lsp.open(uri, CART)
    titles = [a.title for a in await lsp.actions(uri, TOTAL_RANGE)]
    assert "Refactor with local model" in titles


@pytest.mark.parametrize(
    "uri",
    [vscode_uri(str(DRIVE_PATH)), lower_hex_uri(str(DRIVE_PATH)), DRIVE_PATH.as_uri()],
    ids=["vscode", "lower-hex", "pathlib"],
)
async def test_drive_letter_uris_are_edited(
    lsp: Editor, fake_local: FakeLMStudio, uri: str
) -> None:
    fake_local.push(Reply(f"```python\n{REFACTORED_TOTAL}```"))
    lsp.open(uri, CART)
    result = await refactor_total(lsp, uri)
    assert result["applied"] is True, result
    assert lsp.docs[uri].text == REFACTORED_CART


# -- the CLI, given the path as a shell user types it --------------------------------------


def ladder_in(cwd: Path, *args: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    """The CLI run in `cwd`, with its ledger and HOME in the test's own `tmp`."""
    return ladder(*args, tmp=tmp, cwd=cwd)


def test_cli_apply_edits_the_file(project: Path, fake_local: FakeLMStudio, tmp_path: Path) -> None:
    fake_local.push(Reply(f"```python\n{REFACTORED_TOTAL}```"))
    where = f"{project.name}/cart.py:8-12"
    proc = ladder_in(
        project.parent,
        "run",
        "refactor",
        where,
        "--apply",
        "--base-url",
        fake_local.base_url,
        tmp=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert (project / "cart.py").read_text() == REFACTORED_CART


def test_cli_tests_action_writes_the_test_file_beside_the_source(
    project: Path, fake_local: FakeLMStudio, tmp_path: Path
) -> None:
    fake_local.push(Reply(TESTS_ANSWER))
    where = f"{project.name}/cart.py:15-16"
    proc = ladder_in(
        project.parent,
        "run",
        "tests",
        where,
        "--apply",
        "--base-url",
        fake_local.base_url,
        tmp=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in project.iterdir()) == ["cart.py", "test_cart.py"]
    assert "def test_area_of_unit_circle" in (project / "test_cart.py").read_text()


@pytest.mark.skipif(shutil.which("patch") is None, reason="GNU patch is not installed")
def test_cli_diff_applies_with_patch(
    project: Path, fake_local: FakeLMStudio, tmp_path: Path
) -> None:
    """The printed diff is what `git diff` would print: GNU patch reads a file name up to a
    tab, so a name with a space needs the tab git puts after it."""
    fake_local.push(Reply(f"```python\n{REFACTORED_TOTAL}```"))
    where = f"{project.name}/cart.py:8-12"
    url = fake_local.base_url
    proc = ladder_in(project.parent, "run", "refactor", where, "--base-url", url, tmp=tmp_path)
    assert proc.returncode == 0, proc.stderr
    patched = subprocess.run(
        ["patch", "-p1", "--batch", "--forward"],
        input=proc.stdout,
        capture_output=True,
        text=True,
        cwd=project.parent,
        timeout=30,
    )
    assert patched.returncode == 0, patched.stdout + patched.stderr
    assert (project / "cart.py").read_text() == REFACTORED_CART
