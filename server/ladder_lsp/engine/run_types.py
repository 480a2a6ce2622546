"""What one run of an action takes and gives: its input, its outcome, each model call.

Plain frozen values shared by the Engine, the fan-out of workers, the delivery path and both
faces of Ladder (the LSP server and the CLI), so none of them needs another's internals.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Literal

import attrs

from ladder_lsp.backends.base import Tier, Usage
from ladder_lsp.engine.actions import ActionSpec
from ladder_lsp.pipeline.edits import LineEdit
from ladder_lsp.pipeline.target import Target

Status = Literal["edit", "no-change", "rejected", "failed", "cancelled", "explained"]
Report = Callable[[str], None]  # progress lines for the user


@attrs.frozen
class NewFileEdit:
    """Text for the one test file the `tests` action may touch (path chosen by Ladder)."""

    path: Path
    exists: bool
    insert_text: str
    insert_line: int  # the line to insert at (end of an existing file)


@attrs.frozen
class RunInput:
    spec: ActionSpec
    target: Target
    language: str
    path: str  # filesystem path (or the URI for unsaved documents)
    diagnostics: tuple[str, ...] = ()
    tier: Tier | None = None  # an explicit choice ("… with Claude")
    instruction: str = ""  # what the user asked for, in their words (`edit`; optional else)
    read_file: Callable[[Path], str | None] = lambda _p: None


@attrs.frozen
class Attempt:
    """One model call of a run, for the ledger (cost, savings)."""

    tier: Tier
    model: str
    usage: Usage
    endpoint: str = ""  # the local pool's server that answered
    spend_key: str = ""  # a Claude call's hold in the ledger until its run is recorded


@attrs.frozen
class RunOutcome:
    status: Status
    message: str  # one line for the user
    tier: Tier | None = None
    model: str = ""
    edits: tuple[LineEdit, ...] = ()
    new_file: NewFileEdit | None = None
    markdown: str = ""
    steps: tuple[str, ...] = ()  # what happened, for the log and the ledger
    attempts: tuple[Attempt, ...] = ()
