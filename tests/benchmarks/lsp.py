"""A minimal LSP client over stdio for timing: raw JSON-RPC, every message timestamped on arrival.

Why not pytest-lsp or pygls' own client: they structure every message into lsprotocol classes
(cattrs) before user code sees it, which costs the *client* a millisecond or more per code
action list and would be charged to the server. Here a message is timestamped with
``time.monotonic()`` as soon as its bytes are parsed as JSON (the same clock the fakes record
with), and nothing else runs in between.

The client answers the server's requests the way an editor does: progress tokens are accepted,
``workspace/configuration`` returns the session's settings, ``workspace/applyEdit`` is
applied to the client's copy of the text and answered ``applied: true`` after the matching
incremental ``didChange`` (as VS Code does: the server sees the new version before the
answer), ``window/showDocument`` succeeds. Benchmarks that repeat a run put the text back
afterwards (`restore`, one change of the span that differs), so every run sees the same text.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SERVER_COMMAND = [sys.executable, "-m", "ladder_lsp"]


def vscode_capabilities() -> dict[str, Any]:
    """VS Code's client capabilities as JSON (the set pytest-lsp ships)."""
    from lsprotocol import converters
    from pytest_lsp import client_capabilities

    caps = converters.get_converter().unstructure(client_capabilities("visual-studio-code"))
    assert isinstance(caps, dict)
    return caps


REPO = Path(__file__).resolve().parent.parent.parent


def server_env(state_dir: Path) -> dict[str, str]:
    """The user's environment minus Claude keys, with Ladder's cache/state in `state_dir`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "LADDER_"))}
    env["XDG_CACHE_HOME"] = str(state_dir / "cache")
    env["XDG_STATE_HOME"] = str(state_dir / "state")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def with_repo_on_path(env: dict[str, str]) -> dict[str, str]:
    """`env` plus this repository on PYTHONPATH (for `python -m tests.benchmarks.…`)."""
    path = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    return {**env, "PYTHONPATH": path}


@dataclass
class Message:
    """A message from the server with the client's arrival time (`time.monotonic()`)."""

    at: float
    body: dict[str, Any]

    @property
    def method(self) -> str | None:
        method = self.body.get("method")
        return str(method) if method is not None else None

    @property
    def params(self) -> Any:
        return self.body.get("params")


@dataclass
class Reply:
    result: Any
    sent_at: float
    received_at: float
    error: Any = None

    @property
    def seconds(self) -> float:
        return self.received_at - self.sent_at


class LspError(RuntimeError):
    pass


