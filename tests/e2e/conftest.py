"""End-to-end fixtures: Ladder as a subprocess over stdio (pytest-lsp), a real fake LM Studio
on 127.0.0.1, and a client that applies `workspace/applyEdit` to its own copy of the text.

Starting a server costs about a second of CPU, so tests share one: the tests with the standard
settings share `standard_client` across modules, a module with settings of its own
(`module_options`) shares `module_client`. Each test starts where a fresh session would: the
documents it opened are closed and the editor's and client's records cleared after it
(`Editor.forget`), and the shared fakes are reset before it (`FakeServer.reset`). A test whose
session must be its own gets a fresh server, fakes and ledger, as every test did before:
one with `@pytest.mark.settings`, `@pytest.mark.without_apply_edit`,
`@pytest.mark.without_change_annotations` or `@pytest.mark.fresh_server("why")` (it reads
the ledger, changes the session's settings or model, or stops a peer). All of them run in one
event loop (the session's), which the shared servers' pipes belong to.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import pytest_asyncio
from lsprotocol import types
from pygls.client import JsonRPCClient
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from tests.e2e.editor import Editor
from tests.fakes import FakeServer
from tests.fakes.lmstudio import FakeLMStudio

FRESH_MARKERS = ("settings", "without_apply_edit", "without_change_annotations", "fresh_server")


def server_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "LADDER_"))}
    env["XDG_CACHE_HOME"] = str(tmp / "cache")
    env["XDG_STATE_HOME"] = str(tmp / "state")
    return env


SERVER = ClientServerConfig(
    server_command=[sys.executable, "-m", "ladder_lsp"],
    server_env=server_env(Path(os.environ.get("TMPDIR", "/tmp")) / "ladder-e2e"),
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "fresh_server(why): the end-to-end test gets a server of its own"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every end-to-end test runs in the session's event loop (the shared servers' loop)."""
    here = Path(__file__).parent
    in_session_loop = pytest.mark.asyncio(loop_scope="session")
    for item in items:
        if pytest_asyncio.is_async_test(item) and item.path.is_relative_to(here):
            item.add_marker(in_session_loop, append=False)


class Servers:
    """Ladder subprocesses for the sessions of the run. The next one is spawned ahead, so
    it imports while the current test runs, and is initialized only when a session takes it:
    every session is still a process of its own, never initialized before. An ended session's
    process exits in the background; the run waits for all of them at its end."""

    def __init__(self) -> None:
        self._next: asyncio.Future[JsonRPCClient] | None = None
        self._exiting: set[asyncio.Future[None]] = set()

    async def start(
        self,
        options: dict[str, Any],
        *,
        apply_edit: bool = True,
        change_annotations: bool = True,
        root_uri: str | None = None,
        folders: list[types.WorkspaceFolder] | None = None,
    ) -> LanguageClient:
        """A session initialized like VS Code with `options` as initializationOptions; its
        client carries an `Editor` (registered before initialize)."""
        spawned = self._next or asyncio.ensure_future(SERVER.start())
        self._next = asyncio.ensure_future(SERVER.start())
        client = await spawned
        assert isinstance(client, LanguageClient)
        client.editor = Editor(client)  # type: ignore[attr-defined]
        caps = client_capabilities("visual-studio-code")
        if not apply_edit and caps.workspace:
            caps.workspace.apply_edit = False  # a client that cannot apply server edits
        if not change_annotations and caps.workspace and caps.workspace.workspace_edit:
            # a client without its own refactor preview (Neovim, Eglot)
            caps.workspace.workspace_edit.change_annotation_support = None
        await client.initialize_session(
            types.InitializeParams(
                capabilities=caps,
                initialization_options=options,
                root_uri=root_uri,
                workspace_folders=folders,
            )
        )
        return client

    async def end(self, client: LanguageClient) -> None:
        """`shutdown` (answered once the server has closed its engine), then `exit`."""
        if client.error is None:
            await client.shutdown_async(None)
            client.exit(None)
        exiting = asyncio.ensure_future(client.stop())
        self._exiting.add(exiting)

    async def close(self) -> None:
        """Stop the spare, and wait (bounded: a server that does not exit is a bug) for the
        ended sessions' processes to exit."""
        if self._next is not None:
            spare = await self._next
            if spare._server is not None:
                spare._server.terminate()
            await spare.stop()
        await asyncio.wait_for(asyncio.gather(*self._exiting), 30)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def servers() -> AsyncIterator[Servers]:
    pool = Servers()
    yield pool
    await pool.close()


