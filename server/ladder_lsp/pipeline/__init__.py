"""From a model's answer to a checked, minimal edit: take the code out, fit it into the
snapshot, judge it (`checks/`), keep only the changed lines, move them onto newer text."""
