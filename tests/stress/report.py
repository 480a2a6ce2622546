"""The reliability report: `python -m tests.stress.report [--run] [--json]`.

Prints what the stress suite measured (tests/stress/results.json, written by every run of
`python -m pytest tests/stress`): cases per category, edits applied wrongly, crashes,
internal errors, secret leaks, leaks of memory/descriptors/tasks/connections, breaker trips.
`--run` runs the suite first. Exit status 1 when a must-be-zero figure is not zero or a
category is missing, so CI can gate on it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.stress.results import MUST_BE_ZERO, RESULTS_PATH

CATEGORIES = {
    "load": "Load: 50 concurrent runs on 10 documents",
    "soak": "Soak: sequential runs",
    "faults": "Backend faults mid-session",
    "documents": "Hostile documents",
    "answers": "Hostile model answers",
    "fuzz": "Hostile LSP input (hypothesis)",
    "secrets": "Secrets, permissions, privacy",
}

# (category, key, label) for the figures worth a line of their own
FIGURES = [
    ("load", "queued_runs", "runs that showed 'queued' in progress"),
    ("load", "max_parallel_seen", "most requests at the model at once (maxParallel 4)"),
    ("load", "ledger_rows_after_concurrent", "ledger rows after the 50 runs"),
    ("load", "concurrent_seconds", "seconds for the 50 runs"),
    ("soak", "sequential_runs", "sequential runs after warm-up"),
    ("soak", "ms_per_run", "ms per run"),
    ("soak", "rss_growth_kb", "RSS growth, KB (limit 10240)"),
    ("soak", "fd_delta", "file descriptor delta"),
    ("soak", "task_delta", "asyncio task delta"),
    ("soak", "thread_delta", "thread delta"),
    ("soak", "http_connections_during_soak", "new HTTP connections during the soak"),
    ("soak", "request_futures_left", "pygls request futures left (2 = the stats request)"),
    ("faults", "breaker_trips", "circuit breaker trips"),
    ("faults", "claude_requests_while_breaker_open", "Claude requests while the breaker was open"),
    ("faults", "runs_refused_by_breaker", "runs answered at once by the open breaker"),
    ("faults", "slow_load_run_seconds", "slowest run with a slow first byte, s"),
    ("documents", "listing_ms_10MB_cursor-again", "listing on a 10 MB file (cursor), ms"),
    ("documents", "listing_ms_10MB_whole-file-again", "listing, whole 10 MB file selected, ms"),
    ("documents", "listing_ms_200k-lines_cursor-again", "listing on 200,000 lines (cursor), ms"),
    (
        "documents",
        "listing_ms_200k-lines_whole-file-again",
        "listing, whole 200,000-line file selected, ms",
    ),
    (
        "documents",
        "listing_during_whole_file_run_ms_10MB",
        "listing delayed by a whole-file run on 10 MB, ms",
    ),
    ("documents", "prompt_chars_10MB", "prompt size for a function in a 10 MB file, chars"),
    ("documents", "cli_tracebacks", "CLI runs ending in a traceback (known bug, cli.py)"),
    ("answers", "control_char_answers_applied", "answers with control characters applied"),
    ("answers", "huge_answer_rss_growth_kb", "RSS growth from a 10 MB/endless answer, KB"),
    ("fuzz", "error_codes", "answers by JSON-RPC code"),
    ("secrets", "local_only_paths_checked", "localOnly file x path combinations checked"),
    ("secrets", "claude_requests_for_private_files", "Claude requests for localOnly files"),
    ("secrets", "loose_permissions", "files/folders readable by others"),
    (
        "secrets",
        "known_env_exposure_to_generated_tests",
        "env key visible to generated tests (runTests, known bug)",
    ),
]


def load(path: Path = RESULTS_PATH) -> dict[str, dict[str, Any]]:
    data = json.loads(path.read_text())
    categories: dict[str, dict[str, Any]] = data.get("categories", {})
    return categories


def render(categories: dict[str, dict[str, Any]]) -> tuple[str, bool]:
    """The report text, and whether it is green."""
    lines = ["Ladder reliability report", "=" * 25, ""]
    header = f"{'category':<42}{'cases':>8}{'wrong':>7}{'crash':>7}{'intern':>8}{'leaks':>7}"
    lines += [header, "-" * len(header)]
    totals = dict.fromkeys(("cases", *MUST_BE_ZERO), 0)
    green = True
    for name, title in CATEGORIES.items():
        cat = categories.get(name)
        if cat is None:
            lines.append(f"{title:<42}{'(not run)':>8}")
            green = False
            continue
        row = [int(cat.get(k, 0)) for k in ("cases", *MUST_BE_ZERO)]
        for key, value in zip(("cases", *MUST_BE_ZERO), row, strict=True):
            totals[key] += value
        green = green and not any(row[1:])
        cases, wrong, crashes, internal, leaks = row
        lines.append(f"{title:<42}{cases:>8}{wrong:>7}{crashes:>7}{internal:>8}{leaks:>7}")
    lines.append("-" * len(header))
    t = totals
    lines.append(
        f"{'total':<42}{t['cases']:>8}{t['wrong_edits']:>7}{t['crashes']:>7}"
        f"{t['internal_errors']:>8}{t['secret_leaks']:>7}"
    )
    lines += ["", "Figures", "-------"]
    for category, key, label in FIGURES:
        value = categories.get(category, {}).get(key)
        if value is None:
            continue
        if isinstance(value, dict):
            value = ", ".join(f"{k}: {v}" for k, v in sorted(value.items()))
        lines.append(f"  {category:<10}{label:<58}{value}")
    measured = sorted({c.get("measured_at", "?") for c in categories.values()})
    lines += ["", f"measured: {', '.join(measured)}", f"verdict: {'GREEN' if green else 'RED'}"]
    return "\n".join(lines), green


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--run", action="store_true", help="run tests/stress first")
    parser.add_argument("--json", action="store_true", help="print the raw figures")
    args = parser.parse_args(argv)
    if args.run or not RESULTS_PATH.exists():
        root = Path(__file__).resolve().parents[2]
        code = subprocess.call(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/stress"],
            cwd=root,
        )
        if code not in (0, 1):
            print(f"the stress suite could not run (pytest exit {code})", file=sys.stderr)
            return 2
    categories = load()
    if args.json:
        print(json.dumps(categories, indent=2, sort_keys=True))
        return 0
    text, green = render(categories)
    print(text)
    return 0 if green else 1


if __name__ == "__main__":
    sys.exit(main())
