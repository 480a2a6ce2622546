"""Real editors as LSP clients of Ladder: Neovim (0.7.2, headless) and Emacs (28.2 + eglot 1.9,
batch), each against the fake LM Studio running in this process.

Each editor opens a Python file, lists code actions for a range, chooses "Refactor with local
model" — through its own code-action UI path (the menu answered by the driver script) and
through raw requests — applies the server's `workspace/applyEdit` with its own code, saves,
and the file on disk must equal the expected text byte for byte. One file has é and an emoji
before a partial-line selection, so the editor's UTF-16 columns meet Ladder's. The drivers
live in `editors/`; every editor process has a hard timeout, and a failure prints the editor's
output, its LSP log and Ladder's stderr.
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_run_local import CART, CHATTY_ANSWER
from tests.fakes.lmstudio import FakeLMStudio, Reply
from tests.integration.peers import INSTALL, editor_available, eglot_available, require

pytestmark = pytest.mark.integration

EDITORS_DIR = Path(__file__).parent / "editors"
SNIPPETS = EDITORS_DIR / "snippets"
SNIPPET_URL = "http://localhost:1234/v1"  # LM Studio's default, as users paste it
TIMEOUT = 60  # seconds, per editor process (hard: the process is killed)
TITLE = "Refactor with local model"

# The same document and chatty answer as the LSP end-to-end tests: prose, a fence, the
# method dedented, more prose.
CART_ANSWER = CHATTY_ANSWER
CART_EXPECTED = CART.replace(
    "        for i in items:\n            t = t + i.price * i.qty\n",
    "        for item in items:\n            t += item.price * item.qty\n",
)

PRICES = 'label = "é😀"; total = price * qty  # café\nnext_line = 1\n'
PRICES_ANSWER = "`qty * price`"
PRICES_EXPECTED = 'label = "é😀"; total = qty * price  # café\nnext_line = 1\n'


@dataclass(frozen=True)
class Case:
    name: str
    filename: str
    text: str
    answer: str
    expected: str
    select: dict[str, Any]  # {line, text} (partial line) or {first_line, last_line}


CASES = {
    "ascii-method": Case(
        "Cart.total lines 8-12", "cart.py", CART, CART_ANSWER, CART_EXPECTED,
        {"first_line": 7, "last_line": 11},
    ),
    "emoji-partial-line": Case(
        '"price * qty" after é😀 on the same line', "prices.py", PRICES, PRICES_ANSWER,
        PRICES_EXPECTED, {"line": 0, "text": "price * qty"},
    ),
}  # fmt: skip


@pytest.fixture
def fake_local() -> Any:
    with FakeLMStudio() as fake:
        yield fake


@dataclass
class Session:
    """One editor run: where everything is, and what to print when it goes wrong."""

    tmp: Path
    file: Path
    result: Path
    ladder_stderr: Path
    env: dict[str, str]
    proc: subprocess.CompletedProcess[str] | None = None
    extra_logs: tuple[Path, ...] = ()

    def diagnostics(self) -> str:
        parts = []
        if self.proc is not None:
            parts.append(f"exit code: {self.proc.returncode}")
            parts.append(f"--- editor stdout ---\n{self.proc.stdout[-6000:]}")
            parts.append(f"--- editor stderr ---\n{self.proc.stderr[-6000:]}")
        for path in (self.result, self.ladder_stderr, *self.extra_logs):
            text = path.read_text("utf-8", "replace") if path.exists() else "(missing)"
            parts.append(f"--- {path.name} ---\n{text[-8000:]}")
        return "\n".join(parts)


def new_session(tmp_path: Path, case: Case) -> Session:
    root = tmp_path / "project"
    root.mkdir()
    file = root / case.filename
    file.write_bytes(case.text.encode("utf-8"))
    home = tmp_path / "home"
    home.mkdir()
    stderr = tmp_path / "ladder-stderr.log"
    # `ladder-lsp` on PATH, as the snippets expect: this checkout's server, stderr kept
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "ladder-lsp"
    wrapper.write_text(
        f'#!/bin/sh\nexec "{sys.executable}" -m ladder_lsp --log-level DEBUG "$@" 2>>"{stderr}"\n',
        "utf-8",
    )
    wrapper.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "LADDER_"))}
    env.update(
        HOME=str(home),
        PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_CACHE_HOME=str(home / ".cache"),
        XDG_STATE_HOME=str(home / ".local" / "state"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        LANG="C.UTF-8",
        LC_ALL="C.UTF-8",
    )
    return Session(tmp_path, file, tmp_path / "result.json", stderr, env)


def snippet_for(name: str, fake: FakeLMStudio, tmp_path: Path) -> Path:
    """The README snippet, verbatim but for the model server's URL (the fake's)."""
    text = (SNIPPETS / name).read_text("utf-8")
    assert text.count(SNIPPET_URL) == 1, f"{name} must name {SNIPPET_URL} once"
    path = tmp_path / name
    path.write_text(text.replace(SNIPPET_URL, fake.base_url), "utf-8")
    return path


def run_editor(session: Session, argv: list[str], timeout: float = TIMEOUT) -> dict[str, Any]:
    """Run the editor with a hard timeout; on timeout its whole process group (the editor
    and the Ladder server it started) is killed and everything is dumped."""
    proc = subprocess.Popen(
        argv, env=session.env, cwd=session.file.parent, text=True, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        session.proc = subprocess.CompletedProcess(argv, -9, out, err)
        pytest.fail(f"{argv[0]} did not finish in {timeout:g} s\n{session.diagnostics()}")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # nothing the editor started outlives it
    session.proc = subprocess.CompletedProcess(argv, proc.returncode, out, err)
    if not session.result.exists():
        pytest.fail(f"{argv[0]} wrote no result\n{session.diagnostics()}")
    observed: dict[str, Any] = json.loads(session.result.read_text("utf-8"))
    if session.proc.returncode != 0 or observed.get("error"):
        pytest.fail(f"{argv[0]} driver failed: {observed.get('error')}\n{session.diagnostics()}")
    return observed


def check_disk(session: Session, case: Case, observed: dict[str, Any]) -> None:
    on_disk = session.file.read_bytes().decode("utf-8")
    assert on_disk == case.expected, (
        f"file on disk differs\n--- expected\n{case.expected}\n--- got\n{on_disk}\n"
        f"{json.dumps(observed, indent=1, ensure_ascii=False)[:4000]}"
    )
    assert TITLE in observed["menu"], observed["menu"]


# -- Neovim -----------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["ui", "raw"])
@pytest.mark.parametrize("case_id", list(CASES))
def test_neovim_applies_refactor(
    case_id: str,
    mode: str,
    tmp_path: Path,
    fake_local: FakeLMStudio,
    report: Callable[..., None],
) -> None:
    require(editor_available("nvim"), "Neovim (nvim)", INSTALL["nvim"])
    case = CASES[case_id]
    fake_local.push(Reply(case.answer, chunk_delay=0.01))
    session = new_session(tmp_path, case)
    session.extra_logs = (Path(session.env["XDG_CACHE_HOME"]) / "nvim" / "lsp.log",)
    config = {
        "file": str(session.file),
        "snippet": str(snippet_for("neovim-0.7.lua", fake_local, tmp_path)),
        "mode": mode,
        "title": TITLE,
        "select": case.select,
        "result": str(session.result),
        "timeout_ms": 30_000,
    }
    observed = run_nvim(session, tmp_path, config)
    assert observed["filetype"] == "python"
    try:
        check_disk(session, case, observed)
        assert observed["command_result"]["applied"] is True, observed["command_result"]
        (applied,) = observed["applied"]
        assert applied["response"]["applied"] is True, applied
        # progress: Neovim 0.7 advertises window.workDoneProgress, so Ladder reports
        kinds = [p["value"]["kind"] for p in observed["progress"]]
        assert kinds[0] == "begin" and kinds[-1] == "end", kinds
        reports = [p["value"].get("message", "") for p in observed["progress"]]
        assert any("tok" in m for m in reports), reports
        assert [m["type"] for m in observed["messages"]] == [3], observed["messages"]
        assert len(fake_local.chat_requests()) == 1
    except AssertionError as exc:
        pytest.fail(f"{exc}\n{session.diagnostics()}")
    ROUND_TRIPS[("neovim", mode, case_id)] = observed["round_trip_ms"]
    v = observed["nvim_version"]
    report(
        f"Neovim {v['major']}.{v['minor']}.{v['patch']} (headless, vim.lsp.start_client)",
        f"{mode} path · {case.name}",
        f"sent range {fmt_range(observed['request_range'])} "
        f"({observed['offset_encoding']}); applied the edit; saw {len(kinds)} $/progress",
        f"APPLIED; file on disk exact: {observed['messages'][0]['message']}",
    )


def run_nvim(session: Session, tmp_path: Path, config: dict[str, Any]) -> Any:
    """Neovim headless with the driver, which reads `config` (file, snippet, mode, …)."""
    cfg_path = tmp_path / "nvim-config.json"
    cfg_path.write_text(json.dumps(config), "utf-8")
    session.env["LADDER_NVIM_CONFIG"] = str(cfg_path)
    return run_editor(
        session,
        ["nvim", "--headless", "-u", "NONE", "-i", "NONE", "-n",
         "-c", f"luafile {EDITORS_DIR / 'nvim_driver.lua'}"],
    )  # fmt: skip


def test_neovim_edit_with_instruction_from_vim_ui_input(
    tmp_path: Path, fake_local: FakeLMStudio
) -> None:
    """The README's \\le mapping: vim.ui.input asks, `ladder.run` carries the instruction."""
    require(editor_available("nvim"), "Neovim (nvim)", INSTALL["nvim"])
    session, case, config = edit_session(tmp_path, fake_local)
    config.update(
        snippet=str(snippet_for("neovim-0.7.lua", fake_local, tmp_path)), timeout_ms=30_000
    )
    observed = run_nvim(session, tmp_path, config)
    check_edit_with_instruction(session, case, observed, fake_local)


