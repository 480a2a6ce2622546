"""When an edit waits for the user's yes (`edits.confirm`), and the words it is asked in.

The editor asks with its refactor preview (a change annotation with `needsConfirmation`) or
with Apply / Show diff / Discard; the CLI asks on a terminal. How each face asks is its own;
whether to ask and what the question says is decided here, once, by `confirmation_for`, which
`engine.delivery` calls for every edit and new test file.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Sequence

import attrs

from ladder_lsp.backends.base import Tier
from ladder_lsp.engine.run_types import RunOutcome
from ladder_lsp.pipeline.edits import LineEdit

ANNOTATION_ID = "ladder"
APPLY = "Apply"
SHOW_DIFF = "Show diff"
DISCARD = "Discard"
DISCARDED = "you discarded the edit; nothing was applied."


class ConfirmMode(str, enum.Enum):
    NEVER = "never"
    CLAUDE = "claude"  # only edits Claude wrote (they were paid for and left the machine)
    ALWAYS = "always"


@attrs.frozen
class Confirmation:
    """A change waits for the user's yes."""

    question: str  # "Apply 12 changed lines from qwen2.5-coder-7b?"
    label: str  # names model and tier: the editor's preview shows it
    lines: int  # changed lines


def confirmation_for(
    mode: str, outcome: RunOutcome, *, lines: int, file_name: str | None = None
) -> Confirmation | None:
    """The question to ask before `outcome` is applied, or None when the setting says apply.
    `file_name` for a new test file, named in the question."""
    tier = outcome.tier
    if tier is None or not _due(mode, (tier,)):
        return None
    model = outcome.model or tier.label
    if file_name is None:
        question = f"Apply {_lines(lines, 'changed ')} from {model}?"
    else:
        question = f"Add {_lines(lines)} to {file_name} from {model}?"
    return Confirmation(question, f"Ladder: {model} ({tier.label})", lines)


def job_confirmation(
    mode: str, tiers: Collection[Tier], *, lines: int, files: int
) -> Confirmation | None:
    """The same for a workspace job's one edit: `tiers` of the units that changed code."""
    if not tiers or not _due(mode, tiers):
        return None
    by = " + ".join(t.label for t in Tier if t in tiers)
    where = f"{files} {'file' if files == 1 else 'files'}"
    question = f"Apply {_lines(lines, 'changed ')} in {where} from the workspace job?"
    return Confirmation(question, f"Ladder: workspace job ({by})", lines)


def _due(mode: str, tiers: Collection[Tier]) -> bool:
    if mode == ConfirmMode.CLAUDE.value:
        return Tier.CLAUDE in tiers
    return mode == ConfirmMode.ALWAYS.value


def _lines(count: int, adjective: str = "") -> str:
    return f"{count} {adjective}{'line' if count == 1 else 'lines'}"


def changed_lines(edits: Sequence[LineEdit]) -> int:
    """Lines the user would review: per edit, the larger of the removed and the added run."""
    return sum(max(e.end_line - e.start_line, len(e.new_lines)) for e in edits)
