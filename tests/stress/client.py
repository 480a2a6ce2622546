"""A small, fast LSP client for the stress tests: raw JSON-RPC over the server's stdio.

Why not pytest-lsp: the stress suite needs one long-lived server per module (so thousands of
requests fit the time budget), raw control of every byte sent (malformed messages), the
server's stderr in a file (the secrets audit greps it) and its PID (RSS, file descriptors).

The client is thread-based: a reader thread parses messages, resolves request futures and
answers the server's own requests (`workspace/applyEdit` is applied to the client's copy of
the text exactly as an editor would: UTF-16 positions, versioned `documentChanges`, all or
nothing). Tests call it synchronously; concurrency is many futures in flight.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.utf16 import utf16_to_index

REPO = Path(__file__).resolve().parents[2]
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def split_lines(text: str) -> list[str]:
    """Lines with their endings, split only where LSP splits (\\n, \\r\\n, \\r)."""
    return _LINE.findall(text)


def vscode_capabilities() -> dict[str, Any]:
    """VS Code's client capabilities as JSON (pytest-lsp ships them)."""
    from pygls.protocol import default_converter
    from pytest_lsp import client_capabilities

    caps: dict[str, Any] = default_converter().unstructure(
        client_capabilities("visual-studio-code")
    )
    return caps


def offset_of(text: str, pos: dict[str, int]) -> int:
    lines = split_lines(text)
    line = pos["line"]
    if line >= len(lines):
        return len(text)
    start = sum(len(x) for x in lines[:line])
    body = lines[line].rstrip("\r\n")
    return start + utf16_to_index(body, pos["character"])


def apply_text_edits(text: str, edits: Iterable[dict[str, Any]]) -> str:
    spans = sorted(
        (
            (offset_of(text, e["range"]["start"]), offset_of(text, e["range"]["end"]), e["newText"])
            for e in edits
        ),
        key=lambda s: (s[0], s[1]),
        reverse=True,
    )
    for start, end, new in spans:
        text = text[:start] + new + text[end:]
    return text


class RpcError(Exception):
    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(f"{error.get('code')}: {error.get('message')}")
        self.code = error.get("code")
        self.error = error


class ServerDied(Exception):
    pass


@dataclass
class Doc:
    uri: str
    text: str
    version: int
    language: str = "python"


@dataclass
class AppliedEdit:
    """One `workspace/applyEdit` the client accepted: per URI, the text before and after."""

    label: str
    before: dict[str, str]
    after: dict[str, str]
    created: list[str] = field(default_factory=list)


def range_dict(l1: int, c1: int, l2: int, c2: int) -> dict[str, Any]:
    return {"start": {"line": l1, "character": c1}, "end": {"line": l2, "character": c2}}