INSTRUCTION = "rename the loop variable to item"


def edit_session(tmp_path: Path, fake: FakeLMStudio) -> tuple[Session, Case, dict[str, Any]]:
    """An editor session for "Edit with local model…" on Cart.total, the model's answer
    queued, and the driver settings every editor shares (mode "edit", the instruction)."""
    case = CASES["ascii-method"]
    fake.push(Reply(case.answer, chunk_delay=0.01))
    session = new_session(tmp_path, case)
    config = {
        "file": str(session.file),
        "mode": "edit",
        "instruction": INSTRUCTION,
        "title": "",
        "select": case.select,
        "result": str(session.result),
    }
    return session, case, config


def check_edit_with_instruction(
    session: Session, case: Case, observed: dict[str, Any], fake: FakeLMStudio
) -> None:
    """The editor asked "Ladder, edit: ", the edit action ran with the instruction in its
    prompt, and the file on disk is exact."""
    try:
        assert observed["input_prompt"] == "Ladder, edit: "
        assert observed["command_result"]["applied"] is True, observed["command_result"]
        assert session.file.read_bytes().decode("utf-8") == case.expected
        (sent,) = fake.chat_requests()
        prompt = sent["messages"][1]["content"]
        assert f"Instruction from the user: {INSTRUCTION}" in prompt
        assert "Change the code as the user's instruction" in prompt, "the edit action ran"
    except AssertionError as exc:
        pytest.fail(f"{exc}\n{session.diagnostics()}")


