"""httpx, loaded on first use rather than on import.

Importing httpx costs ~50 ms here (its client stack, urllib, its command line), a tenth of
the server's start-up, and nothing needs it before the first request to a model server:
`initialize` is answered without it, and `load` runs it right after (the first probe
follows). The backends import `httpx` from here; type checkers see the real module.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType


def _lazy(name: str) -> ModuleType:
    """`name` as a module that executes on its first attribute access (or the module itself
    when something imported it already)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ImportError(f"No module named {name!r}")
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module


httpx = _lazy("httpx")


def load() -> None:
    """Finish loading httpx now, on this thread (Python 3.11's lazy modules must not load
    in two threads at once): the server calls it once `initialize` is answered."""
    httpx.__name__  # noqa: B018 - any attribute access executes the module
