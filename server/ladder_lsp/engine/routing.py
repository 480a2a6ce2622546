"""The routing policy, all of it: which tier runs an action, what follows a failure, and
when Claude is not used — as plain functions of what is cheap to know (settings, what is
available, the code), which the Engine calls and the action listing shows.

The complexity score (0-100) adds up explainable parts: selection size, Python AST shape
(branches, nesting, names defined elsewhere), the action and its diagnostics, the user's
instruction (a long one, or one that reaches beyond the selection: "everywhere", "across the
module", "restructure"), and whether the prompt plus the expected answer fits the local
model's context. `auto` routing sends work to
the local model unless the score is above `routing.escalateAbove`; the reason of the biggest
part goes into the action title ("312 lines, above local limit"). A run then follows its plan
(local, one local retry with the reason, Claude when escalation is allowed), changed by what
each failure says: a local server that is down or too small is not retried, a Claude that
cannot serve (no key, rate limit, outage, budget) hands back to the local model. Claude is
never used for a local-only file (`privacy.localOnly`, secrets in the code), without a key,
automatically when `budget.dailyUsd` is 0, or past today's budget.
"""

from __future__ import annotations

import ast
import builtins
import functools
import re
from collections.abc import Sequence

import attrs

from ladder_lsp.analysis.python.parse import parse_dedented
from ladder_lsp.backends.base import ChatRequest, FailureKind, Tier, Usage
from ladder_lsp.engine.actions import ActionSpec
from ladder_lsp.engine.prompts import answer_budget, estimate_tokens
from ladder_lsp.settings import DEFAULT_CONTEXT_TOKENS, RoutingMode, Settings

# Failures after which a tier is not tried again in this run.
LOCAL_DOWN = frozenset({FailureKind.UNREACHABLE, FailureKind.NO_MODEL, FailureKind.TOO_LARGE})
CLAUDE_DOWN = frozenset(
    {
        FailureKind.AUTH,
        FailureKind.RATE_LIMITED,
        FailureKind.OVERLOADED,
        FailureKind.NOT_CONFIGURED,
        FailureKind.UNREACHABLE,
        FailureKind.BUDGET,
    }
)
NO_KEY = "no Claude API key"
PROMPT_OVERHEAD_TOKENS = 400  # the system prompt and task, roughly, in the fit estimate
ACTION_WEIGHT = {"tests": 15, "refactor": 10, "edit": 10, "fix": 5, "explain": 0, "docstring": 0}
BUILTIN_NAMES = frozenset(dir(builtins))
LONG_INSTRUCTION_WORDS = 60  # more than a few sentences: a plan, not an edit
INSTRUCTION_POINTS = 50.0  # with the action's weight, above the default escalateAbove (60)
_CROSS_CUTTING = re.compile(
    r"\b(everywhere|throughout|across|codebase|project[- ]wide|whole (?:file|module|project)|"
    r"every (?:file|module|caller|call site|usage|class|function)|all (?:the )?(?:files|"
    r"modules|callers|call sites|usages|classes|functions)|restructur\w*|re-?architect\w*|"
    r"split (?:it |this )?into|migrat\w*)\b",
    re.IGNORECASE,
)


@attrs.frozen
class Score:
    total: float
    parts: tuple[tuple[str, float], ...]  # (why, points), biggest first
    fits_local: bool = True

    @property
    def reason(self) -> str:
        return self.parts[0][0] if self.parts else ""


@attrs.frozen
class Decision:
    tier: Tier | None  # None: no tier can serve; `refusal` says why
    why: str = ""  # shown in the title when the choice is not the plain default
    refusal: str = ""


@attrs.frozen
class Availability:
    """What the router may use right now; filled by the engine from settings and state."""

    local_ok: bool = True
    local_problem: str = ""
    claude_ok: bool = False
    claude_problem: str = NO_KEY
    private_reason: str = ""  # set when this code must not go to Claude


def availability(
    local_reachable: bool | None, local_problem: str, has_claude_key: bool, private_reason: str
) -> Availability:
    """A local server not yet asked counts as up; Claude needs a key."""
    local_ok = local_reachable is not False
    return Availability(
        local_ok=local_ok,
        local_problem="" if local_ok else local_problem,
        claude_ok=has_claude_key,
        claude_problem="" if has_claude_key else NO_KEY,
        private_reason=private_reason,
    )


