"""`python -m tests.benchmarks [--quick]`: Ladder against its physical limits (issue #6).

Runs every figure, prints a short table and the JSON report, and writes the report to
`tests/benchmarks/results.json`. A missed target is reported, not fatal (exit 0); an error
(a figure that could not be measured) makes the exit status 1. See README.md in this folder.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from . import code_action, e2e, fanout, jobs, ledger, pool, startup, streaming
from .session import Bench, make_bench

HERE = Path(__file__).resolve().parent
DEFAULT_OUTPUT = HERE / "results.json"
REPO = HERE.parent.parent

Section = Callable[[Bench], Awaitable[dict[str, Any]]]
SECTIONS: dict[str, tuple[Section, float]] = {
    # name: (coroutine, time limit in seconds)
    "startup": (startup.run, 300),
    "code_action": (code_action.run, 600),
    "e2e_fake": (e2e.run_fakes, 600),
    "streaming": (streaming.run, 300),
    "fanout": (fanout.run, 300),
    "pool": (pool.run, 300),
    "jobs": (jobs.run, 300),
    "ledger": (ledger.run, 300),
    "e2e_llama": (e2e.run_llama, 2400),
}

# -- targets ---------------------------------------------------------------------------------

Row = dict[str, Any]


def _row(figure: str, measured: str, target: str, met: bool | None, status: str = "") -> Row:
    return {
        "figure": figure,
        "measured": measured,
        "target": target,
        "met": met,
        "status": status or ("met" if met else "MISSED"),
    }


def _absent(figure: str, target: str, section: dict[str, Any] | None, why: str = "") -> Row | None:
    """A row for a figure that was not measured (error, skipped, not available), else None."""
    if section is None:
        return _row(figure, "—", target, None, "not run")
    if "error" in section:
        return _row(figure, "—", target, None, "ERROR")
    if "skipped" in section:
        return _row(figure, "—", target, None, f"skipped: {section['skipped']}")
    if section.get("available") is False:
        return _row(figure, "—", target, None, f"not available: {section.get('reason', why)}")
    return None


def _fmt_ms(value: float) -> str:
    return f"{value:.1f} ms" if abs(value) >= 10 else f"{value:.2f} ms"


def _added_ms(value: float) -> str:
    """A difference, signed: +3.46 ms, −34.4 ms (a noisy model can be faster on Ladder's turn)."""
    return ("+" if value >= 0 else "−") + _fmt_ms(abs(value))


# Targets (issue 14): what Ladder may add to a model's own time, and listing at every size.
RUN_OVERHEAD_MS = 3.0  # p50 outside an instant backend
RUN_RATIO = 1.01  # p50 against a direct call on a 200 ms backend
LLAMA_RATIO = 1.03  # p50 against a direct call to the real model (its noise is larger)
LISTING_P99_MS = 5.0
LISTING_FLAT = 1.2  # p50 at 20,000 lines against p50 at 100 lines
LEDGER_FLAT = 1.5  # the ledger's work after a run, a year of rows against a new ledger


def evaluate(figures: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []

    fake = figures.get("e2e_fake")
    for name, label in (
        ("instant", "instant fake"),
        ("200ms", "200 ms fake"),
        ("instant_20k", "instant fake, 20,000-line file"),
    ):
        instant = name.startswith("instant")
        figure = f"ladder.run vs direct, {label}"
        target = (
            f"overhead p50 ≤ {RUN_OVERHEAD_MS:g} ms" if instant else f"ratio p50 ≤ {RUN_RATIO:g}×"
        )
        absent = _absent(figure, target, fake)
        if absent:
            rows.append(absent)
            continue
        assert fake is not None
        r = fake[name]
        if instant:
            # The fake's own few milliseconds of streaming vary more between runs than what
            # Ladder adds; the overhead outside the backend's stream is immune to that, so it
            # is what is judged (the paired e2e difference is shown).
            added = r.get("overhead_outside_backend_p50_ms", r["overhead_p50_ms"])
            measured = (
                f"{_added_ms(added)} outside the backend (e2e {r['ratio_p50']:.2f}×, "
                f"{_added_ms(r['overhead_p50_ms'])}: "
                f"{_fmt_ms(r['ladder']['p50_ms'])} vs {_fmt_ms(r['direct']['p50_ms'])})"
            )
            met = added <= RUN_OVERHEAD_MS
        else:
            measured = (
                f"{r['ratio_p50']:.3f}× ({_added_ms(r['overhead_p50_ms'])}; "
                f"{_fmt_ms(r['ladder']['p50_ms'])} vs {_fmt_ms(r['direct']['p50_ms'])})"
            )
            met = r["ratio_p50"] <= RUN_RATIO
        rows.append(_row(figure, measured, target, met))
        floor = r.get("pygls_floor")
        if floor:
            measured = f"{floor['ratio_p50']:.3f}× ({_added_ms(floor['overhead_p50_ms'])})"
            if "overhead_outside_backend_p50_ms" in floor:
                outside = floor["overhead_outside_backend_p50_ms"]
                measured += f", outside the backend {_added_ms(outside)}"
            label = "  same run on a do-nothing pygls server"
            rows.append(_row(label, measured, "(floor)", None, "reference"))

    llama = figures.get("e2e_llama")
    figure = "ladder.run vs direct, llama.cpp + SmolLM2"
    target = f"ratio p50 ≤ {LLAMA_RATIO:g}×"
    absent = _absent(figure, target, llama)
    if absent:
        rows.append(absent)
    else:
        assert llama is not None
        e2e_ratio = (
            f"{llama['ratio_p50']:.3f}× ({_added_ms(llama['overhead_p50_ms'])}; "
            f"{llama['ladder']['p50_ms'] / 1000:.2f} s vs {llama['direct']['p50_ms'] / 1000:.2f} s)"
        )
        if "ratio_outside_backend_p50" in llama:
            # The same seed and body still take the model ±15 % between runs (5 pairs of
            # seconds each): the ratio with the model's own time taken from the direct call
            # is what Ladder adds, as for the instant fake; the e2e ratio is shown.
            ratio = llama["ratio_outside_backend_p50"]
            measured = (
                f"{ratio:.4f}×: outside the model "
                f"{_added_ms(llama['overhead_outside_backend_p50_ms'])} (e2e {e2e_ratio})"
            )
        else:
            ratio, measured = llama["ratio_p50"], e2e_ratio
        rows.append(_row(figure, measured, target, ratio <= LLAMA_RATIO))

    listing = figures.get("code_action")
    absent = _absent("codeAction latency", f"p99 ≤ {LISTING_P99_MS:g} ms", listing)
    if absent:
        rows.append(absent)
    else:
        assert listing is not None
        sizes = listing["sizes"]
        for pattern in ("selection", "cursor", "cursor_after_edit"):
            p99s = {size: sizes[size][pattern]["p99_ms"] for size in sizes}
            p50s = {size: sizes[size][pattern]["p50_ms"] for size in sizes}
            worst = max(p99s.values())
            measured = "p99 " + " / ".join(f"{v:.1f}" for v in p99s.values()) + " ms"
            rows.append(
                _row(
                    f"codeAction {pattern} (100/1k/5k/20k lines)",
                    measured,
                    f"p99 ≤ {LISTING_P99_MS:g} ms",
                    worst <= LISTING_P99_MS,
                )
            )
            floor = (listing.get("pygls_floor") or {}).get("sizes")
            if floor:
                f99 = [floor[size][pattern]["p99_ms"] for size in floor]
                rows.append(
                    _row(
                        "  same on a do-nothing pygls server",
                        "p99 " + " / ".join(f"{v:.1f}" for v in f99) + " ms",
                        "(floor)",
                        None,
                        "reference",
                    )
                )
            small, big = p50s[min(sizes, key=int)], p50s[max(sizes, key=int)]
            flat = big <= small * LISTING_FLAT
            rows.append(
                _row(
                    f"codeAction {pattern} flat in size",
                    f"p50 {small:.2f} → {big:.2f} ms ({big / small:.2f}×)" if small else "—",
                    f"p50(20k) ≤ {LISTING_FLAT:g}× p50(100)",
                    flat,
                )
            )

    stream = figures.get("streaming")
    absent = _absent("first progress after first token", "≤ 50 ms", stream)
    if absent:
        rows.append(absent)
        rows.append(_row("cancel → backend disconnect", "—", "≤ 100 ms", None, absent["status"]))
    else:
        assert stream is not None
        fp = stream["first_progress"]
        rows.append(
            _row(
                "first progress after first token",
                f"p50 {_fmt_ms(fp['p50_ms'])}, max {_fmt_ms(fp['max_ms'])}",
                "≤ 50 ms",
                fp["max_ms"] <= 50,
            )
        )
        for how, label in (("progress", "progress cancel"), ("request", "$/cancelRequest")):
            c = stream["cancel"][how]
            rows.append(
                _row(
                    f"cancel ({label}) → backend disconnect",
                    f"p50 {_fmt_ms(c['p50_ms'])}, max {_fmt_ms(c['max_ms'])}",
                    "≤ 100 ms",
                    c["max_ms"] <= 100,
                )
            )

    start = figures.get("startup")
    absent = _absent("start → initialize vs import floor", "≤ 1.3×", start)
    if absent:
        rows.append(absent)
        rows.append(_row("idle RSS after initialize", "—", "≤ 70 MB", None, absent["status"]))
    else:
        assert start is not None
        rows.append(
            _row(
                "start → initialize vs import floor",
                f"{start['ratio']:.2f}× "
                f"({start['initialize_ms']:.0f} vs {start['floor_ms']:.0f} ms)",
                "≤ 1.3×",
                start["ratio"] <= 1.3,
            )
        )
        if "pygls_minimal_initialize_ms" in start:
            rows.append(
                _row(
                    "  do-nothing pygls server start → initialize",
                    f"{start['pygls_minimal_initialize_ms'] / start['floor_ms']:.2f}× "
                    f"({start['pygls_minimal_initialize_ms']:.0f} ms)",
                    "(floor)",
                    None,
                    "reference",
                )
            )
        rows.append(
            _row(
                "idle RSS after initialize",
                f"{start['idle_rss_mb']:.1f} MB (max {start['idle_rss_max_mb']:.1f})",
                "≤ 70 MB",
                start["idle_rss_max_mb"] <= 70,
            )
        )

    fan = figures.get("fanout")
    figure, target = "fan-out 8 functions, 4 slots vs one call", "≤ 2.3×"
    absent = _absent(figure, target, fan)
    if absent:
        rows.append(absent)
    else:
        assert fan is not None
        measured = (
            f"{fan['ratio']:.2f}× "
            f"({fan['fanout']['p50_ms']:.0f} vs {fan['single']['p50_ms']:.0f} ms"
            f", peak {fan['peak_concurrent_streams']} streams"
            f"{'' if fan['merged_edit_correct'] else ', MERGE WRONG'})"
        )
        rows.append(
            _row(figure, measured, target, fan["ratio"] <= 2.3 and fan["merged_edit_correct"])
        )
    rows.extend(_pool_rows(figures.get("pool")))
    rows.extend(_job_rows(figures.get("jobs")))
    rows.extend(_ledger_rows(figures.get("ledger")))
    return rows


POOL_SPEEDUP = 0.85  # per member: 8 units on N single-slot members ≥ 0.85 × N faster
POOL_FAULT_RATIO = 1.15  # a dead or killed member: ≤ 1.15 × the live members alone


def _pool_rows(pool: dict[str, Any] | None) -> list[Row]:
    figure = "local pool: fan-out of 8 on 2 / 4 single-slot members vs 1"
    target = f"speed-up ≥ {POOL_SPEEDUP:g} × members"
    absent = _absent(figure, target, pool)
    if absent:
        return [absent]
    assert pool is not None
    sizes = pool["members"]
    rows = [
        _row(
            figure,
            f"{sizes['2']['speedup']:.2f}× / {sizes['4']['speedup']:.2f}× "
            f"({sizes['1']['wall_p50_ms']:.0f} → {sizes['2']['wall_p50_ms']:.0f} → "
            f"{sizes['4']['wall_p50_ms']:.0f} ms)",
            target,
            all(sizes[n]["speedup"] >= POOL_SPEEDUP * int(n) for n in ("2", "4")),
        )
    ]
    for key, label in (
        ("one_dead_from_start", "dead from the start"),
        ("one_killed_mid_job", "killed mid-job"),
    ):
        r = pool[key]
        live = pool["three_live"]["wall_p50_ms"]
        rows.append(
            _row(
                f"local pool: one of 4 members {label} vs the 3 live ones",
                f"{r['ratio']:.3f}× ({r['wall_p50_ms']:.0f} vs {live:.0f} ms)"
                + ("" if r["all_units_local"] else ", UNITS LOST"),
                f"≤ {POOL_FAULT_RATIO:g}×, every unit local",
                r["ratio"] <= POOL_FAULT_RATIO and r["all_units_local"],
            )
        )
    return rows


def _ledger_rows(led: dict[str, Any] | None) -> list[Row]:
    figure = "record + status after a run, 100,000-row ledger vs 100"
    target = f"≤ {LEDGER_FLAT:g}×"
    absent = _absent(figure, target, led)
    if absent:
        return [absent]
    assert led is not None
    times = led["record_and_status"]
    measured = (
        f"{led['ratio_p50']:.2f}× ({_fmt_ms(times['big']['p50_ms'])} vs "
        f"{_fmt_ms(times['small']['p50_ms'])})"
    )
    return [_row(figure, measured, target, led["ratio_p50"] <= LEDGER_FLAT)]


def _job_rows(job: dict[str, Any] | None) -> list[Row]:
    figure, target = "job 12 units / 4 files, 4 slots vs 1", "≤ 0.35×"
    absent = _absent(figure, target, job)
    if absent:
        return [absent]
    assert job is not None
    measured = (
        f"{job['ratio']:.2f}× ({job['slots_4']['p50_ms']:.0f} vs {job['slots_1']['p50_ms']:.0f}"
        f" ms; cost ${job['cost_usd']:.4f} = {job['cost_ratio_vs_all_claude']}× all-Claude "
        f"${job['all_claude_usd']:.4f}{'' if job['merged_files_correct'] else ', MERGE WRONG'})"
    )
    met = job["ratio"] <= 0.35 and job["merged_files_correct"]
    return [_row(figure, measured, target, met)]


def table(rows: list[Row]) -> str:
    headers = ("figure", "measured", "target", "status")
    widths = [max(len(h), *(len(str(r[h])) for r in rows)) for h in headers]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    for r in rows:
        out.append("  ".join(str(r[h]).ljust(w) for h, w in zip(headers, widths, strict=True)))
    return "\n".join(out)


def listing_table(section: dict[str, Any]) -> str:
    """p50/p99 per file size and pattern."""
    lines = ["lines    selection p50/p99   cursor p50/p99   cursor+edit p50/p99   first"]
    for size, s in section["sizes"].items():
        cells = [
            f"{s[p]['p50_ms']:5.2f} / {s[p]['p99_ms']:5.2f}"
            for p in ("selection", "cursor", "cursor_after_edit")
        ]
        lines.append(
            f"{int(size):>6}   {cells[0]:<18}  {cells[1]:<15}  {cells[2]:<20}  {s['first_ms']:.1f}"
        )
    return "\n".join(lines)


# -- running ---------------------------------------------------------------------------------


def _machine() -> dict[str, Any]:
    cpu = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "cpu": cpu,
    }


def _loadavg() -> list[float]:
    try:
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        return []


def _git() -> dict[str, Any]:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=REPO, capture_output=True, text=True, timeout=10, check=False
        ).stdout.strip()

    try:
        return {
            "commit": git("rev-parse", "--short", "HEAD"),
            "dirty": bool(git("status", "--porcelain")),
        }
    except (OSError, subprocess.SubprocessError):
        return {}


