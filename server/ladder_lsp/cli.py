"""`ladder-lsp run | usage`: the editor's pipeline from a shell or a script (`doctor`: doctor.py).

`run` goes through the same Engine as the editor (routing, checks, minimal edits) and the same
delivery path (`delivery.deliver`: the last checks and the ledger row); only its `Sink`
differs: it prints a unified diff, or writes the file with `--apply` — and only when the file
on disk is still what the run read. When `edits.confirm` asks for a yes and standard input is
a terminal, it asks after the diff (and writes on yes). Progress is one updating line on a
terminal and silent otherwise. Exit 0 on success, 1 when no edit was produced or delivered,
2 for bad input.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TextIO

from ladder_lsp.analysis.definitions import enclosing_definition
from ladder_lsp.analysis.languages import language_from_path
from ladder_lsp.analysis.text import split_lines
from ladder_lsp.backends.base import Tier
from ladder_lsp.engine.actions import find_action, instruction_problem
from ladder_lsp.engine.confirm import DISCARDED, Confirmation
from ladder_lsp.engine.delivery import Delivery, Disposition, deliver
from ladder_lsp.engine.engine import Engine
from ladder_lsp.engine.run_types import RunInput, RunOutcome
from ladder_lsp.pipeline.edits import LineEdit, apply_line_edits, unified_diff
from ladder_lsp.pipeline.target import make_target
from ladder_lsp.privacy import known_secrets
from ladder_lsp.settings import Settings
from ladder_lsp.store.ledger import Ledger

LOCATION_RE = re.compile(r"^(?P<path>.+?)(?::(?P<start>\d+)(?:-(?P<end>\d+))?)?$")


def dispatch(args: argparse.Namespace, settings: Settings) -> int:
    if args.cmd == "doctor":
        from ladder_lsp.doctor import doctor

        return asyncio.run(doctor(settings, as_json=args.json))
    if args.cmd == "usage":
        return usage(settings)
    match = LOCATION_RE.match(args.location)
    assert match is not None
    path = Path(os.path.abspath(match["path"]))
    return asyncio.run(run(args, settings, path, match["start"], match["end"]))


def _err(message: str) -> None:
    print(f"ladder-lsp: {message}", file=sys.stderr)


async def run(
    args: argparse.Namespace, settings: Settings, path: Path, start: str | None, end: str | None
) -> int:
    spec = find_action(args.action, settings)
    if spec is None:
        _err(f"unknown action {args.action!r}")
        return 2
    instruction = args.instruction.strip()
    unusable = instruction_problem(spec, instruction)
    if unusable:
        _err(f'{unusable} (give it with -m "INSTRUCTION")' if not instruction else unusable)
        return 2
    try:
        data = await asyncio.to_thread(path.read_bytes)
        text = data.decode("utf-8")
    except OSError as exc:
        _err(f"cannot read {path}: {exc.strerror}")
        return 2
    except UnicodeDecodeError:
        _err(f"{path} is not UTF-8 text")
        return 2
    lines = split_lines(text)
    language = language_from_path(str(path))
    span = _span(start, end, lines, language, text)
    if isinstance(span, str):
        _err(span)
        return 2
    first, last = span
    target = make_target(str(path), None, tuple(lines), (first, 0), (last, 0))
    tier = None if args.tier == "auto" else Tier(args.tier)
    engine = Engine(settings, Ledger.open(settings))
    inp = RunInput(
        spec=spec,
        target=target,
        language=language,
        path=str(path),
        diagnostics=tuple(args.diagnostic),
        tier=tier,
        instruction=instruction,
        read_file=read_text_file,
    )
    started = time.monotonic()
    progress = ProgressLine(sys.stderr)
    try:
        outcome = await engine.run(inp, progress)
    finally:
        progress.clear()
        await engine.aclose()
    delivery = await deliver(
        inp,
        outcome,
        ShellSink(path, data, apply=args.apply, ask=ask_terminal if sys.stdin.isatty() else None),
        secrets=known_secrets(settings),
        ledger=engine.ledger,
        elapsed=lambda: time.monotonic() - started,
        confirm=settings.edits.confirm,
    )
    if delivery.disposition.reached_user:
        if delivery.message:
            _err(delivery.message)
        return 0
    _err(delivery.message)
    return 1


def read_text_file(path: Path) -> str | None:
    """A file's text, or None when it is missing or not UTF-8 (the engine refuses those)."""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


