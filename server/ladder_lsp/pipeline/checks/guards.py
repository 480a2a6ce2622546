"""Per-action guards: what each action must never do, as small pure checks.

Each guard takes a `context.CheckContext` and returns None (pass) or a short reason a user can
read ("removed parameter `self` from `total`", "changed code while adding a docstring:
line 2"). `GUARDS` says which action each one belongs to; `runner` registers them and is
the one place that runs them (with the common checks every edit action gets). Guards import
the context, never the runner, so there is no import cycle.

- `edit`: nothing outside the target changes, no new pyflakes findings (undefined names…),
  the surface kept unless the instruction asks to change it (`edit`).
- `docstring`: only docstrings/comments change, and one is added or improved.
- `refactor`: same public surface, nothing outside the target changes, no new code that
  runs on import, no new pyflakes findings.
- `fix`: the diagnostic is gone when Ladder can re-check it, the surface is kept (except
  what the diagnostic names), no new findings.
- `tests`: imports the code under test, adds a test that uses the target; running the tests
  is opt-in (`checks.runTests`, see `tests.run_pytest`).
- `custom` (user-defined actions): docstring guards for documentation prompts, refactor
  guards otherwise (minus the surface when the prompt asks to change it).
"""

from __future__ import annotations

from ladder_lsp.pipeline.checks import docstring, edit, fix, refactor, tests
from ladder_lsp.pipeline.checks.context import Check

CUSTOM = "custom"  # the registry key for user-defined actions

GUARDS: tuple[tuple[str, Check], ...] = (
    ("docstring", docstring.check_docstring_code_unchanged),
    ("docstring", docstring.check_docstring_added),
    ("refactor", refactor.check_outside_unchanged),
    ("refactor", refactor.check_surface),
    ("refactor", refactor.check_no_import_time_code),
    ("refactor", refactor.check_no_new_findings),
    ("edit", refactor.check_outside_unchanged),
    ("edit", edit.check_edit_surface),
    ("edit", refactor.check_no_new_findings),
    ("fix", refactor.check_outside_unchanged),
    ("fix", fix.check_fix_resolved),
    ("fix", fix.check_fix_surface),
    ("fix", refactor.check_no_new_findings),
    ("tests", tests.check_tests_shape),
    (CUSTOM, docstring.check_custom_comment_only),
    (CUSTOM, refactor.check_custom_code_change),
)

__all__ = ["CUSTOM", "GUARDS"]
