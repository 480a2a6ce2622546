"""The settings as others must see them: VS Code's JSON schema and the README's table.

Both are generated from the field metadata in `settings.py` (key, doc, default, enum,
minimum, scope), so they cannot drift from what the server parses. `ladder-lsp
settings-schema` prints them; client-vscode/scripts/sync-settings.mjs and the README test
read that output.
"""

from __future__ import annotations

import json
from typing import Any

import attrs

from ladder_lsp.settings import Settings, default_of, section_class


def settings_schema() -> dict[str, dict[str, Any]]:
    """`ladder.*` keys with type, default, description, enum and scope (VS Code's shape)."""
    out: dict[str, dict[str, Any]] = {}
    for section in attrs.fields(Settings):
        for field in attrs.fields(section_class(section)):
            meta = field.metadata
            default = default_of(field)
            entry: dict[str, Any] = {
                "type": _json_type(default),
                "default": list(default) if isinstance(default, tuple) else default,
                "description": meta["doc"],
                "scope": meta["scope"],
            }
            if meta["enum"]:
                entry["enum"] = list(meta["enum"])
            if meta["minimum"] is not None:
                entry["minimum"] = meta["minimum"]
            if isinstance(default, tuple) and section.name == "privacy":
                entry["items"] = {"type": "string"}
            if isinstance(default, tuple) and section.name == "actions":
                entry["items"] = {
                    "type": "object",
                    "required": ["id", "title", "prompt"],
                    "properties": {
                        "id": {"type": "string"},
                        "title": {"type": "string"},
                        "prompt": {"type": "string"},
                        "kind": {"type": "string"},
                    },
                }
            if section.name == "local" and field.name == "endpoints":
                entry["items"] = {
                    "type": "object",
                    "required": ["baseUrl"],
                    "properties": {
                        "baseUrl": {"type": "string"},
                        "model": {"type": "string"},
                        "apiKey": {"type": "string"},
                        "maxParallel": {"type": "integer", "minimum": 1},
                        "name": {"type": "string"},
                    },
                }
            out[f"ladder.{section.name}.{meta['key']}"] = entry
    return out


def _json_type(default: Any) -> str:
    if isinstance(default, bool):
        return "boolean"
    if isinstance(default, int):
        return "integer"
    if isinstance(default, float):
        return "number"
    if isinstance(default, str):
        return "string"
    return "array"


def settings_table() -> str:
    """The README's settings table (a test keeps README.md equal to this)."""
    rows = ["| key | default | meaning |", "| --- | --- | --- |"]
    for key, entry in settings_schema().items():
        default = json.dumps(entry["default"])
        rows.append(f"| `{key.removeprefix('ladder.')}` | `{default}` | {entry['description']} |")
    return "\n".join(rows)
