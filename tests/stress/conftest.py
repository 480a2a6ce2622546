"""Shared pieces of the stress suite: server processes (one per module, so thousands of
requests fit the time budget), fakes, and the figures every test adds to `results.json`."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.stress.client import LspServer
from tests.stress.results import RESULTS

INTERNAL_ERROR = re.compile(r"internal error|Error in server|Traceback \(most recent call last\)")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    RESULTS.write()


@contextlib.contextmanager
def running_server(
    category: str, workdir: Path, init_options: dict[str, Any], **kwargs: Any
) -> Iterator[LspServer]:
    """A started server; at the end: shutdown, and crash figures for the category.

    A crash is a server that exited before it was told to, or did not exit cleanly on
    shutdown/exit. Tracebacks in its stderr count as internal errors.
    """
    server = LspServer(workdir, init_options, **kwargs)
    RESULTS.add(category, servers=1)
    try:
        server.start()
        yield server
    finally:
        died_early = server.proc is not None and not server.alive()
        code = server.stop()
        tracebacks = count_tracebacks(server.stderr_text())
        RESULTS.add(
            category,
            crashes=int(died_early or code not in (0,)),
            internal_errors=tracebacks,
        )


_RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ ", re.MULTILINE)
# pygls' reader logs a body that is not JSON at all with a traceback (the fuzz tests send such)
EXPECTED_TRACEBACKS = ("json.decoder.JSONDecodeError", "UnicodeDecodeError: 'utf-")


def count_tracebacks(stderr: str) -> int:
    """Logged tracebacks, except the reader's report of a body that is not JSON."""
    records = _RECORD.split(stderr)
    return sum(
        1
        for record in records
        if "Traceback (most recent call last)" in record
        and not (
            record.split("\n", 1)[0].endswith("Unable to handle message")
            and any(marker in record for marker in EXPECTED_TRACEBACKS)
        )
    )


def internal_error_messages(server: LspServer, since: int = 0) -> list[str]:
    """Messages that mean a handler crashed (what users would see as a bug)."""
    return [
        m["message"] for m in server.messages(since) if INTERNAL_ERROR.search(m.get("message", ""))
    ]
