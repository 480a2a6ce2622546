"""`ladder-lsp doctor | run | usage`: the editor's pipeline from a shell or a script.

`run` goes through the same Engine as the editor (routing, checks, minimal edits) and prints a
unified diff, or writes it with `--apply`. Exit 0 on success, 1 when no edit was produced,
2 for bad input.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
from pathlib import Path

from .actions import find_action
from .backends.base import BackendError, Tier
from .config import Settings
from .edits import apply_line_edits, make_target, unified_diff
from .jobs import Engine, RunInput, RunOutcome
from .ledger import Ledger
from .lsp_text import split_lines
from .syntax import enclosing_definition, language_from_path

LOCATION_RE = re.compile(r"^(?P<path>.+?)(?::(?P<start>\d+)(?:-(?P<end>\d+))?)?$")


def dispatch(args: argparse.Namespace, settings: Settings) -> int:
    if args.cmd == "doctor":
        return asyncio.run(doctor(settings))
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
    try:
        text = (await asyncio.to_thread(path.read_bytes)).decode("utf-8")
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
        read_file=lambda p: p.read_text(encoding="utf-8") if p.exists() else None,
    )
    try:
        outcome = await engine.run(inp, lambda msg: print(f"… {msg}", file=sys.stderr))
    finally:
        await engine.aclose()
    if engine.ledger is not None:
        engine.ledger.record_run(inp, outcome, 0.0)
    return _print_outcome(outcome, path, lines, args.apply)


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


def _print_outcome(outcome: RunOutcome, path: Path, lines: list[str], apply: bool) -> int:
    if outcome.status == "explained":
        print(outcome.markdown)
        return 0
    if outcome.status != "edit":
        _err(outcome.message)
        return 1
    if outcome.new_file is not None:
        nf = outcome.new_file
        old = split_lines(nf.path.read_text(encoding="utf-8")) if nf.exists else []
        new = split_lines("".join(old) + nf.insert_text)
        print(unified_diff(str(nf.path), old, new), end="")
        if apply:
            nf.path.write_text("".join(new), encoding="utf-8")
        _err(outcome.message)
        return 0
    new_lines = apply_line_edits(lines, outcome.edits)
    print(unified_diff(str(path), lines, new_lines), end="")
    if apply:
        path.write_bytes("".join(new_lines).encode("utf-8"))
    _err(outcome.message + (" Applied." if apply else ""))
    return 0


async def doctor(settings: Settings) -> int:
    """Plain-text report; exit 0 when at least one tier can serve."""
    engine = Engine(settings)
    ok = False
    print(f"Local server: {settings.local.base_url}")
    try:
        models = await engine.local.list_models(fresh=True)
        print("  reachable: yes")
        for m in models:
            extra = ", ".join(
                x
                for x in (
                    m.state,
                    m.type,
                    f"ctx {m.max_context_length}" if m.max_context_length else "",
                )
                if x
            )
            print(f"  model: {m.id}" + (f" ({extra})" if extra else ""))
        current = await engine.local.resolve_model()
        print(f"  using: {current}")
        ok = True
    except BackendError as exc:
        print(f"  problem: {exc.message}")
        embedded = engine.embedded()
        if embedded is not None:
            (info,) = await embedded.list_models()
            print(f"Local engine: embedded llama.cpp with {info.id} (in-process fallback)")
            ok = True
    if engine.local_backend() is engine.local and ok:
        print("Local engine: the server above")
    key = engine.claude_key()
    print(f"Claude: model {settings.claude.model}")
    print(f"  key: {'present' if key else 'missing (set ANTHROPIC_API_KEY)'}")
    if key:
        ok = True
    print(f"  budget: ${settings.budget.daily_usd:.2f}/day")
    await engine.aclose()
    print("Ready." if ok else "No tier can serve: start LM Studio's server or set a Claude key.")
    return 0 if ok else 1


def usage(settings: Settings) -> int:
    ledger = Ledger.open(settings)
    if ledger is None:
        _err("no ledger available")
        return 1
    print(ledger.format_report())
    return 0
