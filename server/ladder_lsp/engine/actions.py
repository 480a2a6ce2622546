"""The action catalogue: which actions exist, their LSP kinds, titles and the task they give.

Listing must be instant and offline, so nothing here touches the network or a model: it maps
(settings, range, diagnostics, route decision) to plain `Offer`s that the LSP layer turns into
CodeActions.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from ladder_lsp.settings import Settings

REFACTOR_REWRITE = "refactor.rewrite"
QUICKFIX = "quickfix"
REFACTOR = "refactor"
SOURCE = "source"


@attrs.frozen
class ActionSpec:
    id: str
    verb: str  # "Refactor" → "Refactor with local model"
    kind: str
    task: str  # what the model is asked to do, in the prompt
    edits_code: bool = True
    custom_prompt: str = ""  # user template with {code}, {language}, {path}
    needs_instruction: bool = False  # the user says what to do (`ladder.run` "instruction")


BUILTIN: tuple[ActionSpec, ...] = (
    ActionSpec(
        "refactor",
        "Refactor",
        REFACTOR_REWRITE,
        "Refactor the code for clarity and maintainability. Keep its behaviour and public "
        "interface exactly: same names, parameters (including self/cls), decorators, return "
        "values and side effects.",
    ),
    ActionSpec(
        "edit",
        "Edit",
        REFACTOR_REWRITE,
        "Change the code as the user's instruction below says, and nothing else. Keep every "
        "name, parameter and behaviour the instruction does not ask to change.",
        needs_instruction=True,
    ),
    ActionSpec(
        "docstring",
        "Add docstring",
        REFACTOR_REWRITE,
        "Add or improve the docstrings (or doc comments) of the functions and classes in the "
        "code. Change nothing else: no code, no names, no formatting.",
    ),
    ActionSpec(
        "explain",
        "Explain",
        SOURCE,
        "Explain what the code does, how, and anything surprising or risky, in concise "
        "Markdown for a developer.",
        edits_code=False,
    ),
    ActionSpec(
        "fix",
        "Fix",
        QUICKFIX,
        "Fix the problem reported by the diagnostics below with the smallest correct change. "
        "Change nothing unrelated.",
    ),
    ActionSpec(
        "tests",
        "Write tests",
        REFACTOR,
        "Write focused unit tests for the code, as a complete test module that imports the "
        "code under test. Cover normal cases, edge cases and errors.",
    ),
)
BUILTIN_IDS = frozenset(a.id for a in BUILTIN)  # a custom action may not take one (settings)
MAX_INSTRUCTION_CHARS = 4000  # an instruction is a sentence or a paragraph, not a document


def catalogue(settings: Settings) -> list[ActionSpec]:
    """Built-in actions followed by the user's custom ones (a custom id never shadows one)."""
    custom = [
        ActionSpec(
            id=c.id,
            verb=c.title,
            kind=c.kind,
            task="",
            custom_prompt=c.prompt,
            edits_code=not kind_allowed(c.kind, [SOURCE]),  # `source`, `source.x`: answers
        )
        for c in settings.actions.custom
        if c.id not in BUILTIN_IDS
    ]
    return [*BUILTIN, *custom]


def find_action(action_id: str, settings: Settings) -> ActionSpec | None:
    return next((a for a in catalogue(settings) if a.id == action_id), None)


def instruction_problem(spec: ActionSpec, instruction: str) -> str:
    """Why a run cannot start with this instruction ('' when it can): `edit` needs one; any
    action takes one as extra guidance. Checked before anything is sent to a model."""
    if spec.needs_instruction and not instruction.strip():
        return (
            f"{spec.verb} needs an instruction: say what to change (for example "
            '"use pathlib"); nothing was sent to a model'
        )
    if len(instruction) > MAX_INSTRUCTION_CHARS:
        return (
            f"the instruction is {len(instruction):,} characters long (at most "
            f"{MAX_INSTRUCTION_CHARS:,}); nothing was sent to a model"
        )
    return ""


def title(spec: ActionSpec, where: str, *, diagnostic: str = "", why: str = "") -> str:
    """`Refactor with local model`, `Fix "x is undefined" with Claude (312 lines, …)`;
    `Edit with local model…` for an action that asks the user for an instruction first."""
    verb = spec.verb
    if spec.id == "fix" and diagnostic:
        short = diagnostic.splitlines()[0].strip()
        if len(short) > 60:
            short = short[:57] + "…"
        verb = f'Fix "{short}"'
    text = f"{verb} with {where}{'…' if spec.needs_instruction else ''}"
    return f"{text} ({why})" if why else text


def kind_allowed(kind: str, only: Sequence[str] | None) -> bool:
    """LSP `only` filtering: `refactor` admits `refactor.rewrite`."""
    if not only:
        return True
    return any(kind == o or kind.startswith(o + ".") for o in only)
