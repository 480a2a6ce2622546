"""The user's instruction: how routing scores it, where the prompt puts it, and the edit
guard's rule for when the public surface may change."""

from __future__ import annotations

from ladder_lsp.engine import prompts, routing
from ladder_lsp.engine.actions import find_action
from ladder_lsp.pipeline.checks.context import CheckContext
from ladder_lsp.pipeline.checks.edit import check_edit_surface
from ladder_lsp.settings import Settings

CODE = "def total(items):\n    return sum(items)\n"
EDIT = find_action("edit", Settings())
assert EDIT is not None


def test_a_short_local_instruction_adds_nothing() -> None:
    assert routing.instruction_parts("use pathlib") == []
    plain = routing.score(EDIT, CODE, "python")
    assert routing.score(EDIT, CODE, "python", instruction="use pathlib") == plain


def test_cross_cutting_and_long_instructions_escalate_with_their_reason() -> None:
    settings = Settings()
    available = routing.Availability(claude_ok=True, claude_problem="")
    for instruction, why in (
        ("rename it everywhere", 'cross-cutting instruction ("everywhere")'),
        ("Restructure this into classes", 'cross-cutting instruction ("Restructure")'),
        (" ".join(["word"] * 61), "long instruction (61 words)"),
    ):
        the_score = routing.score(EDIT, CODE, "python", instruction=instruction)
        decision = routing.decide(EDIT, settings, available, the_score)
        assert decision.tier is routing.Tier.CLAUDE, instruction
        assert why in decision.why
    short = routing.score(EDIT, CODE, "python", instruction="handle None")
    assert routing.decide(EDIT, settings, available, short).tier is routing.Tier.LOCAL


def test_the_instruction_goes_into_the_task_part_of_the_prompt() -> None:
    lines = CODE.splitlines(True)
    inp = prompts.PromptInput(
        EDIT, "python", "/p/m.py", lines, 0, 2, CODE, instruction="  handle None  "
    )
    request = prompts.build(inp, 8192)
    task = request.user.split("\n\n")[0]
    assert "Instruction from the user: handle None" in task
    assert "the user's instruction" in task


def surface_ctx(instruction: str) -> CheckContext:
    new = "async def total(items):\n    return sum(items)\n"
    return CheckContext("edit", "python", CODE, new, CODE, new, instruction=instruction)


def test_edit_surface_changes_only_when_the_instruction_names_one() -> None:
    refused = check_edit_surface(surface_ctx("handle None"))
    assert refused is not None and "async" in refused and "did not ask" in refused
    assert check_edit_surface(surface_ctx("make it async")) is None
