"""Progress of a streaming answer as the user sees it: `local model · qwen · 42 tok · 31 tok/s`.

Stream events arrive per token; the editor and the terminal need a line at most every
`min_interval` seconds, and the rate is measured from the first token (not from the request,
which includes the model's time to read the prompt). A reasoning model's thinking shows as
`thinking · N tok` until the answer starts; the answer's count and rate start from its own
first token.
"""

from __future__ import annotations

import time

from ladder_lsp.backends.base import StreamEvent
from ladder_lsp.engine.run_types import Report


class ProgressMeter:
    """Stream events → throttled progress lines: `local model · 42 tok · 31 tok/s`."""

    def __init__(self, report: Report, min_interval: float = 0.1) -> None:
        self._report = report
        self._min = min_interval
        self.label = ""
        self.tokens = 0
        self.thinking = 0
        self._first: float | None = None
        self._last_sent = 0.0
        self.rate = 0.0

    def start(self, label: str) -> None:
        self.label, self.tokens, self._first, self.rate = label, 0, None, 0.0
        self.thinking = 0
        self._report(label)

    def __call__(self, event: StreamEvent) -> None:
        now = time.monotonic()
        if event.restart:
            self.tokens, self._first, self.rate = 0, None, 0.0
        if event.status:
            self._report(f"{self.label} · {event.status}")
            return
        if event.reasoning and not event.text:
            self.thinking += 1
            if self.thinking == 1 or now - self._last_sent >= self._min:
                self._last_sent = now
                self._report(f"{self.label} · thinking · {self.thinking} tok")
            return
        if not event.text:
            return
        self.tokens += 1
        if self._first is None:
            self._first = now
        elapsed = now - self._first
        if elapsed > 0:
            self.rate = (self.tokens - 1) / elapsed
        if self.tokens == 1 or now - self._last_sent >= self._min:
            self._last_sent = now
            rate = f" · {self.rate:.0f} tok/s" if self.rate else ""
            self._report(f"{self.label} · {self.tokens} tok{rate}")
