"""`ladder-lsp job` as a user runs it: a subprocess on a temporary workspace, the fake LM
Studio as the local model, no Claude key (so a failing unit cannot escalate)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.job_workspace import (
    FILES,
    docstring_reply,
    expected,
    function_of,
    make_workspace,
)
from tests.fakes.lmstudio import FakeLMStudio, Reply


def env_for(tmp: Path) -> dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "LADDER_LEDGER": str(tmp / "ledger.sqlite3"),
            "HOME": str(tmp), "PYTHONPATH": os.environ.get("PYTHONPATH", "")}  # fmt: skip


def job_args(fake: FakeLMStudio, *args: str) -> list[str]:
    return [sys.executable, "-m", "ladder_lsp", "job", *args, "--base-url", fake.base_url]


def ladder_job(
    fake: FakeLMStudio, ws: Path, tmp: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        job_args(fake, *args), capture_output=True, text=True, timeout=60, env=env_for(tmp),
        cwd=ws,
    )  # fmt: skip


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    return make_workspace(tmp_path / "ws")


def texts(ws: Path) -> dict[str, str]:
    return {rel: (ws / rel).read_text() for rel in FILES}


def journalled_units(tmp: Path) -> int:
    path = tmp / "ledger.sqlite3"
    if not path.exists():
        return 0
    with sqlite3.connect(path) as db:
        try:
            return int(db.execute("SELECT COUNT(*) FROM job_units").fetchone()[0])
        except sqlite3.OperationalError:
            return 0


def test_a_plan_of_six_units_over_three_files_is_applied(
    ws: Path, fake_local: FakeLMStudio, tmp_path: Path
) -> None:
    fake_local.responder = docstring_reply
    proc = ladder_job(fake_local, ws, tmp_path, "--plan", "plan.json", "--apply", "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert texts(ws) == {rel: expected(rel) for rel in FILES}
    assert [u["status"] for u in report["units"]] == ["applied"] * 6
    assert report["summary"]["failed"] == []
    assert report["files"] == {rel: "applied" for rel in FILES}
    assert len(fake_local.chat_requests()) == 6


def test_without_apply_it_prints_the_plan_the_diffs_and_the_report(
    ws: Path, fake_local: FakeLMStudio, tmp_path: Path
) -> None:
    fake_local.responder = docstring_reply
    proc = ladder_job(fake_local, ws, tmp_path, "add docstrings to every public function",
                      "shop/tax.py")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert out.startswith("plan: add docstrings to every public function — 2 units\n"), out
    assert '+    """Document net."""' in out and "+++ b" in out
    assert "2/2 units done, 0 failed" in out
    assert texts(ws) == FILES  # printed, not written


def test_a_failing_unit_is_reported_and_the_others_applied(
    ws: Path, fake_local: FakeLMStudio, tmp_path: Path
) -> None:
    def answer(request: dict[str, Any]) -> Reply:
        if function_of(request) == "net":
            return Reply("Sorry, I cannot help with that.")
        return docstring_reply(request)

    fake_local.responder = answer
    proc = ladder_job(fake_local, ws, tmp_path, "--plan", "plan.json", "--apply")
    assert proc.returncode == 2, proc.stderr
    assert texts(ws) == {
        rel: expected(rel, frozenset({"net"}) if rel == "shop/tax.py" else frozenset())
        for rel in FILES
    }
    failed = [line for line in proc.stdout.splitlines() if line.lstrip().startswith("failed")]
    assert len(failed) == 1 and " net " in failed[0], proc.stdout
    assert "5/6 units done, 1 failed" in proc.stdout


@pytest.mark.parametrize(
    ("plan", "message"),
    [
        ({"goal": "g", "units": [{"id": "a", "path": "shop/tax.py", "symbol": "taxx",
                                  "action": "docstring"}]}, "unit 'a': no symbol 'taxx'"),
        ({"goal": "g", "units": [
            {"id": "a", "path": "shop/tax.py", "lines": [1, 5], "action": "refactor"},
            {"id": "b", "path": "shop/tax.py", "symbol": "net", "action": "docstring"}]},
         "unit 'b' overlaps unit 'a'"),
        ({"goal": "g", "units": [{"id": "a", "path": "../outside.py", "action": "refactor"}]},
         "unit 'a': path '../outside.py' is outside the workspace"),
        ({"goal": "g", "units": [
            {"id": "a", "path": "shop/tax.py", "symbol": "tax", "action": "docstring",
             "dependsOn": ["b"]},
            {"id": "b", "path": "shop/tax.py", "symbol": "net", "action": "docstring",
             "dependsOn": ["a"]}]}, "dependsOn makes a cycle"),
    ],
)  # fmt: skip
def test_an_invalid_plan_is_refused_and_nothing_runs(
    ws: Path, fake_local: FakeLMStudio, tmp_path: Path, plan: dict[str, Any], message: str
) -> None:
    (ws / "bad.json").write_text(json.dumps(plan))
    proc = ladder_job(fake_local, ws, tmp_path, "--plan", "bad.json", "--apply")
    assert proc.returncode == 1
    assert message in proc.stderr and "nothing was run" in proc.stderr, proc.stderr
    assert fake_local.chat_requests() == []
    assert texts(ws) == FILES


def _hang_on(names: set[str]) -> Any:
    def answer(request: dict[str, Any]) -> Reply:
        if function_of(request) in names:
            return Reply("```python\npass\n```", first_byte_delay=60)
        return docstring_reply(request)

    return answer


def _wait(condition: Any, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@contextlib.contextmanager
def job_process(fake: FakeLMStudio, ws: Path, tmp: Path) -> Iterator[subprocess.Popen[str]]:
    """`ladder-lsp job --plan plan.json --apply` running in the background, killed at the end
    if still running (a hung job must not answer the next test's fake). Its SIGINT is the
    default, as under a terminal: started from a background job, pytest ignores SIGINT, and a
    child would inherit that."""
    proc = subprocess.Popen(
        job_args(fake, "--plan", "plan.json", "--apply"), cwd=ws, env=env_for(tmp),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_ctrl_c_mid_job_writes_nothing(ws: Path, fake_local: FakeLMStudio, tmp_path: Path) -> None:
    fake_local.responder = _hang_on({"slug"})
    with job_process(fake_local, ws, tmp_path) as proc:
        _wait(lambda: journalled_units(tmp_path) >= 5, "five finished units")
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 1, err
    assert "cancelled; nothing was written" in err
    assert texts(ws) == FILES


def test_resume_after_a_killed_process_runs_only_what_is_left(
    ws: Path, fake_local: FakeLMStudio, tmp_path: Path
) -> None:
    fake_local.responder = _hang_on({"clamp", "slug"})
    with job_process(fake_local, ws, tmp_path) as proc:
        _wait(lambda: journalled_units(tmp_path) >= 4, "four finished units")
        proc.kill()
        _out, err = proc.communicate(timeout=30)
    job_id = err.split("--resume ")[1].split(")")[0]
    assert texts(ws) == FILES
    asked_before = {function_of(r) for r in fake_local.chat_requests()}
    assert asked_before == {"total", "count", "tax", "net", "clamp", "slug"}
    first = len(fake_local.chat_requests())
    fake_local.responder = docstring_reply
    resumed = ladder_job(fake_local, ws, tmp_path, "--resume", job_id, "--apply")
    assert resumed.returncode == 0, resumed.stderr
    again = [function_of(r) for r in fake_local.chat_requests()[first:]]
    assert sorted(again) == ["clamp", "slug"]
    assert texts(ws) == {rel: expected(rel) for rel in FILES}
    assert "(done earlier)" in resumed.stdout


def test_a_file_changed_on_disk_during_the_job_is_skipped_and_reported(
    ws: Path, fake_local: FakeLMStudio, tmp_path: Path
) -> None:
    edited = "# edited by someone else\n" + FILES["shop/util.py"]

    def answer(request: dict[str, Any]) -> Reply:
        if function_of(request) == "slug":
            (ws / "shop/util.py").write_text(edited)
        return docstring_reply(request)

    fake_local.responder = answer
    proc = ladder_job(fake_local, ws, tmp_path, "--plan", "plan.json", "--apply")
    assert proc.returncode == 2, proc.stderr
    assert (ws / "shop/util.py").read_text() == edited
    assert (ws / "shop/tax.py").read_text() == expected("shop/tax.py")
    assert "util.py changed on disk during the job; skipped." in proc.stderr
    stale = [line for line in proc.stdout.splitlines() if line.lstrip().startswith("stale")]
    assert len(stale) == 2, proc.stdout