class ProgressLine:
    """Progress as one line rewritten in place on a terminal; nothing when piped or logged."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._live = stream.isatty()
        self._shown = False

    def __call__(self, message: str) -> None:
        if not self._live:
            return
        width = max(shutil.get_terminal_size().columns - 1, 20)
        self._stream.write("\r\x1b[K… " + message[: width - 2])
        self._stream.flush()
        self._shown = True

    def clear(self) -> None:
        if self._shown:
            self._stream.write("\r\x1b[K")
            self._stream.flush()
            self._shown = False


async def ask_terminal(question: str) -> bool:
    """A yes/no on the terminal (stderr, so a diff piped from stdout stays clean); no answer
    (end of input) is no."""
    sys.stderr.write(f"{question} [y/N] ")
    sys.stderr.flush()
    answer = await asyncio.to_thread(sys.stdin.readline)
    return answer.strip().lower() in ("y", "yes")


Asker = Callable[[str], Awaitable[bool]]


async def not_written(
    apply: bool, confirm: Confirmation | None, ask: Asker | None
) -> Disposition | None:
    """Whether the CLI writes a change it has printed: None to write (`--apply`, or the yes
    `confirm` asked for on the terminal), else what became of it instead (printed only, or
    refused by a no)."""
    if apply:
        return None
    if confirm is None or ask is None:
        return Disposition.PRINTED
    sys.stdout.flush()  # the diff before the question
    return None if await ask(confirm.question) else Disposition.REFUSED


class ShellSink:
    """Delivery for the CLI: the diff on stdout; with `--apply`, the file written — only when
    the file on disk is still byte for byte what the run read (an editor or another run may
    have written it meanwhile). A change that needs a yes (`confirm`) is written after `ask`
    said yes (when there is a terminal to ask on); `--apply` is the yes given in advance."""

    def __init__(self, path: Path, read: bytes, *, apply: bool, ask: Asker | None = None) -> None:
        self._path = path
        self._read = read
        self._apply = apply
        self._ask = ask

    async def edit(
        self,
        inp: RunInput,
        outcome: RunOutcome,
        edits: tuple[LineEdit, ...],
        confirm: Confirmation | None,
    ) -> Delivery:
        lines = list(inp.target.lines)
        new_lines = apply_line_edits(lines, edits)
        print(unified_diff(display_path(self._path), lines, new_lines), end="")
        instead = await not_written(self._apply, confirm, self._ask)
        if instead is not None:
            return Delivery(instead, outcome.message if instead.reached_user else DISCARDED)
        if await asyncio.to_thread(self._path.read_bytes) != self._read:
            return Delivery(
                Disposition.STALE,
                f"{self._path} changed on disk while the model was answering; nothing written.",
            )
        await asyncio.to_thread(self._path.write_bytes, "".join(new_lines).encode("utf-8"))
        return Delivery(Disposition.APPLIED, f"{outcome.message} Applied.")

    async def new_file(
        self, inp: RunInput, outcome: RunOutcome, confirm: Confirmation | None
    ) -> Delivery:
        plan = outcome.new_file
        assert plan is not None
        existing = inp.read_file(plan.path) if plan.exists else ""
        if existing is None:
            return Delivery(
                Disposition.BLOCKED,
                f"{plan.path.name} exists but could not be read as UTF-8 text; nothing written.",
            )
        old = split_lines(existing)
        new = split_lines(existing + plan.insert_text)
        print(unified_diff(display_path(plan.path), old, new), end="")
        instead = await not_written(self._apply, confirm, self._ask)
        if instead is not None:
            return Delivery(instead, outcome.message if instead.reached_user else DISCARDED)
        try:
            await asyncio.to_thread(_write_test_file, plan.path, existing, plan.exists, new)
        except FileExistsError:
            return Delivery(
                Disposition.STALE, f"{plan.path} changed on disk meanwhile; nothing written."
            )
        except OSError as exc:
            return Delivery(Disposition.BLOCKED, f"could not write {plan.path}: {exc.strerror}")
        return Delivery(Disposition.APPLIED, f"{outcome.message} Applied.")

    async def explanation(self, inp: RunInput, outcome: RunOutcome) -> Delivery:
        print(outcome.markdown)
        return Delivery(Disposition.SHOWN, "")


def _write_test_file(path: Path, existing: str, exists: bool, new: list[str]) -> None:
    """Create the file exclusively, or rewrite it only if it still holds `existing`."""
    if not exists:
        with open(path, "x", encoding="utf-8") as f:
            f.write("".join(new))
        return
    if path.read_text(encoding="utf-8") != existing:
        raise FileExistsError(path)
    path.write_text("".join(new), encoding="utf-8")


def display_path(path: Path) -> str:
    """Paths in diff headers: relative to the working directory when under it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _span(
    start: str | None, end: str | None, lines: list[str], language: str, text: str
) -> tuple[int, int] | str:
    if start is None:
        return 0, len(lines)
    first = int(start) - 1
    if first < 0 or first >= len(lines):
        return f"line {start} is outside the file (1-{len(lines)})"
    if end is None:
        found = enclosing_definition(language, text, first)
        return found if found else (first, first + 1)
    last = int(end)
    if last < first + 1 or last > len(lines):
        return f"range {start}-{end} is outside the file or reversed (1-{len(lines)})"
    return first, last


def usage(settings: Settings) -> int:
    ledger = Ledger.open(settings)
    if ledger is None:
        _err("no ledger available")
        return 1
    print(ledger.format_report())
    return 0
