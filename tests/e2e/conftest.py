"""End-to-end fixtures: Ladder as a subprocess over stdio (pytest-lsp), a real fake LM Studio
on 127.0.0.1, and a client that applies `workspace/applyEdit` to its own copy of the text."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from tests.e2e.editor import Editor, fix_code_action_structuring
from tests.fakes.lmstudio import FakeLMStudio


def server_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "LADDER_"))}
    env["XDG_CACHE_HOME"] = str(tmp / "cache")
    env["XDG_STATE_HOME"] = str(tmp / "state")
    return env


@pytest.fixture
def fake_local() -> Iterator[FakeLMStudio]:
    with FakeLMStudio() as fake:
        yield fake


def with_marked_settings(request: pytest.FixtureRequest, base: dict[str, Any]) -> dict[str, Any]:
    """`@pytest.mark.settings({...})` on a test deep-merges into its initializationOptions."""
    from ladder_lsp.settings import merge_raw

    marker = request.node.get_closest_marker("settings")
    return merge_raw(base, marker.args[0]) if marker else base


@pytest.fixture
def init_options(
    request: pytest.FixtureRequest, fake_local: FakeLMStudio, tmp_path: Path
) -> dict[str, Any]:
    """Per-test settings (initializationOptions); see `with_marked_settings`."""
    return with_marked_settings(request, local_only_settings(fake_local, tmp_path))


def local_only_settings(fake_local: FakeLMStudio, tmp_path: Path) -> dict[str, Any]:
    """The e2e tests' settings: the fake LM Studio, a ledger of the test's own, no Claude."""
    return {
        "local": {"baseUrl": fake_local.base_url, "embeddedModel": "off"},
        "ledger": {"path": str(tmp_path / "ledger.sqlite3")},
        "routing": {"escalateOnFailure": False},
    }


@pytest_lsp.fixture(
    config=ClientServerConfig(
        server_command=[sys.executable, "-m", "ladder_lsp"],
        server_env=server_env(Path(os.environ.get("TMPDIR", "/tmp")) / "ladder-e2e"),
    )
)
async def client(
    lsp_client: LanguageClient, init_options: dict[str, Any], request: pytest.FixtureRequest
) -> AsyncIterator[None]:
    fix_code_action_structuring(lsp_client)
    lsp_client.editor = Editor(lsp_client)  # type: ignore[attr-defined]
    caps = client_capabilities("visual-studio-code")
    if request.node.get_closest_marker("without_apply_edit") and caps.workspace:
        caps.workspace.apply_edit = False  # a client that cannot apply server edits
    await lsp_client.initialize_session(
        types.InitializeParams(capabilities=caps, initialization_options=init_options)
    )
    yield
    await lsp_client.shutdown_session()


@pytest.fixture
def lsp(client: LanguageClient) -> Editor:
    """The editor wrapped around the session's client (registered before initialize)."""
    editor: Editor = client.editor  # type: ignore[attr-defined]
    return editor
