"""What must never leave the machine: files matching `privacy.localOnly`, and selections that
look like they hold secrets. Checked before any Claude request, whatever path led there."""

from __future__ import annotations

import fnmatch
import functools
import os
import re
import urllib.parse
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ladder_lsp.settings import Settings

_KEY_WORDS = r"api[_-]?key|secret|token|passw(or)?d"
# Each pattern with words one of which any match holds (in `_folded` text for the ignore-case
# ones): a `str.find` per word rules most code out before the regex runs, which tries every
# word boundary (the scan is on every run's path, before the request).
SECRET_PATTERNS: tuple[tuple[str, re.Pattern[str], tuple[str, ...]], ...] = (
    ("a private key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"), ("-----BEGIN ",)),
    ("an Anthropic API key", re.compile(r"sk-ant-[A-Za-z0-9_\-]{20,}"), ("sk-ant-",)),
    ("an OpenAI-style API key", re.compile(r"\bsk-[A-Za-z0-9_\-]{20,}"), ("sk-",)),
    ("an AWS access key", re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"), ("AKIA", "ASIA")),
    (
        "a GitHub token",
        re.compile(r"\b(ghp|gho|ghu|ghs|ghr|github_pat)_[A-Za-z0-9_]{30,}"),
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
    ),
    ("a Slack token", re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"), ("xox",)),
    ("a Google API key", re.compile(r"\bAIza[0-9A-Za-z_\-]{35}\b"), ("AIza",)),
    (
        # `password = "..."`, `"api_key": "..."` (JSON, dicts), `apiKey: '...'`
        "a hard-coded credential",
        re.compile(rf"(?i)\b({_KEY_WORDS})\b['\"]?\s*[:=]\s*['\"][^'\"\s]{{16,}}['\"]"),
        ("api", "secret", "token", "passw"),
    ),
    (
        # `DB_PASSWORD = "..."`, `client_secret=...`, `AWS_SECRET_ACCESS_KEY: "..."`: compound
        # names are common in ordinary code too, so the value must look generated (a digit,
        # not a URL).
        "a hard-coded credential",
        re.compile(
            rf"(?i)\b\w*({_KEY_WORDS}|access[_-]?key)\w*['\"]?\s*[:=]\s*"
            r"['\"](?![^'\"\s]*://)(?=[^'\"\s]*\d)[^'\"\s]{16,}['\"]"
        ),
        ("api", "secret", "token", "passw", "access"),
    ),
)
# beyond ASCII, (?i) also matches `ı` to i and `ſ` to s, which `str.lower` keeps
_FOLD = str.maketrans({"ı": "i", "ſ": "s"})


def _folded(text: str) -> str:
    lower = text.lower()
    return lower if text.isascii() else lower.translate(_FOLD)


def matches_local_only(path: str, globs: Iterable[str]) -> str | None:
    """The first glob that keeps this file local, or None.

    Paths may be absolute, relative or `file:` URIs. A glob that is not anchored with `/`
    matches from any folder down (`**/secrets/**` and `secrets/**` both match
    `secrets/db.py` and `/home/me/proj/secrets/db.py`). Matching ignores case, since many
    file systems do and a missed match would send a secret away.
    """
    return _matches_local_only(path, tuple(globs))


@functools.lru_cache(maxsize=256)  # asked on each listing and run, about the same few files
def _matches_local_only(path: str, globs: tuple[str, ...]) -> str | None:
    normalized = _plain_path(path).lower()
    parts = normalized.split("/")
    tails = ["/".join(parts[i:]) for i in range(len(parts)) if parts[i]]
    for glob in globs:
        pattern = glob.replace("\\", "/").lower()
        if fnmatch.fnmatchcase(normalized, pattern):
            return glob
        if pattern.startswith("/"):
            continue
        pattern = pattern.removeprefix("**/")
        if any(fnmatch.fnmatchcase(tail, pattern) for tail in tails):
            return glob
    return None


def _plain_path(path: str) -> str:
    if path.startswith("file:"):
        path = urllib.parse.unquote(urllib.parse.urlsplit(path).path)
    return path.replace("\\", "/")


def secret_kind(text: str) -> str | None:
    """What kind of secret the text seems to contain (never the secret itself)."""
    folded: str | None = None
    for label, pattern, hints in SECRET_PATTERNS:
        if pattern.flags & re.IGNORECASE:
            folded = _folded(text) if folded is None else folded
            hinted = any(hint in folded for hint in hints)
        else:
            hinted = any(hint in text for hint in hints)
        if hinted and pattern.search(text):
            return label
    return None


def local_only_reason(path: str, text: str, globs: Iterable[str]) -> str | None:
    """Why this code must stay on this machine, or None when it may go to Claude."""
    glob = matches_local_only(path, globs)
    if glob:
        return f"the file matches privacy.localOnly ({glob})"
    kind = secret_kind(text)
    if kind:
        return f"the selection seems to contain {kind}"
    return None


MIN_SECRET_CHARS = 8  # shorter "keys" (placeholders like "none") are not treated as secrets


def known_secrets(settings: Settings, *raw_layers: object) -> tuple[str, ...]:
    """The API keys a session knows — the parsed settings, the raw settings layers (a key
    whose layer failed to parse is still a key) and the environment: never shown, logged or
    written, and never let into the user's code by a model that echoes them."""
    keys = [
        settings.local.api_key,
        settings.claude.api_key,
        os.environ.get("ANTHROPIC_API_KEY", ""),
        *(endpoint.api_key for endpoint in settings.local.endpoints),
    ]
    for layer in raw_layers:
        for section in ("local", "claude"):
            value = layer.get(section) if isinstance(layer, dict) else None
            if not isinstance(value, dict):
                continue
            entries = value.get("endpoints") if section == "local" else None
            for entry in [value, *(entries if isinstance(entries, list) else [])]:
                key = entry.get("apiKey") if isinstance(entry, dict) else None
                if isinstance(key, str):
                    keys.append(key)
    return tuple(dict.fromkeys(k for k in keys if len(k) >= MIN_SECRET_CHARS))
