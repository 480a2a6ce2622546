"""Scripting shared by the fakes: scripted replies, faults and the reply driver.

A test says *what the peer does* — answer this text in these chunks, fail with this status,
hang, drop after three chunks — and each fake only says *how its wire format spells it*
(a :class:`StreamFormat` plus the whole-body JSON). So the fault behaviour is identical for the
local-model fake and the Claude fake, and is written once.
"""

from __future__ import annotations

import enum
import itertools
import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Generic, TypeVar

from ._http import ClientGone, Exchange


class FaultKind(enum.Enum):
    NONE = "none"  # behave normally; lets the driver read ``fault.kind`` without None checks
    HTTP_ERROR = "http_error"
    HANG = "hang"
    HANG_AFTER_DONE = "hang_after_done"
    DROP_AFTER = "drop_after"
    GARBAGE = "garbage"
    ENDLESS = "endless"
    SLOW_LOAD = "slow_load"
    ERROR_EVENT = "error_event"


@dataclass(frozen=True)
class Fault:
    """Something going wrong at the peer. Build with the class methods, e.g.
    ``Fault.http_error(429, body, headers={"retry-after": "1"})`` or ``Fault.drop_after(3)``.
    """

    kind: FaultKind
    status: int = 500
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    after: int = 0
    seconds: float = 0.0
    send_headers: bool = False
    reset: bool = False
    html: bool = False

    @classmethod
    def http_error(
        cls, status: int, body: Any = None, headers: Mapping[str, str] | None = None
    ) -> Fault:
        """Answer ``status`` with ``body`` (dict/list → JSON, str/bytes → as is;
        ``None`` → the fake's default error shape for that status)."""
        return cls(FaultKind.HTTP_ERROR, status=status, body=body, headers=dict(headers or {}))

    @classmethod
    def hang(cls, send_headers: bool = False) -> Fault:
        """Never answer (optionally after sending 200 stream headers) until the client
        disconnects or the fake stops."""
        return cls(FaultKind.HANG, send_headers=send_headers)

    @classmethod
    def hang_after_done(cls) -> Fault:
        """Stream the whole answer, its end marker included (``[DONE]``, ``message_stop``),
        then never end the body until the client disconnects or the fake stops."""
        return cls(FaultKind.HANG_AFTER_DONE)

    @classmethod
    def drop_after(cls, n: int, reset: bool = False) -> Fault:
        """Send ``n`` content chunks, then close the socket without finishing the body
        (``reset=True``: TCP RST instead of FIN)."""
        return cls(FaultKind.DROP_AFTER, after=n, reset=reset)

    @classmethod
    def garbage(cls, html: bool = False) -> Fault:
        """200 with an event stream of non-JSON ``data:`` lines, or (``html=True``) an HTML
        page, like a proxy or a captive portal answering instead of the model server."""
        return cls(FaultKind.GARBAGE, html=html)

    @classmethod
    def endless(cls, interval: float = 0.005) -> Fault:
        """Stream content forever (one chunk per ``interval``) until the client disconnects."""
        return cls(FaultKind.ENDLESS, seconds=interval)

    @classmethod
    def slow_load(cls, seconds: float) -> Fault:
        """Send nothing for ``seconds`` (a model being loaded just in time), then answer."""
        return cls(FaultKind.SLOW_LOAD, seconds=seconds)

    @classmethod
    def error_event(cls, after: int, body: Any = None) -> Fault:
        """Send ``after`` content chunks, then an error event in the fake's stream format
        (``body`` ``None`` → the fake's default, e.g. Claude's ``overloaded_error``)."""
        return cls(FaultKind.ERROR_EVENT, after=after, body=body)


NO_FAULT = Fault(FaultKind.NONE)
AFTER_LIMIT = 30.0  # seconds a reply's `after` may hold it back

_PIECE = re.compile(r"\s*\S{1,4}|\s+")


def split_pieces(text: str) -> list[str]:
    """Split text into token-like pieces of about four characters; ``"".join`` restores it."""
    return _PIECE.findall(text)


class Thought(str):
    """A reasoning piece in ``ReplyBase.chunks``: a fake streams it in its reasoning field
    (``delta.reasoning_content``, Claude's ``thinking_delta``) instead of the answer's, so
    ``chunks=[Thought("hmm "), "def f", Thought("ok"), "(): ..."]`` interleaves the two."""