def fmt_range(rng: dict[str, Any]) -> str:
    s, e = rng["start"], rng["end"]
    return f"{s['line']}:{s['character']}-{e['line']}:{e['character']}"


# -- Emacs + eglot ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "progress_capability"),
    [("ui", False), ("raw", False), ("ui", True)],
    ids=["ui", "raw", "ui-with-progress-capability"],
)
@pytest.mark.parametrize("case_id", list(CASES))
def test_emacs_eglot_applies_refactor(
    case_id: str,
    mode: str,
    progress_capability: bool,
    tmp_path: Path,
    fake_local: FakeLMStudio,
    report: Callable[..., None],
) -> None:
    require(editor_available("emacs"), "Emacs (emacs)", INSTALL["emacs"])
    require(eglot_available(), "eglot for Emacs", INSTALL["eglot"])
    case = CASES[case_id]
    fake_local.push(Reply(case.answer, chunk_delay=0.01))
    session = new_session(tmp_path, case)
    config = {
        "file": str(session.file),
        "root": str(session.file.parent),
        "snippet": str(snippet_for("eglot.el", fake_local, tmp_path)),
        "mode": mode,
        "title": TITLE,
        "select": case.select,
        "result": str(session.result),
        "timeout": 30,
        "progress_capability": progress_capability,
    }
    observed = run_emacs(session, tmp_path, config)
    try:
        check_disk(session, case, observed)
        assert observed["text"] == case.expected
        assert observed["major_mode"] == "python-mode"
        assert observed["command_result"]["applied"] is True, observed["command_result"]
        assert "workspace/applyEdit" in observed["requests"], observed["requests"]
        messages = observed["messages"]
        assert len(messages) == 1 and messages[0][0] == 3, messages
        assert messages[0][1].startswith("Ladder: Refactor by local model"), messages
        progress = observed["progress"]
        if progress_capability:
            kinds = [p[0] for p in progress]
            assert kinds[0] == "begin" and kinds[-1] == "end", progress
            assert any("tok" in p[2] for p in progress if p[0] == "report"), progress
            assert "window/workDoneProgress/create" in observed["requests"]
            assert '"$/progress"' in observed["events"] or "$/progress" in observed["events"]
        else:
            # eglot 1.9 declares no window.workDoneProgress: Ladder must send none
            assert progress == [], progress
            assert "window/workDoneProgress/create" not in observed["requests"]
            assert "$/progress" not in observed["events"]
        assert len(fake_local.chat_requests()) == 1
    except AssertionError as exc:
        pytest.fail(f"{exc}\n{session.diagnostics()}")
    seen = (
        f"saw {len(progress)} $/progress in its events buffer"
        if progress_capability
        else "declares no workDoneProgress: no progress sent (events buffer checked)"
    )
    report(
        f"Emacs {observed['emacs_version']} + {observed['eglot_version']} (batch)",
        f"{mode} path{' +progress capability' if progress_capability else ''} · {case.name}",
        f"sent range {fmt_range(observed['request_range'])}; applied the versioned edit; {seen}",
        f"APPLIED; file on disk exact: {messages[0][1]}",
    )
    if not progress_capability:
        report_round_trip(report, mode, case_id, observed["round_trip_ms"])


