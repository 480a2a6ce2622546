"""Real HTTP fakes of Ladder's peers (LM Studio / OpenAI-compatible servers and Claude).

Each fake is a stdlib HTTP/1.1 server on 127.0.0.1 in a daemon thread, scripted per request
and recording what it received, so tests and benchmarks drive the real clients against it::

    with FakeLMStudio() as lm:
        lm.push(Reply("def f(): ..."), Reply(fault=Fault.hang()))
        ...  # point Ladder at lm.base_url
        assert lm.wait_for_disconnect(timeout=5)

`backends.py` holds in-process fakes of the Backend protocol instead (no sockets), for Engine
unit tests that need no HTTP.

Names are imported lazily (PEP 562) so ``python -m tests.fakes.lmstudio`` does not import
its own module twice.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._http import ClientGone, Exchange, FakeServer, RecordedRequest
    from .anthropic import (
        ClaudeReply,
        FakeAnthropic,
        claude_error,
        error_body,
        error_event,
        sent_api_key,
    )
    from .backends import Answer, FakeBackend, FakeBackends, FakeLocalServer
    from .lmstudio import NO_MODELS_LOADED, FakeLMStudio, Reply, no_models_loaded, openai_error
    from .script import Fault, FaultKind, Thought, split_pieces

_HOMES = {
    "._http": ["ClientGone", "Exchange", "FakeServer", "RecordedRequest"],
    ".backends": ["Answer", "FakeBackend", "FakeBackends", "FakeLocalServer"],
    ".anthropic": [
        "ClaudeReply",
        "FakeAnthropic",
        "claude_error",
        "error_body",
        "error_event",
        "sent_api_key",
    ],
    ".lmstudio": ["NO_MODELS_LOADED", "FakeLMStudio", "Reply", "no_models_loaded", "openai_error"],
    ".script": ["Fault", "FaultKind", "Thought", "split_pieces"],
}
_WHERE = {name: module for module, names in _HOMES.items() for name in names}

__all__ = [  # noqa: RUF022 -- grouped like _HOMES
    "ClientGone",
    "Exchange",
    "FakeServer",
    "RecordedRequest",
    "Answer",
    "FakeBackend",
    "FakeBackends",
    "FakeLocalServer",
    "ClaudeReply",
    "FakeAnthropic",
    "claude_error",
    "error_body",
    "error_event",
    "sent_api_key",
    "NO_MODELS_LOADED",
    "FakeLMStudio",
    "Reply",
    "no_models_loaded",
    "openai_error",
    "Fault",
    "FaultKind",
    "Thought",
    "split_pieces",
]
assert sorted(__all__) == sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name], __name__), name)
