"""httpx is left out of the server's start and loaded once `initialize` is answered."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import ladder_lsp

PROBE = """
import sys
import ladder_lsp.lsp.server
from ladder_lsp.backends import lazy_http
print(type(sys.modules["httpx"]).__name__)
lazy_http.load()
import httpx
print(type(sys.modules["httpx"]).__name__, httpx.AsyncClient.__name__)
"""


def test_the_server_imports_without_loading_httpx_and_loads_it_on_demand() -> None:
    here = str(Path(ladder_lsp.__file__).resolve().parent.parent)  # this checkout's server/
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([here, os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run(
        [sys.executable, "-c", PROBE],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env=env,
    ).stdout.split()
    assert out == ["_LazyModule", "module", "AsyncClient"]
