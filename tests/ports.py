"""Loopback ports for tests: a free one to bind, and a URL where nothing listens (a server
that is down: connections are refused at once)."""

from __future__ import annotations

import socket


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def dead_url() -> str:
    """An OpenAI base URL on a port nothing listens on."""
    return f"http://127.0.0.1:{free_port()}/v1"
