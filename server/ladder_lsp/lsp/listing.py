"""`textDocument/codeAction`: which Ladder actions a range gets, with titles that say where
the work will run. Pure computation on the open document — no network, no model — so it is
instant whatever the file size; parsing for the enclosing definition is cached per version.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
from lsprotocol import types

from ladder_lsp.analysis.regions import RegionFinder
from ladder_lsp.backends.base import Tier
from ladder_lsp.engine import routing as router
from ladder_lsp.engine.actions import ActionSpec, catalogue, find_action, kind_allowed, title
from ladder_lsp.engine.fanout import looks_splittable
from ladder_lsp.lsp.text import range_overlaps
from ladder_lsp.settings import Settings

MAX_SCORED_CHARS = 200_000  # beyond this the size alone decides; no AST walk while listing


@attrs.frozen
class RunArgs:
    """Arguments of `ladder.run` (contract), also what each listed action carries."""

    action: str
    uri: str
    range: types.Range
    version: int | None = None
    tier: str | None = None
    diagnostics: list[str] | None = None
    workers: bool | None = None  # fan out over top-level definitions (contract extension)
    instruction: str | None = None  # the user's words: required for `edit`, optional else


def offers(
    *,
    uri: str,
    path: str,
    language: str,
    version: int | None,
    lines: Sequence[str],
    requested: types.Range,
    context: types.CodeActionContext,
    settings: Settings,
    available: router.Availability,
    context_tokens: int,
    regions: RegionFinder,
) -> list[types.CodeAction]:
    """CodeActions for the selection, or for the definition around an empty cursor."""
    rng = requested
    whole_file = types.Range(types.Position(0, 0), types.Position(len(lines), 0))
    workers_range = whole_file if _is_empty(rng) else rng
    workers = _worker_actions(
        uri,
        version,
        language,
        lines,
        workers_range,
        settings,
        available,
        context.only,
        whole=_is_empty(requested),
    )
    if _is_empty(rng):
        found = regions.enclosing(uri, version, language, lines, rng.start.line)
        if found is None:
            return workers
        start, end = found
        rng = types.Range(types.Position(start, 0), types.Position(end, 0))
    code = _text_of(lines, rng)
    if not code.strip():
        return workers
    diagnostics = [d for d in context.diagnostics if range_overlaps(d.range, rng)]
    scored = code if len(code) <= MAX_SCORED_CHARS else code[:MAX_SCORED_CHARS]
    actions: list[types.CodeAction] = []
    for spec in catalogue(settings):
        if spec.id == "fix" and not diagnostics:
            continue
        if not kind_allowed(spec.kind, context.only):
            continue
        messages = [d.message for d in diagnostics] if spec.id == "fix" else []
        the_score = router.score(spec, scored, language, messages, context_tokens)
        decision = router.decide(spec, settings, available, the_score)
        args = RunArgs(spec.id, uri, rng, version, None, messages or None)
        actions.append(_action(spec, decision, args, diagnostics if messages else None))
        if spec.id in ("refactor", "fix", "edit") and decision.tier is not None:
            other = Tier.CLAUDE if decision.tier is Tier.LOCAL else Tier.LOCAL
            alt = router.decide(spec, settings, available, the_score, explicit=other)
            if alt.tier is not None:
                alt_args = attrs.evolve(args, tier=other.value)
                actions.append(_action(spec, alt, alt_args, diagnostics if messages else None))
    return actions + workers


def _worker_actions(
    uri: str,
    version: int | None,
    language: str,
    lines: Sequence[str],
    rng: types.Range,
    settings: Settings,
    available: router.Availability,
    only: Sequence[str] | None,
    *,
    whole: bool,
) -> list[types.CodeAction]:
    """ "Refactor file with local workers": offered when the range holds ≥ 2 definitions."""
    end = rng.end.line + (1 if rng.end.character else 0)
    if not available.local_ok or not looks_splittable(language, lines, rng.start.line, end):
        return []
    where = "file" if whole else "selection"
    out = []
    for action_id, verb in (("refactor", f"Refactor {where}"), ("docstring", "Add docstrings")):
        spec = find_action(action_id, settings)
        if spec is None or not kind_allowed(spec.kind, only):
            continue
        worker_spec = attrs.evolve(spec, verb=verb)
        args = RunArgs(action_id, uri, rng, version, None, None, True)
        decision = router.Decision(Tier.LOCAL)
        out.append(_action(worker_spec, decision, args, None, where="local workers"))
    return out


def _action(
    spec: ActionSpec,
    decision: router.Decision,
    args: RunArgs,
    diagnostics: list[types.Diagnostic] | None,
    where: str = "",
) -> types.CodeAction:
    where = where or (decision.tier.label if decision.tier else "Ladder")
    diagnostic = diagnostics[0].message if diagnostics else ""
    text = title(spec, where, diagnostic=diagnostic, why=decision.why)
    payload: dict[str, Any] = {
        "action": args.action,
        "uri": args.uri,
        "range": {
            "start": {"line": args.range.start.line, "character": args.range.start.character},
            "end": {"line": args.range.end.line, "character": args.range.end.character},
        },
        "version": args.version,
    }
    if args.tier:
        payload["tier"] = args.tier
    if args.diagnostics:
        payload["diagnostics"] = args.diagnostics
    if args.workers:
        payload["workers"] = True
    return types.CodeAction(
        title=text,
        kind=spec.kind,
        diagnostics=diagnostics,
        is_preferred=spec.id == "fix" and args.tier is None,
        disabled=types.CodeActionDisabled(reason=decision.refusal)
        if decision.tier is None
        else None,
        command=types.Command(title=text, command="ladder.run", arguments=[payload]),
        tags=[types.CodeActionTag.LlmGenerated],
    )


def _is_empty(rng: types.Range) -> bool:
    return rng.start.line == rng.end.line and rng.start.character == rng.end.character


def _text_of(lines: Sequence[str], rng: types.Range) -> str:
    """Approximate text of a range for scoring (whole lines; exact slicing happens on run)."""
    end = rng.end.line + (1 if rng.end.character > 0 else 0)
    end = max(end, rng.start.line + 1)
    return "".join(lines[rng.start.line : end])