@dataclass
class ReplyBase:
    """Fields every scripted reply has; each fake adds its own (finish/stop reason, usage).

    ``first_byte_delay`` holds back everything, headers included (time to first token);
    ``chunk_delay`` spaces the content chunks of a stream (tokens per second);
    ``finish_delay`` comes between the last content chunk and the finish chunk: a real
    server decodes the end-of-sequence token in one more step (llama.cpp: one token gap);
    ``after`` holds back everything until it returns true (polled, at most ``AFTER_LIMIT``
    seconds), so a test can order the answer after something it observes (the editor shows
    the run's progress) instead of hoping a delay is long enough on a loaded machine.
    """

    text: str = ""
    chunks: list[str] | None = None
    first_byte_delay: float = 0.0
    chunk_delay: float = 0.0
    finish_delay: float = 0.0
    fault: Fault | None = None
    after: Callable[[], bool] | None = None

    def pieces(self) -> list[str]:
        """The content deltas to stream: ``chunks`` if given, else ``text`` split up."""
        return list(self.chunks) if self.chunks is not None else split_pieces(self.text)

    @property
    def full_text(self) -> str:
        """The answer as a whole body carries it: the pieces that are not reasoning."""
        return "".join(p for p in self.pieces() if not isinstance(p, Thought))

    @property
    def reasoning_text(self) -> str:
        return "".join(p for p in self.pieces() if isinstance(p, Thought))


R = TypeVar("R", bound=ReplyBase)


class Script(Generic[R]):
    """Chooses the reply for each request: queued replies first, then ``responder``, then
    ``default``. Thread-safe, since handler threads pop while tests push. ``after`` is the
    hold of every reply that has none of its own (see :class:`ReplyBase`)."""

    def __init__(self, reply_type: type[R], default: R) -> None:
        self._reply_type = reply_type
        self._queue: deque[R] = deque()
        self._lock = threading.Lock()
        self.default: R = default
        self.responder: Callable[[Any], R | str | None] | None = None
        self.after: Callable[[], bool] | None = None

    def push(self, *replies: R | str) -> None:
        with self._lock:
            self._queue.extend(self._coerce(r) for r in replies)

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._queue)

    def next(self, request_json: Any) -> R:
        reply = self._choose(request_json)
        if self.after is not None and reply.after is None:
            return replace(reply, after=self.after)
        return reply

    def _choose(self, request_json: Any) -> R:
        with self._lock:
            if self._queue:
                return self._queue.popleft()
        if self.responder is not None:
            produced = self.responder(request_json)
            if produced is not None:
                return self._coerce(produced)
        return self.default

    def _coerce(self, reply: R | str) -> R:
        return self._reply_type(text=reply) if isinstance(reply, str) else reply


class Scripted(Generic[R]):
    """Mixin for a fake: ``push``/``default``/``responder`` backed by ``self.script``, so a
    test writes ``fake.push(Reply(...))`` and ``fake.default = "text"``."""

    script: Script[R]

    def push(self, *replies: R | str) -> None:
        """Queue replies, consumed one per request before ``responder``/``default``."""
        self.script.push(*replies)

    @property
    def default(self) -> R:
        """The reply when the queue is empty and no responder answers (a str is wrapped)."""
        return self.script.default

    @default.setter
    def default(self, reply: R | str) -> None:
        self.script.default = self.script._coerce(reply)

    @property
    def responder(self) -> Callable[[Any], R | str | None] | None:
        """``(request_json) -> Reply | str | None`` for content-dependent answers; returning
        None falls through to ``default``. Runs on the fake's handler thread."""
        return self.script.responder

    @responder.setter
    def responder(self, fn: Callable[[Any], R | str | None] | None) -> None:
        self.script.responder = fn

    def answer_after(self, condition: Callable[[], bool]) -> None:
        """Hold every reply (until the fake is reset) until ``condition()`` holds, polled on
        the handler thread: e.g. ``Editor.progress_begun``, for a test that reads the run's
        progress, which begins beside the run and could begin after a fast run's end."""
        self.script.after = condition


GARBAGE_SSE = [b"data: <html><body>502 Bad Gateway</body></html>\n\n", b'data: {"choi\n\n']
GARBAGE_HTML = b"<!DOCTYPE html><html><head><title>Sign in</title></head><body>Proxy</body></html>"


@dataclass
class StreamFormat:
    """How a fake spells a stream: events before, per piece and after the content (
    ``end_content`` first: what closes the content, known only once it streamed), a
    mid-stream error event, and the non-JSON lines of :meth:`Fault.garbage`."""

    head: list[bytes]
    piece: Callable[[str], bytes]
    tail: list[bytes]
    error: Callable[[Any], bytes]
    garbage: list[bytes] = field(default_factory=lambda: list(GARBAGE_SSE))
    end_content: Callable[[], list[bytes]] = field(default=lambda: [])


def sse(data: Any, event: str | None = None) -> bytes:
    """One server-sent event; dicts become compact JSON like the real servers send."""
    payload = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    prefix = f"event: {event}\n" if event else ""
    return f"{prefix}data: {payload}\n\n".encode()