def score(
    spec: ActionSpec,
    code: str,
    language: str,
    diagnostics: Sequence[str] = (),
    context_tokens: int = DEFAULT_CONTEXT_TOKENS,
    instruction: str = "",
) -> Score:
    """Pure and fast enough for listing (the code is one selection or definition)."""
    parts: list[tuple[str, float]] = []
    n_lines = max(1, len(code.splitlines()))  # a trailing newline does not start a line
    parts.append((f"{n_lines} lines", min(40.0, n_lines / 5)))
    if language == "python":
        parts.extend(_python_parts(code))
    weight = ACTION_WEIGHT.get(spec.id, 10)
    if weight:
        parts.append((f"{spec.verb.lower()} is demanding", float(weight)))
    if diagnostics:
        parts.append((f"{len(diagnostics)} diagnostics", min(15.0, 5.0 * len(diagnostics))))
    parts.extend(instruction_parts(instruction))
    needed = estimate_tokens(code) * 2 + answer_budget(code, spec) + PROMPT_OVERHEAD_TOKENS
    fits = needed <= context_tokens
    if not fits:
        parts.append((f"{n_lines} lines, above local limit", 100.0))
    parts.sort(key=lambda p: -p[1])
    return Score(total=min(100.0, sum(p for _, p in parts)), parts=tuple(parts), fits_local=fits)


def instruction_parts(instruction: str) -> list[tuple[str, float]]:
    """What the user's instruction adds to the score: a long instruction, or one that reaches
    beyond the selection, is work for the stronger model."""
    cross = _CROSS_CUTTING.search(instruction)
    if cross:
        return [(f'cross-cutting instruction ("{cross.group(0)}")', INSTRUCTION_POINTS)]
    words = len(instruction.split())
    if words > LONG_INSTRUCTION_WORDS:
        return [(f"long instruction ({words} words)", INSTRUCTION_POINTS)]
    return []


@functools.lru_cache(maxsize=32)  # listing scores the same code once per action
def _python_parts(code: str) -> list[tuple[str, float]]:
    tree = parse_dedented(code)  # the block listing's definition finder just parsed
    if tree is None:
        return []
    branches = 0
    depth = 0
    defined: set[str] = set()
    used: set[str] = set()

    # An explicit stack, not recursion: a long expression (`a + a + ... + a`) parses into a
    # tree deeper than Python's recursion limit, and listing must never crash on it.
    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    while stack:
        node, level = stack.pop()
        for child in ast.iter_child_nodes(node):
            nested = level
            if isinstance(
                child,
                (
                    ast.If,
                    ast.For,
                    ast.While,
                    ast.Try,
                    ast.With,
                    ast.Match,
                    ast.AsyncFor,
                    ast.AsyncWith,
                    ast.IfExp,
                    ast.comprehension,
                ),
            ):
                branches += 1
                nested = level + 1
                depth = max(depth, nested)
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                defined.add(child.name)
                defined.update(a.arg for a in ast.walk(child.args) if isinstance(a, ast.arg))
            elif isinstance(child, ast.ClassDef):
                defined.add(child.name)
            if isinstance(child, ast.Name):
                (defined if isinstance(child.ctx, ast.Store) else used).add(child.id)
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                defined.update((a.asname or a.name).split(".")[0] for a in child.names)
            stack.append((child, nested))

    external = used - defined - BUILTIN_NAMES - {"self", "cls"}
    parts: list[tuple[str, float]] = []
    if branches:
        parts.append((f"{branches} branches", min(20.0, branches * 1.5)))
    if depth > 2:
        parts.append((f"nesting depth {depth}", min(15.0, (depth - 2) * 5.0)))
    if external:
        parts.append((f"{len(external)} names defined elsewhere", min(10.0, len(external) * 1.0)))
    return parts


