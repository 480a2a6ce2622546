"""`edit` (the user's own instruction): the file still parses (a common check), nothing
outside the target changes, no new undefined names or other new pyflakes findings, and the
public surface stays unless the instruction asks to change it.

The rule for "asks": the instruction names a surface change — rename, signature,
parameter/argument, interface/API, async/await, decorator, base class/inherit, generator/
yield, keyword-only, defaults, split/extract/merge/inline — the same words that let a custom
action's prompt change the surface (`refactor.prompt_allows_surface_change`). "make it
async" may make the function async; "use pathlib" may not rename it.
"""

from __future__ import annotations

from ladder_lsp.pipeline.checks.context import CheckContext
from ladder_lsp.pipeline.checks.refactor import (
    MAX_REASONS,
    prompt_allows_surface_change,
    surface_reasons,
)


def check_edit_surface(ctx: CheckContext) -> str | None:
    """The surface of every def/class in the block, unless the instruction asks otherwise."""
    if prompt_allows_surface_change(ctx.instruction):
        return None
    reasons = surface_reasons(ctx)
    if not reasons:
        return None
    return "; ".join(reasons[:MAX_REASONS]) + " (the instruction did not ask for it)"