def local_only_settings(fake_local: FakeLMStudio, ledger_dir: Path) -> dict[str, Any]:
    """The e2e tests' settings: the fake LM Studio, a ledger in `ledger_dir`, no Claude."""
    return {
        "local": {"baseUrl": fake_local.base_url, "embeddedModel": "off"},
        "ledger": {"path": str(ledger_dir / "ledger.sqlite3")},
        "routing": {"escalateOnFailure": False},
    }


def with_marked_settings(request: pytest.FixtureRequest, base: dict[str, Any]) -> dict[str, Any]:
    """`@pytest.mark.settings({...})` on a test deep-merges into its initializationOptions."""
    from ladder_lsp.settings import merge_raw

    marker = request.node.get_closest_marker("settings")
    return merge_raw(base, marker.args[0]) if marker else base


# -- the fake local model -------------------------------------------------------------------


@pytest.fixture(scope="session")
def shared_fake_local() -> Iterator[FakeLMStudio]:
    """The fake behind the shared servers (reset before each test that uses it)."""
    with FakeLMStudio() as fake:
        yield fake


F = TypeVar("F", bound=FakeServer)


@contextlib.contextmanager
def fake_for(request: pytest.FixtureRequest, shared: F, new: Callable[[], F]) -> Iterator[F]:
    """The test's fake peer: with a fresh server, one of its own (the test may stop it); on a
    shared server, the shared fake, reset."""
    if needs_fresh_server(request.node):
        with new() as fake:
            yield fake
    else:
        shared.reset()
        yield shared


@pytest.fixture
def fake_local(
    request: pytest.FixtureRequest, shared_fake_local: FakeLMStudio
) -> Iterator[FakeLMStudio]:
    with fake_for(request, shared_fake_local, FakeLMStudio) as fake:
        yield fake


# -- settings ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def standard_options(
    shared_fake_local: FakeLMStudio, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    return local_only_settings(shared_fake_local, tmp_path_factory.mktemp("ledger"))


@pytest.fixture(scope="module")
def module_options() -> dict[str, Any] | None:
    """Settings for a shared server of the module's own; None: the module's tests share the
    standard server. A module whose settings differ overrides this and `init_options`."""
    return None


@pytest.fixture
def init_options(
    request: pytest.FixtureRequest, fake_local: FakeLMStudio, tmp_path: Path
) -> dict[str, Any]:
    """A fresh server's settings: its own fake and ledger, and the test's
    `@pytest.mark.settings` (see `with_marked_settings`)."""
    return with_marked_settings(request, local_only_settings(fake_local, tmp_path))


# -- servers ----------------------------------------------------------------------------------


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def standard_client(
    servers: Servers, standard_options: dict[str, Any]
) -> AsyncIterator[LanguageClient]:
    """The server the tests with the standard settings share, across modules."""
    client = await servers.start(standard_options)
    yield client
    await servers.end(client)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def module_client(
    servers: Servers, module_options: dict[str, Any] | None
) -> AsyncIterator[LanguageClient]:
    """The server of a module with settings of its own (`module_options`)."""
    assert module_options is not None
    client = await servers.start(module_options)
    yield client
    await servers.end(client)


@pytest_asyncio.fixture(loop_scope="session")
async def fresh_client(
    request: pytest.FixtureRequest, servers: Servers, init_options: dict[str, Any]
) -> AsyncIterator[LanguageClient]:
    marked = request.node.get_closest_marker
    client = await servers.start(
        init_options,
        apply_edit=marked("without_apply_edit") is None,
        change_annotations=marked("without_change_annotations") is None,
    )
    yield client
    await servers.end(client)


def needs_fresh_server(node: pytest.Item) -> bool:
    return any(node.get_closest_marker(name) for name in FRESH_MARKERS)


@pytest.fixture
def client(
    request: pytest.FixtureRequest,
    fake_local: FakeLMStudio,
    module_options: dict[str, Any] | None,
) -> LanguageClient:
    """The test's session: a fresh server (`FRESH_MARKERS`), the module's own shared server,
    or the standard one. Depends on `fake_local` so the fake is reset before it is used."""
    if needs_fresh_server(request.node):
        name = "fresh_client"
    else:
        name = "standard_client" if module_options is None else "module_client"
    found: LanguageClient = request.getfixturevalue(name)
    return found


@pytest_asyncio.fixture(loop_scope="session")
async def lsp(client: LanguageClient) -> AsyncIterator[Editor]:
    """The editor wrapped around the session's client; after the test it forgets what the
    test opened and saw, for the next test on the same server."""
    editor: Editor = client.editor  # type: ignore[attr-defined]
    yield editor
    await editor.forget()
