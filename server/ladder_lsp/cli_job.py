"""`ladder-lsp job`: a workspace job from the shell, over the files under the working
directory (the workspace).

Prints the plan, then (after the run) a unified diff per file and the report; `--apply`
writes each file only when its content on disk is still what the job read (else that file is
skipped and reported); `--dry-run` stops after the plan (`--json`: the plan itself, a valid
`--plan` file). Ctrl-C cancels the job and writes nothing; the units finished by then are in
the journal, and `--resume JOB_ID` runs only what is left. Exit 0 when every unit succeeded,
2 when some failed (the others delivered), 1 on errors.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from ladder_lsp.cli import (
    Asker,
    ProgressLine,
    ask_terminal,
    display_path,
    not_written,
    read_text_file,
)
from ladder_lsp.engine.confirm import DISCARDED, Confirmation
from ladder_lsp.engine.delivery import Delivery, Disposition, deliver_job
from ladder_lsp.engine.engine import Engine
from ladder_lsp.engine.jobs import job as jobs
from ladder_lsp.engine.jobs.merge import FileChange, FileText
from ladder_lsp.engine.jobs.report import as_text, totals, unit_rows
from ladder_lsp.pipeline.edits import unified_diff
from ladder_lsp.privacy import known_secrets
from ladder_lsp.settings import Settings
from ladder_lsp.store.jobs import JobJournal
from ladder_lsp.store.ledger import Ledger


def _err(message: str) -> None:
    print(f"ladder-lsp: {message}", file=sys.stderr, flush=True)


def load_file(path: Path) -> FileText | None:
    text = read_text_file(path)
    if text is None:
        return None
    from ladder_lsp.analysis.text import split_lines

    return FileText(path, path.as_uri(), None, text, tuple(split_lines(text)))


def main(args: argparse.Namespace, settings: Settings) -> int:
    try:
        return asyncio.run(job(args, settings))
    except KeyboardInterrupt:
        return 1


async def job(args: argparse.Namespace, settings: Settings) -> int:
    words: list[str] = list(args.words)
    plan_data = None
    if args.plan:
        try:
            plan_data = json.loads(await asyncio.to_thread(Path(args.plan).read_text, "utf-8"))
        except (OSError, ValueError) as exc:
            _err(f"cannot read the plan {args.plan}: {exc}")
            return 1
    instruction = words.pop(0) if words and not args.resume else ""
    if (args.plan or args.resume) and words:
        _err("with --plan or --resume the plan names the files; give no paths")
        return 1
    engine = Engine(settings, Ledger.open(settings))
    journal = await asyncio.to_thread(JobJournal.open, settings)
    progress = ProgressLine(sys.stderr)
    try:
        return await _job(args, engine, journal, instruction, words, plan_data, progress)
    finally:
        progress.clear()
        await engine.aclose()


async def _job(
    args: argparse.Namespace,
    engine: Engine,
    journal: JobJournal | None,
    instruction: str,
    patterns: Sequence[str],
    plan_data: object,
    progress: ProgressLine,
) -> int:
    try:
        the_job = await jobs.prepare(
            engine, None if args.dry_run else journal, root=Path.cwd(), load=load_file,
            report=progress, instruction=instruction, patterns=patterns,
            plan_data=plan_data, resume=args.resume or "",
        )  # fmt: skip
    except jobs.JobError as exc:
        _err(f"{exc}; nothing was run")
        return 1
    if args.dry_run:
        if args.json:
            print(json.dumps(the_job.plan.to_json(), indent=2))
        else:
            print(plan_text(the_job), end="")
        return 0
    if not args.json:
        print(plan_text(the_job), end="", flush=True)
    left = len(the_job.units) - len(the_job.finished)
    _err(f"job {the_job.id}: {left} units to run (resume with --resume {the_job.id})")
    try:
        results = await jobs.run(engine, journal, the_job, progress, read_text_file)
    except asyncio.CancelledError:
        await asyncio.shield(jobs.set_state(journal, the_job, "cancelled"))
        progress.clear()
        _err(f"cancelled; nothing was written. Resume with --resume {the_job.id}")
        return 1
    progress.clear()
    ask = ask_terminal if sys.stdin.isatty() and not args.json else None
    sink = ShellJobSink(the_job.root, apply=args.apply, show=not args.json, ask=ask)
    delivered = await deliver_job(
        the_job.units, the_job.files, results, sink,
        settings=engine.settings, secrets=known_secrets(engine.settings), ledger=engine.ledger,
    )  # fmt: skip
    await jobs.set_state(journal, the_job, "applied" if args.apply else "done")
    rows = unit_rows(
        the_job, results, {k: v.value for k, v in delivered.units.items()},
        engine.settings.claude.model,
    )  # fmt: skip
    summary = totals(rows, the_job)
    if args.json:
        print(json.dumps({"job": the_job.id, "plan": the_job.plan.to_json(), "units": rows,
                          "files": {the_job.relative(p): d.disposition.value
                                    for p, d in delivered.files.items()},
                          "summary": summary}, indent=2))  # fmt: skip
    else:
        print(as_text(the_job, rows), end="")
    for d in delivered.files.values():
        if d.disposition is Disposition.STALE:
            _err(d.message)
    return 2 if summary["failed"] else 0


def plan_text(job: jobs.Job) -> str:
    lines = [f"plan: {job.plan.goal or '(no goal)'} — {len(job.units)} units"]
    for r in job.units:
        deps = f" after {', '.join(r.unit.depends_on)}" if r.unit.depends_on else ""
        done = " (done earlier)" if r.unit.id in job.finished else ""
        lines.append(f"  {r.unit.id}: {r.unit.action} {r.unit.path} {r.unit.where}{deps}{done}")
    return "\n".join(lines) + "\n"


class ShellJobSink:
    """The job's changes on stdout as diffs; with `--apply`, each file written only when it
    is still byte for byte what the job read. A job that needs a yes (`confirm`) is written
    after `ask` said yes, as `ladder-lsp run` does."""

    def __init__(self, root: Path, *, apply: bool, show: bool, ask: Asker | None = None) -> None:
        self._root = root
        self._apply = apply
        self._show = show
        self._ask = ask

    async def files(
        self, changes: Sequence[FileChange], confirm: Confirmation | None
    ) -> dict[Path, Delivery]:
        if self._show:
            for change in changes:
                path = change.file.path
                print(unified_diff(display_path(path), change.file.lines, change.new_lines), end="")
        instead = await not_written(self._apply, confirm, self._ask)
        if instead is not None:
            message = "" if instead.reached_user else DISCARDED
            return {c.file.path: Delivery(instead, message) for c in changes}
        out: dict[Path, Delivery] = {}
        for change in changes:
            text = "".join(change.new_lines)
            out[change.file.path] = await asyncio.to_thread(_write_if_unchanged, change, text)
        return out


def _write_if_unchanged(change: FileChange, text: str) -> Delivery:
    path = change.file.path
    try:
        if path.read_bytes() != change.file.text.encode("utf-8"):
            return Delivery(Disposition.STALE, f"{path} changed on disk during the job; skipped.")
        path.write_bytes(text.encode("utf-8"))
    except OSError as exc:
        return Delivery(Disposition.BLOCKED, f"could not write {path}: {exc.strerror}")
    return Delivery(Disposition.APPLIED, "")