def decide(
    spec: ActionSpec,
    settings: Settings,
    available: Availability,
    the_score: Score,
    *,
    explicit: Tier | None = None,
) -> Decision:
    """The policy table (README "Routing"): explicit choice, then mode, then the score."""
    mode = RoutingMode(settings.routing.mode)
    claude_blocked = available.private_reason or (
        "" if available.claude_ok else available.claude_problem
    )
    if explicit is Tier.CLAUDE and mode is RoutingMode.LOCAL:
        return Decision(None, refusal="Claude is not used: routing.mode is local (never Claude)")
    if explicit is Tier.CLAUDE or (explicit is None and mode is RoutingMode.CLAUDE):
        if claude_blocked:
            return Decision(None, refusal=f"Claude is not available: {claude_blocked}")
        return Decision(Tier.CLAUDE)
    if explicit is Tier.LOCAL or mode is RoutingMode.LOCAL:
        if not available.local_ok:
            return Decision(None, refusal=available.local_problem or "the local model is down")
        return Decision(Tier.LOCAL)
    # auto
    wants_claude = not the_score.fits_local or the_score.total > settings.routing.escalate_above
    auto_claude_ok = claude_allowed(settings, available)
    if wants_claude and auto_claude_ok:
        why = the_score.reason
        if the_score.fits_local:
            why = f"complexity {the_score.total:.0f}: {why}"
        return Decision(Tier.CLAUDE, why=why)
    if available.local_ok:
        return Decision(Tier.LOCAL)
    if auto_claude_ok:
        return Decision(Tier.CLAUDE, why=available.local_problem or "local model down")
    return Decision(
        None,
        refusal=f"{available.local_problem or 'the local model is down'}; "
        f"Claude: {claude_blocked or 'automatic use is off (budget.dailyUsd = 0)'}",
    )


def is_auto(settings: Settings, explicit: Tier | None) -> bool:
    """The router chooses (no "… with Claude" from the user, `routing.mode` auto)."""
    return explicit is None and settings.routing.mode == RoutingMode.AUTO.value


def claude_allowed(settings: Settings, available: Availability) -> bool:
    """Claude may be used without the user asking: a key, code that may leave, a budget."""
    return available.claude_ok and not available.private_reason and settings.budget.daily_usd > 0


def plan(first: Tier, settings: Settings, available: Availability, *, explicit: bool) -> list[Tier]:
    """The cascade: local, one local retry, then Claude when escalation is allowed."""
    if first is Tier.CLAUDE or explicit:
        return [first]
    tiers = [Tier.LOCAL]
    if settings.routing.escalate_on_failure:
        tiers.append(Tier.LOCAL)
        if settings.routing.mode == RoutingMode.AUTO.value and claude_allowed(settings, available):
            tiers.append(Tier.CLAUDE)
    return tiers


def is_escalation(tried: Sequence[Tier], tier: Tier) -> bool:
    """Claude takes over from the local model (the user is told why)."""
    return bool(tried) and tried[-1] is Tier.LOCAL and tier is Tier.CLAUDE


def after_failure(
    queue: Sequence[Tier],
    failed: Tier,
    kind: FailureKind | None,
    tried: Sequence[Tier],
    *,
    auto: bool,
    claude_allowed: bool,
    local_ok: bool,
    local_fallback: bool,
) -> list[Tier]:
    """The tiers still to try after an attempt on `failed` ended in `kind` (None: the answer
    was rejected). `tried` includes the failed attempt; `local_fallback`: the local tier is
    now served by another engine (the server went away, the embedded engine took over)."""
    if (
        kind is FailureKind.UNREACHABLE
        and failed is Tier.LOCAL
        and local_fallback
        and tried.count(Tier.LOCAL) == 1
    ):
        return [Tier.LOCAL, *queue]  # the server went away: the embedded engine serves
    if kind in LOCAL_DOWN and failed is Tier.LOCAL:
        # no point retrying a server that is down or too small; fall back when allowed
        rest: list[Tier] = [t for t in queue if t is not Tier.LOCAL]
        return [Tier.CLAUDE] if auto and not rest and claude_allowed else rest
    if kind in CLAUDE_DOWN and failed is Tier.CLAUDE:
        rest = [t for t in queue if t is not Tier.CLAUDE]
        return [Tier.LOCAL] if auto and Tier.LOCAL not in tried and local_ok else rest
    return list(queue)


def budget_applies(daily_usd: float, *, explicit: bool) -> bool:
    """`budget.dailyUsd` 0 stops automatic use only: an explicit "with Claude" is the user's
    call."""
    return not (daily_usd == 0 and explicit)


def estimated_usage(request: ChatRequest) -> Usage:
    """A Claude call before it is sent, for the budget: the prompt and half the answer room."""
    return Usage(
        input_tokens=estimate_tokens(request.system + request.user),
        output_tokens=request.max_tokens // 2,
    )


def over_budget(spent_usd: float, estimate_usd: float, daily_usd: float) -> str:
    """Why this call would break `budget.dailyUsd`, or ""."""
    if spent_usd + estimate_usd > daily_usd:
        return f"today's Claude budget is spent (${spent_usd:.2f} of ${daily_usd:.2f})"
    return ""
