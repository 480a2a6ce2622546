"""A benchmark session: a Ladder server process, initialized like VS Code would, pointed at a
backend, plus the helpers every figure uses (list actions, run one, apply its edit)."""

from __future__ import annotations

import asyncio
import contextlib
import re
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .lsp import (
    LspClient,
    LspError,
    Message,
    server_env,
    vscode_capabilities,
    with_repo_on_path,
)

TOKENS_REPORT = re.compile(r"\b\d+ tok\b")


@dataclass
class Bench:
    """What every section gets: where to put files, how long to run, the client capabilities."""

    workdir: Path
    quick: bool
    capabilities: dict[str, Any]

    def settings(self, base_url: str, **extra: Any) -> dict[str, Any]:
        settings: dict[str, Any] = {
            "local": {"baseUrl": base_url},
            "ledger": {"path": str(self.workdir / "ledger.sqlite3")},
            "routing": {"escalateOnFailure": False},
        }
        for section, values in extra.items():
            settings.setdefault(section, {}).update(values)
        return settings


def make_bench(workdir: Path, quick: bool) -> Bench:
    return Bench(workdir, quick, vscode_capabilities())


MINIMAL_SERVER = [sys.executable, "-m", "tests.benchmarks.minimal_server"]


@contextlib.asynccontextmanager
async def session(
    bench: Bench, settings: dict[str, Any], name: str, command: list[str] | None = None
) -> AsyncIterator[LspClient]:
    """A started, initialized server; waits for Ladder's first `ladder/status` (the backend
    probe done) so measurements start from an idle, settled server. `command` runs another
    server instead (the minimal pygls server: no status to wait for)."""
    client = LspClient(settings, bench.workdir / f"{name}.stderr.log", server_env(bench.workdir))
    if command is not None:
        client.command = list(command)
        client.env = with_repo_on_path(client.env)
    await client.start(bench.capabilities, bench.workdir)
    try:
        if command is None:
            await client.wait_message(0, "ladder/status", timeout=30)
        else:
            await asyncio.sleep(0.2)
        yield client
    finally:
        await client.stop()


def range_json(start: tuple[int, int], end: tuple[int, int]) -> dict[str, Any]:
    return {
        "start": {"line": start[0], "character": start[1]},
        "end": {"line": end[0], "character": end[1]},
    }


def find_action(actions: Any, title: str) -> dict[str, Any] | None:
    for action in actions or []:
        if isinstance(action, dict) and action.get("title") == title:
            return action
    return None


async def action_at(client: LspClient, uri: str, rng: dict[str, Any], title: str) -> dict[str, Any]:
    reply = await client.code_actions(uri, rng)
    action = find_action(reply.result, title)
    if action is None:
        titles = [a.get("title") for a in reply.result or []]
        raise LspError(f"no {title!r} action at {rng}; offered: {titles}")
    return action


@dataclass
class Run:
    """One `ladder.run` as the client saw it."""

    sent_at: float
    done_at: float  # applyEdit received, or the command's reply when no edit was sent
    applied: bool  # an applyEdit arrived
    result: Any
    messages: list[Message]

    @property
    def seconds(self) -> float:
        return self.done_at - self.sent_at

    def apply_edit(self) -> Message | None:
        return next((m for m in self.messages if m.method == "workspace/applyEdit"), None)

    def first_token_report(self) -> Message | None:
        for m in self.messages:
            value = (m.params or {}).get("value") if m.method == "$/progress" else None
            if isinstance(value, dict) and value.get("kind") == "report":
                if TOKENS_REPORT.search(value.get("message") or ""):
                    return m
        return None


def send_action(client: LspClient, action: dict[str, Any]) -> tuple[Any, Any]:
    """Send an action's command at the document's current version, without waiting:
    (request id, future of the reply)."""
    command = action["command"]
    arguments, _, _ = _current(client, command.get("arguments"))
    return client.send_request(
        "workspace/executeCommand", {"command": command["command"], "arguments": arguments}
    )


def _current(client: LspClient, arguments: Any) -> tuple[Any, str | None, str | None]:
    """The command's arguments at the document's current version (as re-listing would give),
    with the document's URI and text before the run."""
    if not arguments or not isinstance(arguments[0], dict) or "uri" not in arguments[0]:
        return arguments, None, None
    uri = arguments[0]["uri"]
    version = client.version(uri)
    if version is None:
        return arguments, None, None
    return [{**arguments[0], "version": version}, *arguments[1:]], uri, client.text(uri)


async def run_action(
    client: LspClient, action: dict[str, Any], timeout: float = 120.0, restore: bool = True
) -> Run:
    """Execute a listed action's command; ends when its reply arrives (the whole run is over,
    ledger written), timed to the applyEdit request (or the reply when nothing was applied).
    The client applies the edit like an editor; `restore` then puts the text back (untimed)
    so the next run sees the same text."""
    command = action["command"]
    arguments, uri, before = _current(client, command.get("arguments"))
    mark = client.mark()
    msg_id, future = client.send_request(
        "workspace/executeCommand", {"command": command["command"], "arguments": arguments}
    )
    sent_at = client._sent_at[msg_id]
    reply = await client.wait_for(lambda: future.done() and future, timeout, "ladder.run")
    reply = future.result()
    if reply.error is not None:
        raise LspError(f"ladder.run failed: {reply.error}")
    messages = client.since(mark)
    edit = next((m for m in messages if m.method == "workspace/applyEdit"), None)
    done_at = edit.at if edit is not None else reply.received_at
    if restore and uri is not None and before is not None:
        client.restore(uri, before)
    return Run(sent_at, done_at, edit is not None, reply.result, messages)


def edits_of(apply_edit: Message) -> list[dict[str, Any]]:
    edit = apply_edit.params["edit"]
    out: list[dict[str, Any]] = []
    for change in edit.get("documentChanges") or []:
        out.extend(change.get("edits") or [])
    for edits in (edit.get("changes") or {}).values():
        out.extend(edits)
    return out