class LspServer:
    """`python -m ladder_lsp` as a subprocess, driven over stdio."""

    def __init__(
        self,
        workdir: Path,
        init_options: dict[str, Any] | None = None,
        *,
        args: Iterable[str] = (),
        env: dict[str, str] | None = None,
        capabilities: dict[str, Any] | None = None,
        workspace_config: dict[str, Any] | None = None,
        umask: int | None = None,
        root_uri: str | None = None,
    ) -> None:
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.init_options = init_options or {}
        self.args = list(args)
        self.env = env if env is not None else stress_env(workdir)
        self.capabilities = capabilities if capabilities is not None else vscode_capabilities()
        self.workspace_config = workspace_config
        self.umask = umask
        self.root_uri = root_uri
        self.stderr_path = workdir / f"stderr-{next(_SEQ)}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self._write_lock = threading.Lock()
        self._cond = threading.Condition()
        self._pending: dict[Any, Future[Any]] = {}
        self._ids = itertools.count(1)
        self.notifications: list[tuple[str, Any]] = []
        self.server_requests: list[tuple[str, Any]] = []
        self.applied: list[AppliedEdit] = []
        self.refused: list[tuple[str, str]] = []  # (label, reason)
        self.docs: dict[str, Doc] = {}
        self.refuse_edits = False
        self.handlers: dict[str, Callable[[Any], Any]] = {
            "workspace/applyEdit": self._on_apply_edit,
            "workspace/configuration": self._on_configuration,
            "window/workDoneProgress/create": lambda _p: None,
            "window/showDocument": self._on_show_document,
            "window/showMessageRequest": lambda _p: None,
            "client/registerCapability": lambda _p: None,
            "client/unregisterCapability": lambda _p: None,
        }
        self.shown_documents: list[str] = []
        self.reader_errors: list[BaseException] = []
        self.initialize_result: Any = None
        self._stderr_file: Any = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self, *, initialize: bool = True) -> LspServer:
        self._stderr_file = open(self.stderr_path, "wb")
        umask = self.umask

        def pre() -> None:
            if umask is not None:
                os.umask(umask)

        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ladder_lsp", *self.args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr_file,
            env=self.env,
            cwd=str(self.workdir),
            preexec_fn=pre if umask is not None else None,
        )
        self._reader = threading.Thread(target=self._read_loop, name="lsp-reader", daemon=True)
        self._reader.start()
        if initialize:
            params: dict[str, Any] = {
                "processId": os.getpid(),
                "capabilities": self.capabilities,
                "initializationOptions": self.init_options,
                "rootUri": self.root_uri,
                "workspaceFolders": [{"uri": self.root_uri, "name": "root"}]
                if self.root_uri
                else None,
            }
            self.initialize_result = self.request("initialize", params, timeout=60)
            self.notify("initialized", {})
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 10.0) -> int | None:
        """shutdown + exit; returns the exit code (None if it had to be killed)."""
        if self.proc is None:
            return None
        code: int | None = None
        if self.alive():
            with contextlib.suppress(Exception):
                self.request("shutdown", None, timeout=timeout)
            with contextlib.suppress(Exception):
                self.notify("exit", None)
            try:
                code = self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
                code = None
        else:
            code = self.proc.returncode
        for stream in (self.proc.stdin, self.proc.stdout):
            with contextlib.suppress(Exception):
                assert stream is not None
                stream.close()
        if self._stderr_file is not None:
            self._stderr_file.close()
        return code

    def stderr_text(self) -> str:
        with contextlib.suppress(OSError):
            return self.stderr_path.read_text("utf-8", "replace")
        return ""

    # -- process figures -------------------------------------------------------------------

    def rss_kb(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return -1

    def fd_count(self) -> int:
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def fd_targets(self) -> list[str]:
        out = []
        for name in os.listdir(f"/proc/{self.pid}/fd"):
            with contextlib.suppress(OSError):
                out.append(os.readlink(f"/proc/{self.pid}/fd/{name}"))
        return sorted(out)

    def threads(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("Threads:"):
                return int(line.split()[1])
        return -1

    # -- wire ------------------------------------------------------------------------------

    def send(self, message: Any) -> None:
        self.send_bytes(json.dumps(message).encode("utf-8"))

    def send_bytes(self, body: bytes, *, header: bytes | None = None) -> None:
        if not self.alive():
            raise ServerDied(self._died_message())
        assert self.proc is not None and self.proc.stdin is not None
        head = header if header is not None else b"Content-Length: %d\r\n\r\n" % len(body)
        with self._write_lock:
            try:
                self.proc.stdin.write(head + body)
                self.proc.stdin.flush()
            except (BrokenPipeError, ValueError) as exc:
                raise ServerDied(self._died_message()) from exc

    def request_future(self, method: str, params: Any = None, msg_id: Any = None) -> Future[Any]:
        msg_id = next(self._ids) if msg_id is None else msg_id
        future: Future[Any] = Future()
        with self._cond:
            self._pending[msg_id] = future
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": msg_id, "method": method}
        if params is not None:
            message["params"] = params
        self.send(message)
        return future

    def raw_request_future(self, message: dict[str, Any]) -> Future[Any]:
        """Send a message as given; `message["id"]` must be a fresh, hashable id."""
        future: Future[Any] = Future()
        with self._cond:
            self._pending[_key(message["id"])] = future
        self.send(message)
        return future

    def request(self, method: str, params: Any = None, timeout: float = 30.0) -> Any:
        return self.wait(self.request_future(method, params), timeout)

    def wait(self, future: Future[Any], timeout: float = 30.0) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            try:
                return future.result(timeout=min(0.5, max(0.0, deadline - time.monotonic())))
            except TimeoutError:
                if not self.alive():
                    raise ServerDied(self._died_message()) from None
                if time.monotonic() >= deadline:
                    tail = self.stderr_text()[-3000:]
                    raise TimeoutError(
                        f"no response within {timeout} s; stderr tail:\n{tail}"
                    ) from None

    def notify(self, method: str, params: Any = None) -> None:
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        self.send(message)

    def _died_message(self) -> str:
        code = self.proc.poll() if self.proc else None
        return f"server exited ({code}); stderr tail:\n{self.stderr_text()[-3000:]}"

    def _read_loop(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        out = self.proc.stdout
        try:
            while True:
                length = None
                while True:
                    line = out.readline()
                    if not line:
                        return
                    if line in (b"\r\n", b"\n"):
                        break
                    name, _, value = line.decode("ascii").partition(":")
                    if name.lower() == "content-length":
                        length = int(value.strip())
                if length is None:
                    continue
                body = out.read(length)
                self._dispatch(json.loads(body))
        except BaseException as exc:  # keep it visible to the tests
            self.reader_errors.append(exc)
        finally:
            with self._cond:
                for future in self._pending.values():
                    if not future.done():
                        future.set_exception(ServerDied("stdout closed"))
                self._cond.notify_all()

    def _dispatch(self, message: dict[str, Any]) -> None:
        if "method" in message and "id" in message:
            self._answer(message)
        elif "method" in message:
            with self._cond:
                self.notifications.append((message["method"], message.get("params")))
                self._cond.notify_all()
        else:
            with self._cond:
                future = self._pending.pop(_key(message.get("id")), None)
            if future is None:
                with self._cond:
                    self.notifications.append(("<orphan response>", message))
                return
            if "error" in message and message["error"] is not None:
                future.set_exception(RpcError(message["error"]))
            else:
                future.set_result(message.get("result"))

    def _answer(self, message: dict[str, Any]) -> None:
        method = message["method"]
        with self._cond:
            self.server_requests.append((method, message.get("params")))
            self._cond.notify_all()
        handler = self.handlers.get(method)
        reply: dict[str, Any] = {"jsonrpc": "2.0", "id": message["id"]}
        if handler is None:
            reply["error"] = {"code": -32601, "message": f"client has no {method}"}
        else:
            try:
                reply["result"] = handler(message.get("params"))
            except Exception as exc:
                reply["error"] = {"code": -32603, "message": repr(exc)}
        with contextlib.suppress(ServerDied):
            self.send(reply)

    # -- waiting on facts ------------------------------------------------------------------

    def wait_until(self, predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
        with self._cond:
            return self._cond.wait_for(predicate, timeout)

    # -- records ---------------------------------------------------------------------------

    def messages(self, since: int = 0) -> list[dict[str, Any]]:
        """`window/showMessage` params, from notification index `since`."""
        with self._cond:
            items = list(self.notifications[since:])
        return [p for m, p in items if m == "window/showMessage"]

    def log_messages(self, since: int = 0) -> list[dict[str, Any]]:
        with self._cond:
            items = list(self.notifications[since:])
        return [p for m, p in items if m == "window/logMessage"]

    def progress(self, since: int = 0) -> dict[Any, list[dict[str, Any]]]:
        """`$/progress` values by token."""
        with self._cond:
            items = list(self.notifications[since:])
        out: dict[Any, list[dict[str, Any]]] = {}
        for method, params in items:
            if method == "$/progress":
                out.setdefault(params["token"], []).append(params["value"])
        return out

    def mark(self) -> int:
        with self._cond:
            return len(self.notifications)

    # -- documents -------------------------------------------------------------------------

    def open(self, uri: str, text: str, language: str = "python") -> Doc:
        doc = Doc(uri, text, 1, language)
        self.docs[uri] = doc
        self.notify(
            "textDocument/didOpen",
            {"textDocument": {"uri": uri, "languageId": language, "version": 1, "text": text}},
        )
        return doc

    def replace_text(self, uri: str, text: str) -> None:
        doc = self.docs[uri]
        doc.text = text
        doc.version += 1
        self.notify(
            "textDocument/didChange",
            {
                "textDocument": {"uri": uri, "version": doc.version},
                "contentChanges": [{"text": text}],
            },
        )

    def close(self, uri: str) -> None:
        self.docs.pop(uri, None)
        self.notify("textDocument/didClose", {"textDocument": {"uri": uri}})

    # -- requests --------------------------------------------------------------------------

    def code_actions(
        self,
        uri: str,
        rng: dict[str, Any],
        diagnostics: list[dict[str, Any]] | None = None,
        only: list[str] | None = None,
        timeout: float = 30.0,
    ) -> list[dict[str, Any]]:
        context: dict[str, Any] = {"diagnostics": diagnostics or []}
        if only is not None:
            context["only"] = only
        result = self.request(
            "textDocument/codeAction",
            {"textDocument": {"uri": uri}, "range": rng, "context": context},
            timeout,
        )
        return list(result or [])

    def execute_future(self, command: str, *arguments: Any) -> Future[Any]:
        params: dict[str, Any] = {"command": command}
        if arguments:
            params["arguments"] = list(arguments)
        return self.request_future("workspace/executeCommand", params)

    def execute(self, command: str, *arguments: Any, timeout: float = 60.0) -> Any:
        return self.wait(self.execute_future(command, *arguments), timeout)

    def run_future(
        self, action: str, uri: str, rng: dict[str, Any], tier: str | None = None, **extra: Any
    ) -> Future[Any]:
        args: dict[str, Any] = {"action": action, "uri": uri, "range": rng, **extra}
        if "version" not in extra and uri in self.docs:
            args["version"] = self.docs[uri].version
        if tier:
            args["tier"] = tier
        return self.execute_future("ladder.run", args)

    def run(
        self,
        action: str,
        uri: str,
        rng: dict[str, Any],
        tier: str | None = None,
        timeout: float = 60.0,
        **extra: Any,
    ) -> Any:
        return self.wait(self.run_future(action, uri, rng, tier, **extra), timeout)

    def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = self.execute("ladder.debug.stats")
        return result

    # -- server → client -------------------------------------------------------------------

    def _on_configuration(self, params: Any) -> Any:
        items = (params or {}).get("items") or [{}]
        return [self.workspace_config for _ in items]

    def _on_show_document(self, params: Any) -> Any:
        self.shown_documents.append(params["uri"])
        return {"success": True}

    def _on_apply_edit(self, params: Any) -> Any:
        label = params.get("label") or ""
        if self.refuse_edits:
            self.refused.append((label, "refused by the test"))
            return {"applied": False, "failureReason": "refused"}
        edit = params["edit"]
        staged: dict[str, str] = {}
        before: dict[str, str] = {}
        created: list[str] = []
        bumps: dict[str, int] = {}

        def current(uri: str) -> str | None:
            if uri in staged:
                return staged[uri]
            doc = self.docs.get(uri)
            return doc.text if doc is not None else None

        for change in edit.get("documentChanges") or []:
            kind = change.get("kind")
            if kind == "create":
                uri = change["uri"]
                if uri not in self.docs and uri not in staged:
                    created.append(uri)
                    staged[uri] = ""
                    before[uri] = ""
                continue
            if kind in ("rename", "delete"):
                self.refused.append((label, f"resource operation {kind}"))
                return {"applied": False, "failureReason": f"{kind} not allowed in tests"}
            uri = change["textDocument"]["uri"]
            text = current(uri)
            if text is None:
                self.refused.append((label, f"unknown document {uri}"))
                return {"applied": False, "failureReason": "unknown document"}
            version = change["textDocument"].get("version")
            doc = self.docs.get(uri)
            if version is not None and doc is not None and version != doc.version:
                self.refused.append((label, f"stale version {version} != {doc.version}"))
                return {"applied": False, "failureReason": "stale"}
            before.setdefault(uri, text)
            staged[uri] = apply_text_edits(text, change["edits"])
            bumps[uri] = bumps.get(uri, 0) + 1
        for uri, edits in (edit.get("changes") or {}).items():
            text = current(uri)
            if text is None:
                self.refused.append((label, f"unknown document {uri}"))
                return {"applied": False, "failureReason": "unknown document"}
            before.setdefault(uri, text)
            staged[uri] = apply_text_edits(text, edits)
            bumps[uri] = bumps.get(uri, 0) + 1
        for uri, text in staged.items():
            doc = self.docs.get(uri)
            if doc is None:
                self.docs[uri] = Doc(uri, text, 1)
                self.notify(
                    "textDocument/didOpen",
                    {
                        "textDocument": {
                            "uri": uri,
                            "languageId": "python",
                            "version": 1,
                            "text": text,
                        }
                    },
                )
                continue
            doc.text = text
            doc.version += 1
            self.notify(
                "textDocument/didChange",
                {
                    "textDocument": {"uri": uri, "version": doc.version},
                    "contentChanges": [{"text": text}],
                },
            )
        with self._cond:
            self.applied.append(AppliedEdit(label, before, dict(staged), created))
            self._cond.notify_all()
        return {"applied": True}


_SEQ = itertools.count(1)


def _key(msg_id: Any) -> Any:
    return json.dumps(msg_id, sort_keys=True) if isinstance(msg_id, (list, dict)) else msg_id


def stress_env(workdir: Path, **extra: str) -> dict[str, str]:
    """The server's environment: no real keys or ledgers, caches under `workdir`, loopback
    only (any Claude default URL points at a closed local port)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ANTHROPIC_", "LADDER_", "OPENAI_"))
        and k not in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy")
    }
    env["XDG_CACHE_HOME"] = str(workdir / "cache")
    env["XDG_STATE_HOME"] = str(workdir / "state")
    env["ANTHROPIC_BASE_URL"] = "http://127.0.0.1:9"  # discard port: nothing listens
    env["NO_PROXY"] = "*"
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO / "server"), env.get("PYTHONPATH", "")) if p
    )
    env.update(extra)
    return env