def run_reply(
    ex: Exchange,
    reply: ReplyBase,
    *,
    stream: bool,
    fmt: StreamFormat,
    whole: Callable[[], Any],
    error_body: Callable[[int], Any],
    headers: Mapping[str, str] | None = None,
) -> None:
    """Play ``reply`` (with its fault) onto the exchange.

    ``whole`` builds the non-streaming JSON body; ``error_body(status)`` the fake's default
    error shape. Raises :class:`ClientGone` through when the client leaves.
    """
    fault = reply.fault or NO_FAULT
    kind = fault.kind
    delay = reply.first_byte_delay + (fault.seconds if kind is FaultKind.SLOW_LOAD else 0.0)
    if reply.after is not None:
        deadline = time.monotonic() + AFTER_LIMIT
        while not reply.after() and time.monotonic() < deadline:
            ex.pause(0.005)
    ex.pause(delay)
    if kind is FaultKind.HTTP_ERROR:
        send_body(
            ex,
            fault.status,
            error_body(fault.status) if fault.body is None else fault.body,
            {**(headers or {}), **fault.headers},
        )
        return
    if kind is FaultKind.HANG:
        if fault.send_headers:
            ex.begin_stream(headers=headers)
        ex.pause(None)
        return
    if kind is FaultKind.GARBAGE:
        if fault.html:
            ex.send_bytes(200, GARBAGE_HTML, "text/html; charset=utf-8", headers)
            return
        ex.begin_stream(headers=headers)
        for line in fmt.garbage:
            ex.write_chunk(line)
        ex.end_stream()
        return
    if stream:
        _stream(ex, reply, fmt, headers)
    else:
        _whole(ex, reply, whole, error_body, headers)


def _stream(
    ex: Exchange, reply: ReplyBase, fmt: StreamFormat, headers: Mapping[str, str] | None
) -> None:
    fault = reply.fault or NO_FAULT
    kind = fault.kind
    ex.begin_stream(headers=headers)
    for event in fmt.head:
        ex.write_chunk(event)
    pieces: Iterable[str] = reply.pieces()
    gap = reply.chunk_delay
    if kind is FaultKind.ENDLESS:
        pieces = itertools.cycle(list(pieces) or ["."])
        gap = max(gap, fault.seconds)
    stop_at = fault.after if kind in (FaultKind.DROP_AFTER, FaultKind.ERROR_EVENT) else None
    started = time.monotonic()
    for i, piece in enumerate(_until(pieces, stop_at)):
        if i:  # at a steady rate, as a model decodes: a late wake-up does not delay the rest
            ex.pause(started + i * gap - time.monotonic())
        ex.write_chunk(fmt.piece(piece))
    if kind is FaultKind.DROP_AFTER:
        ex.abort(reset=fault.reset)
        return
    if kind is FaultKind.ERROR_EVENT:
        ex.write_chunk(fmt.error(fault.body))
        ex.end_stream()
        return
    if reply.finish_delay:
        ex.pause(reply.finish_delay)
    for event in (*fmt.end_content(), *fmt.tail):
        ex.write_chunk(event)
    if kind is FaultKind.HANG_AFTER_DONE:
        ex.pause(None)
        return
    ex.end_stream()


def _until(pieces: Iterable[str], stop_at: int | None) -> Iterator[str]:
    return iter(pieces) if stop_at is None else itertools.islice(pieces, stop_at)


def _whole(
    ex: Exchange,
    reply: ReplyBase,
    whole: Callable[[], Any],
    error_body: Callable[[int], Any],
    headers: Mapping[str, str] | None,
) -> None:
    """Non-streaming answer; stream-only faults get their closest whole-body equivalent."""
    fault = reply.fault or NO_FAULT
    kind = fault.kind
    if kind is FaultKind.ENDLESS:
        _trickle_forever(ex, fault.seconds, headers)
        return
    body = json.dumps(whole()).encode()
    if kind is FaultKind.DROP_AFTER:
        ex.begin_stream(content_type="application/json", headers=headers)
        ex.write_chunk(body[: len(body) // 2])
        ex.abort(reset=fault.reset)
        return
    if kind is FaultKind.ERROR_EVENT:
        send_body(ex, 500, error_body(500) if fault.body is None else fault.body, headers)
        return
    ex.send_bytes(200, body, "application/json", headers)


def _trickle_forever(ex: Exchange, interval: float, headers: Mapping[str, str] | None) -> None:
    """Headers, then whitespace forever: a JSON body that never completes."""
    ex.begin_stream(content_type="application/json", headers=headers)
    for _ in itertools.count():
        ex.write_chunk(b" ")
        ex.pause(interval)


def send_body(
    ex: Exchange, status: int, body: Any, headers: Mapping[str, str] | None = None
) -> None:
    """Send an error/any body: JSON for dicts and lists, text for str, raw for bytes."""
    if isinstance(body, bytes):
        ex.send_bytes(status, body, "application/octet-stream", headers)
    elif isinstance(body, str):
        ex.send_bytes(status, body.encode(), "text/plain; charset=utf-8", headers)
    else:
        ex.send_json(status, body, headers)


__all__ = [
    "ClientGone",
    "Fault",
    "FaultKind",
    "ReplyBase",
    "Script",
    "Scripted",
    "StreamFormat",
    "Thought",
    "run_reply",
    "send_body",
    "split_pieces",
    "sse",
]