def run_emacs(session: Session, tmp_path: Path, config: dict[str, Any]) -> Any:
    """Emacs in batch mode with the eglot driver, which reads `config` (file, snippet, mode, …)."""
    cfg_path = tmp_path / "emacs-config.json"
    cfg_path.write_text(json.dumps(config), "utf-8")
    session.env["LADDER_EMACS_CONFIG"] = str(cfg_path)
    return run_editor(session, ["emacs", "--batch", "-l", str(EDITORS_DIR / "eglot_driver.el")])


def test_emacs_eglot_edit_with_instruction_from_read_string(
    tmp_path: Path, fake_local: FakeLMStudio
) -> None:
    """The README's `ladder-edit`: read-string asks, `ladder.run` carries the instruction."""
    require(editor_available("emacs"), "Emacs (emacs)", INSTALL["emacs"])
    require(eglot_available(), "eglot for Emacs", INSTALL["eglot"])
    session, case, config = edit_session(tmp_path, fake_local)
    config.update(
        root=str(session.file.parent),
        snippet=str(snippet_for("eglot.el", fake_local, tmp_path)),
        edit_snippet=str(SNIPPETS / "eglot-edit.el"),
        timeout=30,
    )
    observed = run_emacs(session, tmp_path, config)
    check_edit_with_instruction(session, case, observed, fake_local)


# Milliseconds from asking for code actions to the command's answer (edit applied), per
# (editor, mode, case): the same action on the same answer, so the difference is the client's
# and Ladder's handling of it. Printed, never asserted (timing belongs to the benchmarks).
ROUND_TRIPS: dict[tuple[str, str, str], float] = {}


