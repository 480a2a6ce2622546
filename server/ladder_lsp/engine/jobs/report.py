"""A job's report: each unit with its tier, member (the local server that served it, else
the model), seconds,
tokens and cost, what became of it, and the job's total against what the same units would
have cost on Claude alone (their tokens at the configured Claude model's price, as the
ledger's savings figure counts them). As JSON (CLI `--json`, the command's result), plain
text (CLI) and Markdown (the editor's report document)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ladder_lsp.engine.jobs.job import Job
from ladder_lsp.engine.jobs.runner import UnitResult, all_claude_cost, tier_label

NOT_DONE = (
    "failed",
    "unchanged",
    "blocked",
    "stale",
    "refused",
    "no-answer",
)  # a unit's job undone


def unit_rows(
    job: Job, results: Mapping[str, UnitResult], delivered: Mapping[str, str], claude_model: str
) -> list[dict[str, Any]]:
    rows = []
    for r in job.units:
        result = results.get(r.unit.id)
        if result is None:
            continue
        o = result.outcome
        tokens = sum(a.usage.input_tokens + a.usage.output_tokens for a in o.attempts)
        on_claude = all_claude_cost(o.attempts, claude_model)
        rows.append(
            {
                "id": r.unit.id,
                "path": r.unit.path,
                "where": r.unit.where,
                "action": r.unit.action,
                "status": _status(result, delivered.get(r.unit.id, "")),
                "tier": tier_label(result),
                "member": next((a.endpoint for a in reversed(o.attempts) if a.endpoint), o.model),
                "seconds": round(result.seconds, 2),
                "tokens": tokens,
                "costUsd": round(result.cost, 6),
                "allClaudeUsd": round(on_claude, 6),
                "escalated": result.escalated,
                "message": o.message,
            }
        )
    return rows


def _status(result: UnitResult, delivery: str) -> str:
    status = result.outcome.status
    if status == "edit":
        return delivery or "done"
    if status == "no-change":
        return "unchanged"
    return "failed"


def totals(rows: list[dict[str, Any]], job: Job) -> dict[str, Any]:
    """The job's figures: its units, and its plan's model call when a model planned it."""
    spent = sum(r["costUsd"] for r in rows) + job.plan_usd
    all_claude = sum(r["allClaudeUsd"] for r in rows) + job.plan_all_claude_usd
    failed = [r["id"] for r in rows if r["status"] in NOT_DONE]
    return {
        "units": len(rows),
        "failed": failed,
        "escalated": sum(1 for r in rows if r["escalated"]),
        "costUsd": round(spent, 6),
        "planUsd": round(job.plan_usd, 6),
        "allClaudeUsd": round(all_claude, 6),
        "costRatio": round(spent / all_claude, 3) if all_claude else None,
        "seconds": round(sum(r["seconds"] for r in rows), 2),
    }


def as_text(job: Job, rows: list[dict[str, Any]]) -> str:
    t = totals(rows, job)
    lines = [f"job {job.id}: {job.plan.goal or 'plan'}"]
    for r in rows:
        lines.append(
            f"  {r['status']:<9} {r['id']:<32} {r['tier']:<6} {r['member'] or '-':<24} "
            f"{r['seconds']:>6.1f}s {r['tokens']:>6} tok ${r['costUsd']:.4f}"
        )
        if r["status"] in NOT_DONE:
            lines.append(f"            {r['message']}")
    lines.append(_total_line(t))
    return "\n".join(lines) + "\n"


def _total_line(t: dict[str, Any]) -> str:
    done = t["units"] - len(t["failed"])
    plan = f" (planning ${t['planUsd']:.4f})" if t["planUsd"] else ""
    return (
        f"{done}/{t['units']} units done, {len(t['failed'])} failed, {t['escalated']} escalated; "
        f"cost ${t['costUsd']:.4f}{plan} vs ${t['allClaudeUsd']:.4f} on Claude alone"
    )


def as_markdown(job: Job, rows: list[dict[str, Any]]) -> str:
    t = totals(rows, job)
    out = [
        f"# Ladder job {job.id}",
        "",
        f"*{job.plan.goal or 'plan'}*",
        "",
        "| unit | status | tier | member | s | tokens | cost |",
        "|---|---|---|---|---:|---:|---:|",
    ]
    for r in rows:
        out.append(
            f"| `{r['id']}` | {r['status']} | {r['tier']} | {r['member'] or '-'} | "
            f"{r['seconds']:.1f} | {r['tokens']} | ${r['costUsd']:.4f} |"
        )
    out += ["", _total_line(t) + "."]
    failed = [r for r in rows if r["status"] in NOT_DONE]
    if failed:
        out += ["", "## Left unchanged", ""]
        out += [f"- `{r['id']}`: {r['message']}" for r in failed]
    return "\n".join(out) + "\n"
