"""How a local server's failures read: HTTP statuses, error bodies and transport errors
become `BackendError`s with a kind the router acts on and a message that says what to do.

LM Studio, llama.cpp server, vLLM and Ollama word their errors differently, in a JSON body
(`{"error": "..."}`, `{"error": {"message": ...}}`) or as text, and inside a 200 stream too;
the same wording means the same failure either way. A rejected API key that a server echoes
back is never shown.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from ladder_lsp.backends.base import BackendError, FailureKind
from ladder_lsp.settings import LocalSettings

if TYPE_CHECKING:
    import httpx
else:
    from ladder_lsp.backends.lazy_http import httpx


def error_text(body: bytes) -> str:
    """The message inside an error body: `{"error": "..."}`, `{"error": {"message"}}` or text."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return body.decode("utf-8", "replace").strip()[:300]
    if isinstance(data, dict):
        err = data.get("error", data.get("message", data.get("detail")))
        if isinstance(err, dict):
            err = err.get("message") or err.get("type") or json.dumps(err)
        if err:
            return str(err)[:300]
    return json.dumps(data)[:300]


def classify_error(status: int | None, text: str) -> BackendError:
    """An error the server reported (HTTP status, or None: inside a 200 stream) as a failure
    the router can act on; LM Studio says the same things either way."""
    lowered = text.lower()
    if (
        "no models loaded" in lowered
        or "model not found" in lowered
        or (status == 404 and "model" in lowered)
    ):
        return BackendError(
            FailureKind.NO_MODEL,
            f"The local server has no usable model: {text}. Load a model in LM Studio or "
            "set ladder.local.model.",
        )
    if status in (401, 403):
        return BackendError(
            FailureKind.AUTH,
            f"The local server refused the request (HTTP {status}); check ladder.local.apiKey.",
        )
    if (
        status == 413
        or "context length" in lowered
        or "context window" in lowered
        or ("context size" in lowered)
    ):
        return BackendError(
            FailureKind.TOO_LARGE, f"The request is too large for the local model: {text}"
        )
    if status in (503, 529):
        return BackendError(FailureKind.OVERLOADED, f"The local server is busy: {text}")
    if status is None:
        return BackendError(FailureKind.HTTP, f"The local model failed mid-answer: {text}")
    return BackendError(FailureKind.HTTP, f"The local server answered HTTP {status}: {text}")


def status_error(settings: LocalSettings, status: int, body: bytes) -> BackendError:
    """An HTTP error answer, with the API key masked and a hint for a wrong base path."""
    text = error_text(body)
    if settings.api_key and len(settings.api_key) >= 4:
        # servers echo a rejected key ("Incorrect API key provided: sk-…"): never show it
        text = text.replace(settings.api_key, "***")
    error = classify_error(status, text)
    if error.kind is FailureKind.HTTP and status == 404:
        hint = " (check ladder.local.baseUrl; it usually ends in /v1)"
        return BackendError(error.kind, error.message + hint, error.detail)
    return error


def transport_error(
    settings: LocalSettings, exc: httpx.HTTPError | httpx.InvalidURL
) -> BackendError:
    """A failure below HTTP: a bad URL, a refused connection, silence, a dropped stream."""
    where = settings.base_url
    if isinstance(exc, httpx.InvalidURL | httpx.UnsupportedProtocol):
        return BackendError(
            FailureKind.NOT_CONFIGURED,
            f"ladder.local.baseUrl ({where!r}) is not a usable http(s) URL: {exc}",
            repr(exc),
        )
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
        return BackendError(
            FailureKind.UNREACHABLE,
            f"The local model server at {where} is not reachable — is LM Studio's server "
            "running (Developer tab → Start Server)?",
            repr(exc),
        )
    if isinstance(exc, httpx.TimeoutException):
        return BackendError(
            FailureKind.TIMEOUT,
            f"The local model sent nothing for {settings.timeout_seconds:g} s "
            "(ladder.local.timeoutSeconds).",
            repr(exc),
        )
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
        return BackendError(
            FailureKind.STREAM_CUT,
            "The connection to the local model server dropped mid-answer.",
            repr(exc),
        )
    return BackendError(FailureKind.HTTP, f"Local model request failed: {exc}", repr(exc))
