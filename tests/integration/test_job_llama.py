"""A workspace job through the CLI against a real llama.cpp server running SmolLM2-135M:
docstring units over three files. The model is often wrong, so the test holds Ladder's
invariants: every file still parses, an applied unit changed only docstrings and gave its
function one, a failed unit's function is untouched, the exit status says which happened.
How many units were applied is recorded in the outcome table."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from ladder_lsp.analysis.python.outline import outline
from tests.e2e.job_workspace import FILES, make_workspace
from tests.integration.conftest import llama_settings
from tests.integration.peers import LlamaServer

pytestmark = pytest.mark.integration


def _without_docstrings(text: str) -> str:
    tree = ast.parse(text)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            value = body[0].value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                node.body = body[1:] or [ast.Pass()]  # type: ignore[attr-defined]
    return ast.dump(tree)


def test_a_docstring_job_over_three_files(
    llama: LlamaServer, tmp_path: Path, report: Callable[..., None]
) -> None:
    ws = make_workspace(tmp_path / "ws")
    config = tmp_path / "settings.json"
    settings = llama_settings(llama, tmp_path)
    # llama-cpp-python's server aborts the generation in flight when another request
    # arrives (its interrupt_requests): one server is one slot
    settings["local"]["maxParallel"] = 1
    config.write_text(json.dumps(settings))
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path),
           "PYTHONPATH": os.environ.get("PYTHONPATH", "")}  # fmt: skip
    proc = subprocess.run(
        [sys.executable, "-m", "ladder_lsp", "job", "add docstrings to every public function",
         "--apply", "--json", "--config", str(config)],
        cwd=ws, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert proc.returncode in (0, 2), proc.stderr
    result = json.loads(proc.stdout)
    rows = result["units"]
    assert len(rows) == 6
    for rel, before in FILES.items():
        after = (ws / rel).read_text()
        assert _without_docstrings(after) == _without_docstrings(before), rel
        documented = {s.name for s in outline(after) or [] if s.has_docstring}
        for row in rows:
            if row["path"] != rel:
                continue
            symbol = row["where"]
            assert (symbol in documented) == (row["status"] == "applied"), row
    applied = [r["id"] for r in rows if r["status"] == "applied"]
    assert (proc.returncode == 0) == (len(applied) == 6)
    failed = "; ".join(f"{r['id']}: {r['message']}" for r in rows if r["status"] != "applied")
    report(
        "llama.cpp · SmolLM2-135M · workspace job",
        "ladder-lsp job 'add docstrings…' over 3 files (6 units), --apply",
        f"answered {len(rows)} units in {sum(r['seconds'] for r in rows):.0f} s of unit time",
        f"{len(applied)}/6 applied, every one passing the guards; left unchanged: {failed or '-'}",
    )
