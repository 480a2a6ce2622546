"""The fake LM Studio with timestamps: when each request arrived, when its first content chunk
and its end went out, when a client hung up, and how many streams ran at once.

Times are ``time.monotonic()`` in this process, the clock the benchmark's LSP client stamps
messages with, so "first token sent by the backend" and "first progress report received by the
editor" can be subtracted directly.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from typing import Any

from tests.fakes._http import Exchange
from tests.fakes.lmstudio import FakeLMStudio, Reply

_FENCED = re.compile(r"```[\w+-]*\n(.*?)```", re.S)


@dataclass
class StreamTimes:
    """One chat completion as the fake served it."""

    received_at: float
    body: Any
    first_content_at: float | None = None
    ended_at: float | None = None


class TimedFakeLMStudio(FakeLMStudio):
    """`FakeLMStudio` recording stream timings (see the module docstring)."""

    def __init__(self, **kwargs: Any) -> None:
        FakeLMStudio.__init__(self, **kwargs)
        self.streams: list[StreamTimes] = []
        self.disconnect_times: list[float] = []
        self.peak_streams = 0
        self._lock = threading.Lock()

    def handle(self, ex: Exchange) -> None:
        path = ex.request.path.split("?")[0].rstrip("/")
        if not path.endswith("/chat/completions"):
            super().handle(ex)
            return
        record = StreamTimes(ex.request.received_at, ex.request.json)
        with self._lock:
            self.streams.append(record)
        write_chunk, end_stream = ex.write_chunk, ex.end_stream

        def timed_write(data: bytes) -> None:
            write_chunk(data)
            if (
                record.first_content_at is None
                and b'"content":"' in data
                and b'"content":""' not in data
            ):
                record.first_content_at = time.monotonic()

        def timed_end() -> None:
            record.ended_at = time.monotonic()
            end_stream()

        ex.write_chunk = timed_write  # type: ignore[method-assign]
        ex.end_stream = timed_end  # type: ignore[method-assign]
        super().handle(ex)

    def _update(self, **deltas: int) -> None:
        if deltas.get("disconnects", 0) > 0:
            self.disconnect_times.append(time.monotonic())
        super()._update(**deltas)
        if deltas.get("active_streams", 0) > 0:
            self.peak_streams = max(self.peak_streams, self.active_streams)

    def reset_timings(self) -> None:
        with self._lock:
            self.streams.clear()
        self.disconnect_times.clear()
        self.peak_streams = 0
        self.reset_records()


def spread(text: str, seconds: float, first_byte: float = 0.0) -> Reply:
    """A reply streamed as a model streams it: the content chunks spaced evenly over
    `seconds`, then the finish chunk one gap later, as a real server's end-of-sequence
    step (llama.cpp with SmolLM2 here: last token → finish chunk 13.6-16.8 ms, the token
    gap 13.8-17.4 ms; `tests/benchmarks/README.md`)."""
    from tests.fakes.script import split_pieces

    pieces = split_pieces(text)
    gap = seconds / max(1, len(pieces))
    return Reply(chunks=pieces, chunk_delay=gap, finish_delay=gap, first_byte_delay=first_byte)


def last_code_block(body: Any) -> str | None:
    """The code the prompt asks about: the last fenced block of the user message."""
    try:
        user = next(m["content"] for m in reversed(body["messages"]) if m["role"] == "user")
    except (KeyError, StopIteration, TypeError):
        return None
    blocks = _FENCED.findall(user)
    return str(blocks[-1]) if blocks else None


def renaming_responder(old: str, new: str, seconds: float = 0.0, first_byte: float = 0.0) -> Any:
    """A responder that answers any edit prompt with its own code, `old` renamed to `new`
    (a valid, checked refactor of whatever function or chunk it was sent), streamed over
    `seconds` after `first_byte`."""

    def respond(body: Any) -> Reply | None:
        code = last_code_block(body)
        if code is None:
            return None
        answer = f"```python\n{code.replace(old, new)}```"
        return (
            spread(answer, seconds, first_byte)
            if seconds
            else Reply(answer, first_byte_delay=first_byte)
        )

    return respond