def report_round_trip(
    report: Callable[..., None], mode: str, case_id: str, eglot_ms: float
) -> None:
    nvim_ms = ROUND_TRIPS.get(("neovim", mode, case_id))
    if nvim_ms is None:
        return
    report(
        "Round trip, Eglot vs Neovim (same action, same answer)",
        f"{mode} path · {CASES[case_id].name}",
        f"Neovim {nvim_ms:.0f} ms, Eglot {eglot_ms:.0f} ms",
        f"Eglot / Neovim = {eglot_ms / nvim_ms:.2f}× (target ≤ 1.2×)",
    )


def test_editor_docs_quote_the_tested_snippets() -> None:
    """README.md shows exactly the snippets these tests load."""
    docs = (Path(__file__).resolve().parents[2] / "README.md").read_text("utf-8")
    for snippet in sorted(SNIPPETS.iterdir()):
        assert snippet.read_text("utf-8") in docs, f"README.md does not quote {snippet.name}"


# -- Vim + ALE (optional peer) --------------------------------------------------------------


def ale_available() -> bool:
    return editor_available("vim") and Path("/usr/share/vim-ale/plugin/ale.vim").exists()


@pytest.mark.parametrize("case_id", list(CASES))
def test_vim_ale_refactor(
    case_id: str, tmp_path: Path, fake_local: FakeLMStudio, report: Callable[..., None]
) -> None:
    """Vim + ALE 3.3, an optional peer with two known client quirks: it applies the server's
    workspace/applyEdit but never answers it (Ladder recognises the landed text), and it
    sends byte columns where LSP wants UTF-16 (so a selection after é😀 arrives shifted).
    Either way the file must end up exact or untouched, never broken."""
    require(ale_available(), "Vim with ALE", INSTALL["ale"], optional=True)
    case = CASES[case_id]
    fake_local.push(Reply(case.answer, chunk_delay=0.01))
    session = new_session(tmp_path, case)
    config = {
        "file": str(session.file),
        "snippet": str(snippet_for("vim-ale.vim", fake_local, tmp_path)),
        "title": TITLE,
        "select": case.select,
        "result": str(session.result),
        "ladder_stderr": str(session.ladder_stderr),
        "verdict_timeout": 60,
    }
    cfg_path = tmp_path / "vim-config.json"
    cfg_path.write_text(json.dumps(config), "utf-8")
    session.env["LADDER_VIM_CONFIG"] = str(cfg_path)
    observed = run_editor(
        session,
        ["vim", "-N", "-u", "NONE", "-i", "NONE", "-n", "-es",
         "-S", str(EDITORS_DIR / "ale_driver.vim")],
        timeout=90,
    )  # fmt: skip
    log = session.ladder_stderr.read_text("utf-8", "replace")
    shown = re.findall(r"'window/showMessage' ShowMessageParams\(type=<MessageType\.(\w+).*?"
                       r"message=['\"](.*?)['\"]\)$", log, re.M)  # fmt: skip
    # the range ALE asked about, as the listed action's arguments echo it
    sent = re.search(r'"range": (\{"start": \{[^}]*\}, "end": \{[^}]*\}\})', log)
    on_disk = session.file.read_bytes().decode("utf-8")
    try:
        assert observed["verdict_seen"], "Ladder never told the user how the run ended"
        assert TITLE in observed["menu"], observed["menu"]
        assert len(shown) == 1, shown
        if case.text.isascii():
            assert on_disk == case.expected, on_disk
            peer = "applied the edit (file on disk exact) but never answered workspace/applyEdit"
        else:
            # ALE's byte columns: the selection is off by the 3 extra UTF-8 bytes of é😀
            assert on_disk in (case.text, case.expected), f"broken file:\n{on_disk}"
            ast.parse(on_disk)
            peer = f"sent range {sent.group(1) if sent else '?'} (UTF-8 bytes, not UTF-16)"
            peer += "; file exact" if on_disk == case.expected else "; file untouched"
    except AssertionError as exc:
        pytest.fail(f"{exc}\n{json.dumps(observed, ensure_ascii=False)}\n{session.diagnostics()}")
    level, message = shown[0]
    report("Vim 9.0 + ALE 3.3 (Ex mode, optional)", f":ALECodeAction · {case.name}", peer,
           f"{level}: {message}")  # fmt: skip
    if on_disk == case.expected:  # ALE never answers applyEdit: Ladder sees the text land
        assert level == "Info", f"the edit was applied but Ladder said {message!r}"
