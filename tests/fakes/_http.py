"""The shared HTTP machinery under every fake peer: a real socket server, not a mock.

Why a real server: the Ladder LSP server runs as a subprocess and talks to its peers over HTTP
with keep-alive and streaming, so only a real socket exercises what matters (connection reuse,
chunked bodies, a client that hangs up mid-stream). Everything here is stdlib:
``ThreadingHTTPServer`` in a daemon thread, HTTP/1.1, ``Content-Length`` for whole bodies and
``Transfer-Encoding: chunked`` for streams.

A fake subclasses :class:`FakeServer` and implements :meth:`FakeServer.handle`, answering each
request through an :class:`Exchange`, whose writers notice a vanished client (by polling the
socket for EOF with ``select`` and by ``BrokenPipe``/``ConnectionReset`` on write). Every state
change notifies one ``Condition`` so tests wait on facts, never on sleeps.
"""

from __future__ import annotations

import contextlib
import json
import select
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, TypeVar

#: Header names whose values are secrets: kept in the record, masked in every repr.
SECRET_HEADERS = frozenset({"authorization", "x-api-key", "proxy-authorization"})


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake received it.

    ``headers`` has lower-case names (``req.headers["x-api-key"]``); ``json`` is the parsed body
    or ``None``; ``connection`` is the 1-based number of the TCP connection that carried it, so
    tests can tell reused connections from new ones; ``received_at`` is ``time.monotonic()``.
    The repr masks secret headers so a failing assert never prints a key.
    """

    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""
    json: Any = None
    connection: int = 0
    received_at: float = 0.0

    def __repr__(self) -> str:
        shown = {k: ("***" if k in SECRET_HEADERS else v) for k, v in self.headers.items()}
        return (
            f"RecordedRequest({self.method} {self.path}, connection={self.connection}, "
            f"headers={shown}, json={self.json!r})"
        )


@dataclass
class _Stats:
    """Counters guarded by :attr:`FakeServer._cond`."""

    requests: list[RecordedRequest] = field(default_factory=list)
    connections: int = 0
    disconnects: int = 0
    active_streams: int = 0
    completed_streams: int = 0
    in_flight: int = 0
    errors: list[BaseException] = field(default_factory=list)


class ClientGone(Exception):
    """Raised inside a handler when the client hung up or the fake is stopping."""


class Exchange:
    """One request/response on a connection.

    Writers raise nothing to the fake's code except :class:`ClientGone`: when the client has
    left (or the fake stops) the exchange records a disconnect once, marks the connection for
    closing and unwinds the handler.
    """

    def __init__(self, handler: _Handler, fake: FakeServer, request: RecordedRequest) -> None:
        self._handler = handler
        self._fake = fake
        self.request = request
        self._sock: socket.socket = handler.connection
        self._streaming = False
        self._gone = False

    # -- inspection ---------------------------------------------------------------------------

    def client_gone(self) -> bool:
        """True when the peer has closed its side (EOF or reset) — checked without blocking."""
        return not self._wait_quietly(0.0)

    # -- whole responses ----------------------------------------------------------------------

    def send_json(self, status: int, obj: Any, headers: Mapping[str, str] | None = None) -> None:
        """Send ``obj`` as a JSON body with ``Content-Length`` (keep-alive stays usable)."""
        self.send_bytes(status, json.dumps(obj).encode(), "application/json", headers)

    def send_bytes(
        self,
        status: int,
        body: bytes,
        content_type: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Send a complete body with ``Content-Length``."""
        h = self._handler
        try:
            h.send_response(status)
            h.send_header("Content-Type", content_type)
            h.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                h.send_header(name, value)
            h.end_headers()
            h.wfile.write(body)
        except OSError as exc:
            self._lost()
            raise ClientGone from exc

    # -- streams ------------------------------------------------------------------------------

    def begin_stream(
        self,
        status: int = 200,
        content_type: str = "text/event-stream",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Send the headers of a chunked response; the stream counts as active from here."""
        h = self._handler
        try:
            h.send_response(status)
            h.send_header("Content-Type", content_type)
            h.send_header("Cache-Control", "no-cache")
            h.send_header("Transfer-Encoding", "chunked")
            for name, value in (headers or {}).items():
                h.send_header(name, value)
            h.end_headers()
        except OSError as exc:
            self._lost()
            raise ClientGone from exc
        self._streaming = True
        self._fake._update(active_streams=+1)

    def write_chunk(self, data: bytes) -> None:
        """Send one chunk of a stream, first checking that the client is still there."""
        if not data:
            return  # an empty chunk would terminate the body
        if self.client_gone():
            raise ClientGone
        try:
            self._handler.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        except OSError as exc:
            self._lost()
            raise ClientGone from exc

    def end_stream(self) -> None:
        """Send the terminating zero-length chunk: the stream completed normally.

        The counters change *before* the write, so a client that has read the whole stream
        always sees ``completed_streams`` already counted.
        """
        self._streaming = False
        self._fake._update(active_streams=-1, completed_streams=+1)
        try:
            self._handler.wfile.write(b"0\r\n\r\n")
        except OSError as exc:
            self._fake._update(completed_streams=-1)
            self._lost()
            raise ClientGone from exc

    def abort(self, reset: bool = False) -> None:
        """Close the socket mid-response, like a crashing server (no terminating chunk).

        ``reset=True`` sends a TCP RST (``SO_LINGER`` 0) instead of an orderly FIN.
        """
        self._handler.close_connection = True
        if reset:
            with contextlib.suppress(OSError):
                linger = struct.pack("ii", 1, 0)  # on, 0 s: close() sends RST
                self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
        with contextlib.suppress(OSError):
            if not reset:
                self._sock.shutdown(socket.SHUT_RDWR)
            self._sock.close()
        self._close_stream()

    # -- waiting ------------------------------------------------------------------------------

    def pause(self, seconds: float | None) -> None:
        """Wait ``seconds`` (``None`` = forever) while watching for the client to leave.

        Raises :class:`ClientGone` when it leaves or the fake stops; that is how delays,
        hangs and slow loads notice a cancelled request.
        """
        if seconds is not None and seconds <= 0:
            return
        if not self._wait_quietly(seconds):
            self._lost()
            raise ClientGone

    def _wait_quietly(self, seconds: float | None) -> bool:
        """Block up to ``seconds``; False as soon as the client hung up or the fake stops."""
        if self._gone or self._fake._stopping.is_set():
            return False
        wake = self._fake._wake_r
        try:
            readable, _, _ = select.select([self._sock, wake], [], [], seconds)
        except (OSError, ValueError):  # socket already closed
            return False
        if wake in readable:
            return False
        if self._sock in readable:
            try:
                peeked = self._sock.recv(1, socket.MSG_PEEK)
            except OSError:
                return False
            if not peeked:
                return False
            # The client sent bytes (a pipelined request): it is alive; wait without watching.
            return not self._fake._stopping.wait(seconds)
        return True

    # -- bookkeeping --------------------------------------------------------------------------

    def _lost(self) -> None:
        """Record one disconnect for this exchange and stop reusing the connection."""
        self._handler.close_connection = True
        if self._gone:
            return
        self._gone = True
        if not self._fake._stopping.is_set():
            self._fake._update(disconnects=+1)
        self._close_stream()

    def _close_stream(self) -> None:
        if self._streaming:
            self._streaming = False
            self._fake._update(active_streams=-1)


class _Handler(BaseHTTPRequestHandler):
    """Parses HTTP/1.1 requests, records them and hands them to the fake."""

    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Each SSE chunk is its own small write; without NODELAY, Nagle + delayed ACK would
        # hold chunks back ~40 ms and distort streaming tests and benchmarks.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.fake._connection_opened(self)

    def handle(self) -> None:
        """Serve the connection's requests; a peer resetting an idle connection is normal."""
        try:
            super().handle()
        except OSError:
            self.close_connection = True

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        finally:
            self.server.fake._connection_closed(self)

    def log_message(self, format: str, *args: Any) -> None:
        """Silence per-request logging: tests read :attr:`FakeServer.requests` instead."""

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _dispatch(self) -> None:
        body = self._read_body()
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        request = RecordedRequest(
            method=self.command,
            path=self.path,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            json=parsed,
            connection=self.connection_number,
            received_at=time.monotonic(),
        )
        fake = self.server.fake
        exchange = Exchange(self, fake, request)
        fake._record(request)
        try:
            fake.handle(exchange)
        except ClientGone:
            exchange._lost()
        except Exception as exc:  # a bug in the fake: keep it visible to the test
            fake._note_error(exc)
            self.close_connection = True
        finally:
            exchange._close_stream()
            fake._update(in_flight=-1)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _dispatch
    connection_number = 0


class _Server(ThreadingHTTPServer):
    """Threaded server whose stop does not wait on idle keep-alive connections."""

    daemon_threads = True
    block_on_close = False  # FakeServer.stop closes sockets and joins handler threads itself
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], fake: FakeServer) -> None:
        self.fake = fake
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Record instead of printing to stderr: tests assert ``fake.errors == []``."""
        exc = sys.exc_info()[1]
        if exc is not None and not isinstance(exc, OSError):
            self.fake._note_error(exc)


_S = TypeVar("_S", bound="FakeServer")


class FakeServer:
    """Base of the fakes: lifecycle, request records, counters and waiting.

    Use as a context manager (``with FakeLMStudio() as fake:``) or call :meth:`start` /
    :meth:`stop`. Port 0 picks a free port; read it from :attr:`port` after start.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self._requested_port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._cond = threading.Condition()
        self._stats = _Stats()
        self._stopping = threading.Event()
        self._wake_r, self._wake_w = socket.socketpair()
        self._open: dict[_Handler, threading.Thread] = {}
        self._connection_seq = 0

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self: _S) -> _S:
        """Bind and serve in a daemon thread; returns ``self`` for chaining.

        After :meth:`stop`, ``start`` serves again on the same port, so a client configured
        with the URL sees its peer go down and come back (records are kept).
        """
        if self._server is not None:
            return self
        if self._stopping.is_set():
            self._stopping = threading.Event()
            self._wake_r, self._wake_w = socket.socketpair()
        self._server = _Server((self.host, self._requested_port), self)
        self._requested_port = self.port
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.01},
            name=f"{type(self).__name__}:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving, wake every hanging/streaming handler, close all connections."""
        server = self._server
        if server is None:
            return
        self._stopping.set()
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")
        server.shutdown()
        with self._cond:
            open_now = list(self._open.items())
        for handler, _ in open_now:
            with contextlib.suppress(OSError):
                handler.connection.shutdown(socket.SHUT_RDWR)
        for _, thread in open_now:
            thread.join(timeout)
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout)
        self._server = None
        for s in (self._wake_r, self._wake_w):
            s.close()

    def __enter__(self: _S) -> _S:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The bound port (still known after :meth:`stop`, for a later restart)."""
        if self._server is not None:
            return int(self._server.server_address[1])
        if self._requested_port:
            return self._requested_port
        raise RuntimeError("fake server not started")

    @property
    def root_url(self) -> str:
        """``http://127.0.0.1:PORT`` with no path."""
        return f"http://{self.host}:{self.port}"

    # -- what subclasses implement ------------------------------------------------------------

    def handle(self, exchange: Exchange) -> None:
        """Answer one request. Raise :class:`ClientGone` (or let writers raise it) to unwind."""
        raise NotImplementedError

    # -- records ------------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received, in arrival order."""
        with self._cond:
            return list(self._stats.requests)

    def requests_to(self, path: str, method: str | None = None) -> list[RecordedRequest]:
        """Recorded requests whose path (query string ignored) equals ``path``."""
        return [
            r
            for r in self.requests
            if r.path.split("?")[0] == path and (method is None or r.method == method)
        ]

    @property
    def connections(self) -> int:
        """TCP connections accepted since start/reset (keep-alive reuse keeps this low)."""
        with self._cond:
            return self._stats.connections

    @property
    def disconnects(self) -> int:
        """Times a client hung up while a response was still in progress."""
        with self._cond:
            return self._stats.disconnects

    @property
    def active_streams(self) -> int:
        """Chunked responses begun and not yet finished."""
        with self._cond:
            return self._stats.active_streams

    @property
    def completed_streams(self) -> int:
        """Chunked responses that ended with the terminating chunk."""
        with self._cond:
            return self._stats.completed_streams

    @property
    def in_flight(self) -> int:
        """Requests received whose handling has not finished (including hangs and delays)."""
        with self._cond:
            return self._stats.in_flight

    @property
    def errors(self) -> list[BaseException]:
        """Exceptions raised by the fake's own handler code (should stay empty)."""
        with self._cond:
            return list(self._stats.errors)

    def reset_records(self) -> None:
        """Forget recorded requests and zero the counters (live streams stay counted)."""
        with self._cond:
            self._stats.requests.clear()
            self._stats.errors.clear()
            self._stats.connections = 0
            self._stats.disconnects = 0
            self._stats.completed_streams = 0
            self._cond.notify_all()

    def reset(self, timeout: float = 5.0) -> None:
        """As just constructed and started, so one fake can serve many tests: waits (bounded)
        for requests still being answered, restores the constructor's configuration
        (:meth:`_restore`), forgets the records and serves again if it was stopped."""
        self.wait_until(lambda: self._stats.in_flight == 0, timeout)
        self._restore()
        self.reset_records()
        self.start()

    def _restore(self) -> None:
        """Subclasses: put back what the constructor configured (script, models, flags)."""

    # -- waiting ------------------------------------------------------------------------------

    def wait_until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
        """Wait until ``predicate()`` holds (re-checked on every state change of the fake).

        The predicate runs with the fake's lock held, so it may read the counter properties
        (the lock is re-entrant) but must not block.
        """
        with self._cond:
            return self._cond.wait_for(predicate, timeout)

    def wait_for_requests(self, n: int, timeout: float = 5.0) -> bool:
        """True once at least ``n`` requests have been received."""
        return self.wait_until(lambda: len(self._stats.requests) >= n, timeout)

    def wait_for_disconnect(self, timeout: float = 5.0, count: int = 1) -> bool:
        """True once at least ``count`` mid-response disconnects have been seen."""
        return self.wait_until(lambda: self._stats.disconnects >= count, timeout)

    def wait_for_active_streams(self, n: int = 1, timeout: float = 5.0) -> bool:
        """True once at least ``n`` streams are in progress at the same time."""
        return self.wait_until(lambda: self._stats.active_streams >= n, timeout)

    # -- internal bookkeeping -----------------------------------------------------------------

    def _record(self, request: RecordedRequest) -> None:
        with self._cond:
            self._stats.requests.append(request)
            self._stats.in_flight += 1
            self._cond.notify_all()

    def _update(self, **deltas: int) -> None:
        with self._cond:
            for name, delta in deltas.items():
                setattr(self._stats, name, getattr(self._stats, name) + delta)
            self._cond.notify_all()

    def _note_error(self, exc: BaseException) -> None:
        with self._cond:
            self._stats.errors.append(exc)
            self._cond.notify_all()

    def _connection_opened(self, handler: _Handler) -> None:
        with self._cond:
            self._stats.connections += 1
            self._connection_seq += 1
            handler.connection_number = self._connection_seq
            self._open[handler] = threading.current_thread()
            self._cond.notify_all()

    def _connection_closed(self, handler: _Handler) -> None:
        with self._cond:
            self._open.pop(handler, None)
            self._cond.notify_all()
