"""Settings that are lists of objects, checked entry by entry: `actions.custom` (the user's
own prompts) and `local.endpoints` (more local servers for the local tier's pool).

A bad entry never spoils the others: it is skipped with a message naming it (each parser
returns the valid entries and `(path, message)` pairs that `settings.py` turns into problems).
The pool is `local.baseUrl` (with `local.model`, `local.apiKey`, `local.maxParallel`) followed
by the endpoints: an endpoint that is not an object, has a URL that is not http(s), repeats
a URL or has a `maxParallel` below 1 is skipped; the rest of the pool works.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any
from urllib.parse import urlsplit

import attrs

ENDPOINT_KEYS = ("baseUrl", "model", "apiKey", "maxParallel", "name")
Skipped = list[tuple[str, str]]  # (the entry's settings path, what is wrong with it)


@attrs.frozen
class CustomAction:
    id: str
    title: str
    prompt: str
    kind: str = "refactor.rewrite"


def parse_custom(
    value: list[Any] | tuple[Any, ...], reserved: Collection[str]
) -> tuple[tuple[CustomAction, ...], Skipped]:
    """The valid entries of `actions.custom`; ids must be unique and not a built-in's."""
    taken = set(reserved)
    out: list[CustomAction] = []
    problems: Skipped = []
    for i, item in enumerate(value):
        path = f"actions.custom[{i}]"
        if not isinstance(item, Mapping):
            problems.append((path, "must be an object with id, title, prompt"))
            continue
        fields = {
            k: v
            for k in ("id", "title", "prompt")
            if isinstance(v := item.get(k), str) and v.strip()
        }
        missing = [k for k in ("id", "title", "prompt") if k not in fields]
        if missing:
            problems.append((path, f"needs non-empty string(s): {', '.join(missing)}; ignored"))
            continue
        if fields["id"] in taken:
            problems.append(
                (path, f"id {fields['id']!r} is already taken by another action; ignored")
            )
            continue
        taken.add(fields["id"])
        kind = item.get("kind", "refactor.rewrite")
        if not isinstance(kind, str) or not kind:
            problems.append((f"{path}.kind", "must be a string; using refactor.rewrite"))
            kind = "refactor.rewrite"
        out.append(CustomAction(**fields, kind=kind))
    return tuple(out), problems


@attrs.frozen
class Endpoint:
    """One extra local server. `model` empty: it serves `local.model` (or what it loaded)."""

    base_url: str
    model: str = ""
    api_key: str = attrs.field(default="", repr=False)
    max_parallel: int = 1
    name: str = ""


def endpoint_name(base_url: str) -> str:
    """A member's short name when the user gave none: host:port of its URL."""
    parts = urlsplit(base_url)
    return parts.netloc or base_url


def same_url(a: str, b: str) -> bool:
    return a.rstrip("/").lower() == b.rstrip("/").lower()


def parse_endpoints(value: Any, primary_url: str) -> tuple[tuple[Endpoint, ...], Skipped]:
    """The valid entries of `local.endpoints` (a path names the entry and its name, e.g.
    `local.endpoints[1] ("gpu-box")`)."""
    out: list[Endpoint] = []
    problems: Skipped = []
    seen = [primary_url]
    for i, item in enumerate(value):
        where = f"local.endpoints[{i}]"
        if not isinstance(item, Mapping):
            problems.append((where, "must be an object with a baseUrl; skipped"))
            continue
        name = item.get("name")
        if isinstance(name, str) and name.strip():
            where += f" ({name.strip()!r})"
        problem = _entry_problem(item, seen)
        if problem:
            problems.append((where, f"{problem}; skipped"))
            continue
        unknown = sorted(str(k) for k in item if k not in ENDPOINT_KEYS)
        if unknown:
            problems.append((where, f"has unknown key(s) {', '.join(unknown)}; ignored"))
        base_url = str(item["baseUrl"]).strip()
        seen.append(base_url)
        out.append(
            Endpoint(
                base_url=base_url,
                model=str(item.get("model") or ""),
                api_key=str(item.get("apiKey") or ""),
                max_parallel=int(item.get("maxParallel", 1)),
                name=name.strip() if isinstance(name, str) and name.strip() else "",
            )
        )
    return tuple(out), problems


def _entry_problem(item: Mapping[str, Any], seen: list[str]) -> str:
    base_url = item.get("baseUrl")
    if not isinstance(base_url, str) or not base_url.strip():
        return "needs a baseUrl"
    parts = urlsplit(base_url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return f"has baseUrl {base_url!r}, which is not an http(s) URL"
    if any(same_url(base_url.strip(), other) for other in seen):
        return f"repeats the baseUrl {base_url.strip()!r}"
    for key in ("model", "apiKey", "name"):
        if key in item and item[key] is not None and not isinstance(item[key], str):
            return f"has a {key} that is not a string"
    parallel = item.get("maxParallel", 1)
    if not isinstance(parallel, int) or isinstance(parallel, bool) or parallel < 1:
        return "has maxParallel below 1 (or not a whole number)"
    return ""