@dataclass
class LspClient:
    """One server process and the client side of its session."""

    settings: dict[str, Any]
    stderr_path: Path
    env: dict[str, str]
    command: list[str] = field(default_factory=lambda: list(SERVER_COMMAND))
    proc: asyncio.subprocess.Process | None = None
    spawned_at: float = 0.0
    inbox: list[Message] = field(default_factory=list)
    docs: dict[str, list[Any]] = field(default_factory=dict)  # uri → [text, version]
    _unapplied: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # see `change`
    _pending: dict[Any, asyncio.Future[Reply]] = field(default_factory=dict)
    _sent_at: dict[Any, float] = field(default_factory=dict)
    _next_id: int = 0
    _reader: asyncio.Task[None] | None = None
    _changed: asyncio.Event = field(default_factory=asyncio.Event)
    _stderr: Any = None

    # -- lifecycle -----------------------------------------------------------------------

    async def spawn(self) -> None:
        self._stderr = self.stderr_path.open("ab")
        self.spawned_at = time.monotonic()
        self.proc = await asyncio.create_subprocess_exec(
            *self.command,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=self._stderr,
            env=self.env,
            limit=64 * 1024 * 1024,
        )
        self._reader = asyncio.ensure_future(self._read_loop())

    async def initialize(self, capabilities: dict[str, Any], root: Path) -> Reply:
        """`initialize` (returned: its reply, timed), then `initialized`."""
        reply = await self.request(
            "initialize",
            {
                "processId": os.getpid(),
                "clientInfo": {"name": "ladder-benchmarks", "version": "1"},
                "rootUri": root.as_uri(),
                "workspaceFolders": [{"uri": root.as_uri(), "name": root.name}],
                "capabilities": capabilities,
                "initializationOptions": self.settings,
            },
            timeout=60,
        )
        self.notify("initialized", {})
        return reply

    async def start(self, capabilities: dict[str, Any], root: Path) -> Reply:
        await self.spawn()
        return await self.initialize(capabilities, root)

    async def stop(self) -> None:
        proc = self.proc
        if proc is None:
            return
        if proc.returncode is None:
            with contextlib.suppress(Exception):
                await self.request("shutdown", None, timeout=10)
                self.notify("exit", None)
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except asyncio.TimeoutError:
                proc.kill()
                await proc.wait()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        if self._stderr is not None:
            self._stderr.close()
        self.proc = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    # -- sending -------------------------------------------------------------------------

    def _write(self, body: dict[str, Any]) -> float:
        """Write a message; returns the moment just before the write (after it, this thread
        may wait for the GIL while the server already answers, stamping the send late)."""
        assert self.proc is not None and self.proc.stdin is not None
        data = json.dumps(body, separators=(",", ":")).encode()
        message = b"Content-Length: %d\r\n\r\n%s" % (len(data), data)
        at = time.monotonic()
        self.proc.stdin.write(message)
        return at

    def notify(self, method: str, params: Any) -> float:
        """Send a notification; returns when it was written."""
        return self._write({"jsonrpc": "2.0", "method": method, "params": params})

    def send_request(self, method: str, params: Any) -> tuple[Any, asyncio.Future[Reply]]:
        """Send without waiting: (id, future of the Reply). The send time is in the Reply."""
        self._next_id += 1
        msg_id = self._next_id
        future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self._pending[msg_id] = future
        self._sent_at[msg_id] = self._write(
            {"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params}
        )
        return msg_id, future

    async def request(self, method: str, params: Any, timeout: float = 30.0) -> Reply:
        _, future = self.send_request(method, params)
        assert self.proc is not None and self.proc.stdin is not None
        await self.proc.stdin.drain()
        try:
            reply = await asyncio.wait_for(future, timeout)
        except asyncio.TimeoutError:
            raise LspError(f"no answer to {method} within {timeout:g} s") from None
        if reply.error is not None:
            raise LspError(f"{method} failed: {reply.error}")
        return reply

    def cancel(self, msg_id: Any) -> float:
        return self.notify("$/cancelRequest", {"id": msg_id})

    # -- documents -----------------------------------------------------------------------

    def open(self, uri: str, text: str, version: int = 1, language: str = "python") -> None:
        self.docs[uri] = [text, version]
        self._unapplied.pop(uri, None)
        self.notify(
            "textDocument/didOpen",
            {
                "textDocument": {
                    "uri": uri,
                    "languageId": language,
                    "version": version,
                    "text": text,
                }
            },
        )

    def change(self, uri: str, version: int, changes: list[dict[str, Any]]) -> float:
        """Send the change; the client's own copy of the text takes it when next read
        (`text`): rewriting a 1 MB string per keystroke here would be this client's work on
        the same two cores, timed as the server's (it was, at 20,000 lines)."""
        doc = self.docs.get(uri)
        if doc is not None:
            for change in changes:
                if "range" in change:
                    self._unapplied.setdefault(uri, []).append(change)
                else:
                    self._unapplied.pop(uri, None)
                    doc[0] = change["text"]
            doc[1] = version
        return self.notify(
            "textDocument/didChange",
            {"textDocument": {"uri": uri, "version": version}, "contentChanges": changes},
        )

    def restore(self, uri: str, text: str) -> None:
        """Put a document's text back (new version): one change of the span that differs, as
        an editor's undo sends it (a whole-text change would cost the server the file's size,
        a cost no editor imposes, inside the next run's time at 20,000 lines)."""
        doc = self.docs[uri]
        current = self.text(uri)
        if current is not None and current != text:
            self.change(uri, doc[1] + 1, [span_change(current, text)])

    def version(self, uri: str) -> int | None:
        doc = self.docs.get(uri)
        return int(doc[1]) if doc is not None else None

    def text(self, uri: str) -> str | None:
        doc = self.docs.get(uri)
        if doc is None:
            return None
        for change in self._unapplied.pop(uri, []):
            doc[0] = apply_text_edits(doc[0], [{**change, "newText": change["text"]}])
        return str(doc[0])

    def close(self, uri: str) -> None:
        self.docs.pop(uri, None)
        self._unapplied.pop(uri, None)
        self.notify("textDocument/didClose", {"textDocument": {"uri": uri}})

    async def code_actions(self, uri: str, rng: dict[str, Any]) -> Reply:
        return await self.request(
            "textDocument/codeAction",
            {"textDocument": {"uri": uri}, "range": rng, "context": {"diagnostics": []}},
        )

    # -- waiting -------------------------------------------------------------------------

    def mark(self) -> int:
        """An index into the inbox: `since(mark)` gives what arrived afterwards."""
        return len(self.inbox)

    def since(self, mark: int, method: str | None = None) -> list[Message]:
        return [m for m in self.inbox[mark:] if method is None or m.method == method]

    async def wait_for(
        self, predicate: Callable[[], Any], timeout: float = 30.0, what: str = "a message"
    ) -> Any:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = predicate()
            if value:
                return value
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise LspError(f"timed out after {timeout:g} s waiting for {what}")
            self._changed.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

    async def wait_message(
        self,
        mark: int,
        method: str,
        timeout: float = 30.0,
        match: Callable[[Message], bool] | None = None,
    ) -> Message:
        def found() -> Message | None:
            for m in self.since(mark, method):
                if match is None or match(m):
                    return m
            return None

        return await self.wait_for(found, timeout, method)  # type: ignore[no-any-return]

    # -- reading -------------------------------------------------------------------------

    async def _read_loop(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        out = self.proc.stdout
        try:
            while True:
                length = 0
                while True:
                    line = await out.readline()
                    if not line:
                        return
                    line = line.strip()
                    if not line:
                        break
                    name, _, value = line.partition(b":")
                    if name.lower() == b"content-length":
                        length = int(value)
                body = json.loads(await out.readexactly(length))
                self._dispatch(Message(time.monotonic(), body))
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        finally:
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(LspError("the server exited"))
            self._changed.set()

    def _dispatch(self, msg: Message) -> None:
        body = msg.body
        if "method" not in body:
            future = self._pending.pop(body.get("id"), None)
            sent = self._sent_at.pop(body.get("id"), msg.at)
            if future is not None and not future.done():
                future.set_result(Reply(body.get("result"), sent, msg.at, body.get("error")))
        else:
            self.inbox.append(msg)
            if "id" in body:
                self._answer(msg)
        self._changed.set()

    def _answer(self, msg: Message) -> None:
        method = msg.method
        result: Any = None
        if method == "workspace/applyEdit":
            result = self._apply_edit(msg.params.get("edit") or {})
        elif method == "workspace/configuration":
            items = (msg.params or {}).get("items") or [{}]
            result = [self.settings for _ in items]
        elif method == "window/showDocument":
            result = {"success": True}
        self._write({"jsonrpc": "2.0", "id": msg.body["id"], "result": result})

    def _apply_edit(self, edit: dict[str, Any]) -> dict[str, Any]:
        per_doc: dict[str, list[dict[str, Any]]] = {}
        for change in edit.get("documentChanges") or []:
            if "textDocument" in change:
                uri = change["textDocument"]["uri"]
                version = change["textDocument"].get("version")
                doc = self.docs.get(uri)
                if doc is not None and version is not None and version != doc[1]:
                    return {"applied": False, "failureReason": "stale version"}
                per_doc.setdefault(uri, []).extend(change.get("edits") or [])
        for uri, edits in (edit.get("changes") or {}).items():
            per_doc.setdefault(uri, []).extend(edits)
        for uri, edits in per_doc.items():
            doc = self.docs.get(uri)
            if doc is not None:  # incremental, as VS Code sends an applied edit
                self.change(uri, doc[1] + 1, incremental_changes(edits))
        return {"applied": True}


def incremental_changes(edits: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A WorkspaceEdit's TextEdits (ranges in the text before the edit, not overlapping) as
    `didChange` content changes, which apply one after the other: bottom-up, so each range
    still means what it meant."""
    ordered = sorted(
        edits,
        key=lambda e: (e["range"]["start"]["line"], e["range"]["start"]["character"]),
        reverse=True,
    )
    return [{"range": e["range"], "text": e["newText"]} for e in ordered]


def span_change(old: str, new: str) -> dict[str, Any]:
    """One content change turning `old` into `new`: the span between their common prefix
    and suffix (found by halving, so the comparisons run in C on a 1 MB text)."""
    limit = min(len(old), len(new))
    prefix = _common(limit, lambda n: old[:n] == new[:n])
    rest = limit - prefix
    suffix = _common(rest, lambda n: old[len(old) - n :] == new[len(new) - n :])

    def position(offset: int) -> dict[str, int]:
        line = old.count("\n", 0, offset)
        return {"line": line, "character": offset - (old.rfind("\n", 0, offset) + 1)}

    span = {"start": position(prefix), "end": position(len(old) - suffix)}
    return {"range": span, "text": new[prefix : len(new) - suffix]}


def _common(limit: int, same: Callable[[int], bool]) -> int:
    """The largest n ≤ `limit` with `same(n)`, for a `same` true up to some n, then false."""
    low, high = 0, limit
    while low < high:
        mid = (low + high + 1) // 2
        if same(mid):
            low = mid
        else:
            high = mid - 1
    return low


def apply_text_edits(text: str, edits: list[dict[str, Any]]) -> str:
    """Apply LSP TextEdits to `text` (the benchmarks' documents are ASCII, so characters are
    UTF-16 units)."""
    lines = text.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))

    def offset(pos: dict[str, int]) -> int:
        if pos["line"] >= len(lines):
            return len(text)
        return starts[pos["line"]] + pos["character"]

    spans = sorted(
        ((offset(e["range"]["start"]), offset(e["range"]["end"]), e["newText"]) for e in edits),
        key=lambda span: (span[0], span[1]),
        reverse=True,
    )
    for start, end, new in spans:
        text = text[:start] + new + text[end:]
    return text


def vm_rss_kb(pid: int) -> int:
    """Resident set size of a process (VmRSS in /proc/PID/status), in kB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise LspError(f"no VmRSS for pid {pid}")
