"""Checks an edit must pass before it reaches the user's document.

A check is a pure function of a `CheckContext` that returns None (pass) or a short reason a
user can read ("the answer was cut off at the token limit"). Checks are registered per action
(`None` = every action that edits), so per-action semantic guards join the same registry
instead of growing a second pipeline. `run_checks` never raises: a check that crashes is
reported as a failure, because an unchecked edit must not slip through.

A failing check is what lets the router retry or escalate to a stronger tier, so the reasons
name what is wrong with the answer, not what the user did.

What a check sees is in `context`; the checks every edit gets are in `common`, `placeholders`
and `syntax`, the per-action guards in `guards` (one module per family). This module imports
them all and nothing imports it but the engine.
"""

from __future__ import annotations

from ladder_lsp.pipeline.checks import guards
from ladder_lsp.pipeline.checks.common import (
    check_empty,
    check_invisible,
    check_markdown,
    check_repeated_context,
    check_truncated,
    check_unchanged,
)
from ladder_lsp.pipeline.checks.context import Check, CheckContext
from ladder_lsp.pipeline.checks.placeholders import check_placeholders
from ladder_lsp.pipeline.checks.syntax import check_syntax

# Actions whose answer is not applied as an edit: only checks registered for them run.
NON_EDIT_ACTIONS = frozenset({"explain"})

_REGISTRY: dict[str | None, list[Check]] = {}


def register(action: str | None, check: Check) -> None:
    """Add a check for one action id, or for every edit action when `action` is None.

    Registering the same function twice for an action is a no-op (safe on re-import).
    """
    checks = _REGISTRY.setdefault(action, [])
    if check not in checks:
        checks.append(check)


def unregister(action: str | None, check: Check) -> None:
    """Remove a check (tests, or a plugin that replaces a built-in check)."""
    checks = _REGISTRY.get(action, [])
    if check in checks:
        checks.remove(check)


def checks_for(action: str, *, custom: bool = False) -> tuple[Check, ...]:
    """The checks `run_checks` runs for `action`, in order: common ones first. A custom
    action (one with a prompt of its own) without checks of its own gets the `custom` ones."""
    common = () if action in NON_EDIT_ACTIONS else tuple(_REGISTRY.get(None, ()))
    specific = _REGISTRY.get(action)
    if specific is None and custom:
        specific = _REGISTRY.get(guards.CUSTOM)
    return common + tuple(specific or ())


def run_checks(ctx: CheckContext) -> list[str]:
    """Every failing reason, in registration order; an empty list means the edit may go."""
    reasons: list[str] = []
    for check in checks_for(ctx.action, custom=bool(ctx.custom_prompt)):
        try:
            reason = check(ctx)
        except Exception as exc:  # a check must never take the request down
            name = getattr(check, "__name__", repr(check))
            reason = f"internal error in check {name}: {type(exc).__name__}: {exc}"
        if reason:
            reasons.append(reason)
    return reasons


for _check in (
    check_truncated,
    check_empty,
    check_invisible,
    check_unchanged,
    check_markdown,
    check_placeholders,
    check_repeated_context,
    check_syntax,
):
    register(None, _check)

# Per-action guards (docstring, refactor, fix, tests, custom): see `pipeline.checks.guards`.
for _action, _guard in guards.GUARDS:
    register(_action, _guard)
