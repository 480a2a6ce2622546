"""Figures the stress tests measure, collected per category and written to `results.json`
at the end of the session (merged with categories from earlier partial runs), for
`python -m tests.stress.report`."""

from __future__ import annotations

import datetime as dt
import json
import threading
from pathlib import Path
from typing import Any

RESULTS_PATH = Path(__file__).with_name("results.json")

# Figures every category reports; each must be 0 for a green report.
MUST_BE_ZERO = ("wrong_edits", "crashes", "internal_errors", "secret_leaks")


class Results:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.categories: dict[str, dict[str, Any]] = {}

    def _cat(self, category: str) -> dict[str, Any]:
        return self.categories.setdefault(category, {"cases": 0})

    def add(self, category: str, **counts: float) -> None:
        """Add to counters (created at 0)."""
        with self._lock:
            cat = self._cat(category)
            for key, value in counts.items():
                cat[key] = cat.get(key, 0) + value

    def set(self, category: str, **values: Any) -> None:
        with self._lock:
            self._cat(category).update(values)

    def maximum(self, category: str, **values: float) -> None:
        with self._lock:
            cat = self._cat(category)
            for key, value in values.items():
                cat[key] = max(cat.get(key, value), value)

    def get(self, category: str, key: str, default: Any = 0) -> Any:
        with self._lock:
            return self.categories.get(category, {}).get(key, default)

    def write(self, path: Path = RESULTS_PATH) -> None:
        with self._lock:
            if not self.categories:
                return
            now = dt.datetime.now().isoformat(timespec="seconds")
            try:
                old = json.loads(path.read_text())
                merged: dict[str, Any] = dict(old.get("categories", {}))
            except (OSError, ValueError):
                merged = {}
            for name, figures in self.categories.items():
                merged[name] = {**figures, "measured_at": now}
            path.write_text(
                json.dumps({"written_at": now, "categories": merged}, indent=2, sort_keys=True)
                + "\n"
            )


RESULTS = Results()