def _clean(obj: Any) -> Any:
    """NaN → None, so the report is strict JSON."""
    if isinstance(obj, float) and math.isnan(obj):
        return None
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_clean(v) for v in obj]
    return obj


async def _run_sections(
    bench: Bench, names: list[str]
) -> tuple[dict[str, Any], list[dict[str, str]]]:
    figures: dict[str, Any] = {}
    errors: list[dict[str, str]] = []
    for name in names:
        section, limit = SECTIONS[name]
        print(f"[bench] {name} …", file=sys.stderr, flush=True)
        started = time.monotonic()
        try:
            figures[name] = await asyncio.wait_for(section(bench), limit)
        except Exception as exc:
            detail = traceback.format_exc()
            if isinstance(exc, asyncio.TimeoutError):
                detail = f"timed out after {limit:g} s\n{detail}"
            print(f"[bench] {name} FAILED: {exc!r}\n{detail}", file=sys.stderr, flush=True)
            figures[name] = {"error": f"{type(exc).__name__}: {exc}"}
            errors.append(
                {"section": name, "error": f"{type(exc).__name__}: {exc}", "detail": detail}
            )
        took = time.monotonic() - started
        if isinstance(figures[name], dict):
            figures[name].setdefault("section_seconds", round(took, 1))
        skipped = figures[name].get("skipped") if isinstance(figures[name], dict) else None
        note = f" (skipped: {skipped})" if skipped else ""
        print(f"[bench] {name} done in {took:.1f} s{note}", file=sys.stderr, flush=True)
    return figures, errors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.benchmarks", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--quick", action="store_true", help="fewer samples, no real model (CI, < 60 s)"
    )
    parser.add_argument(
        "--only", action="append", choices=list(SECTIONS), help="run only these sections"
    )
    parser.add_argument(
        "--output", type=Path, default=DEFAULT_OUTPUT, help="where to write the JSON report"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work folder (server logs)")
    args = parser.parse_args(argv)

    names = args.only or list(SECTIONS)
    workdir = Path(tempfile.mkdtemp(prefix="ladder-bench-"))
    started = time.time()
    load_before = _loadavg()
    try:
        bench = make_bench(workdir, args.quick)
        figures, errors = asyncio.run(_run_sections(bench, names))
    except Exception as exc:  # set-up failed (e.g. pytest-lsp missing): an error, not a result
        traceback.print_exc()
        figures, errors = (
            {},
            [{"section": "setup", "error": repr(exc), "detail": traceback.format_exc()}],
        )
    rows = [r for r in evaluate(figures) if args.only is None or _row_selected(r, names)]
    report = _clean(
        {
            "command": "python -m tests.benchmarks" + (" --quick" if args.quick else ""),
            "meta": {
                "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
                "seconds": round(time.time() - started, 1),
                "quick": args.quick,
                "loadavg_before": load_before,
                "loadavg_after": _loadavg(),
                **_machine(),
                "git": _git(),
            },
            "summary": rows,
            "figures": figures,
            "errors": errors,
        }
    )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    print()
    if isinstance(figures.get("code_action"), dict) and "sizes" in figures["code_action"]:
        print(listing_table(figures["code_action"]))
        print()
    print(table(rows))
    missed = [r for r in rows if r["met"] is False]
    judged = [r for r in rows if r["met"] is not None]
    print(
        f"\n{len(judged) - len(missed)} of {len(judged)} measured figures meet their targets"
        f"{'' if not missed else ' (missed: ' + ', '.join(r['figure'] for r in missed) + ')'}; "
        f"{len(errors)} error(s). Report: {args.output}"
    )
    if errors or args.keep:
        print(f"server logs kept in {workdir}", file=sys.stderr)
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if errors else 0


_ROW_SECTIONS = {
    "ladder.run vs direct, instant": "e2e_fake",
    "ladder.run vs direct, 200": "e2e_fake",
    "ladder.run vs direct, llama": "e2e_llama",
    "codeAction": "code_action",
    "  same on a do-nothing": "code_action",
    "  same run on a do-nothing": "e2e_fake",
    "  do-nothing pygls": "startup",
    "first progress": "streaming",
    "cancel": "streaming",
    "start": "startup",
    "idle RSS": "startup",
    "fan-out": "fanout",
    "local pool": "pool",
    "job ": "jobs",
}


def _row_selected(row: Row, names: list[str]) -> bool:
    for prefix, section in sorted(_ROW_SECTIONS.items(), key=lambda kv: -len(kv[0])):
        if row["figure"].startswith(prefix):
            return section in names
    return True


if __name__ == "__main__":
    sys.exit(main())
