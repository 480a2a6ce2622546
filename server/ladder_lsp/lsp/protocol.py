"""Fixes to pygls' JSON-RPC handling that clients (and long sessions) depend on.

1. pygls 2.1 drops a request whose params fail to deserialize (it only logs), so the client
   waits forever; the spec wants an error response (-32602 Invalid params). We answer it.
2. `$/cancelRequest` on `workspace/executeCommand` answers -32800 but leaves our command
   coroutine running; we tell the server so it can cancel the run (and its HTTP stream).
3. pygls 2.1 files every notification it handles, and every async handler a built-in method
   hands over to (our commands), under a fresh id in `_request_futures` and never removes
   it: one finished future per keystroke (`didChange`) and per command, kept for the life
   of the process. We drop each entry when its future is done.
4. A command sent without `arguments` is called without checking them (an internal error
   when it needs some); we treat missing arguments as an empty list, so it is Invalid params.
5. Envelopes that are not JSON-RPC 2.0 requests (no or another `jsonrpc`, a `method` that is
   not a name) get no answer from pygls: the client waits forever. They get -32600 Invalid
   request. Notifications that fail to deserialize (no answer is possible) and bodies that
   are not objects are logged on one line instead of a traceback and an "Error in server"
   pop-up per message.
6. An answer from the client to a request the server stopped waiting for (cancelled) made
   pygls raise InvalidStateError and pop up "Error in server"; it is dropped quietly.
7. lsprotocol builds its (de)serializers for a message type on first use: ~6 ms for the first
   code action request and more for its answer, paid by the user's first cursor move.
   `warm_up` builds them while the server is idle after `initialized`.
8. pygls tells a message's kind with isinstance checks against runtime Protocols (10-30 µs
   each, up to three per message, on every keystroke and reply); `handle_message` tells it
   by the message's fields instead, as those Protocols define the kinds.
9. pygls reads a command handler's signature and type hints (`typing.get_type_hints`) on
   every `workspace/executeCommand`, ~40 µs; they are read once per handler.
"""

from __future__ import annotations

import contextvars
import functools
import json
import logging
import math
from collections.abc import Callable
from typing import Any

import attrs
from lsprotocol import types
from lsprotocol.types import ExecuteCommandParams, ResponseError
from pygls.exceptions import JsonRpcInternalError, JsonRpcInvalidParams, JsonRpcMethodNotFound
from pygls.protocol import LanguageServerProtocol
from pygls.protocol import language_server as pygls_language_server

log = logging.getLogger(__name__)


@attrs.define
class _Malformed:
    """Stands in for a request that could not be deserialized, so it still gets an answer."""

    id: Any
    method: str
    jsonrpc: str = "2.0"
    code: int = JsonRpcInvalidParams.CODE


@attrs.define
class _Ignored:
    """A notification that could not be deserialized: logged, never answered."""

    method: str
    jsonrpc: str = "2.0"


INVALID_REQUEST = -32600


def _valid_id(msg_id: Any) -> bool:
    """JSON-RPC ids are strings, numbers or null (not booleans, objects or lists)."""
    if isinstance(msg_id, float):
        return math.isfinite(msg_id)
    return msg_id is None or (isinstance(msg_id, (str, int)) and not isinstance(msg_id, bool))


class _QuietProtocolNoise(logging.Filter):
    """pygls logs a full traceback at ERROR for every message it cannot deserialize and for
    every request it answers with Invalid params: one line (ours) is enough for what is the
    client's mistake, already answered."""

    def filter(self, record: logging.LogRecord) -> bool:
        if str(record.msg).startswith("Unable to deserialize message"):
            return False
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, (JsonRpcInvalidParams, JsonRpcMethodNotFound)):
            detail = str(exc).replace("%", "%%")[:300]
            record.msg = f"answered request %s with: {detail}"
            record.exc_info, record.exc_text = None, None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


logging.getLogger("pygls.protocol.json_rpc").addFilter(_QuietProtocolNoise())


def _read_command_signatures_once() -> None:
    """Item 9: pygls' helper, cached per handler (a handler's signature never changes)."""
    name = "_get_handler_params_annotations"
    read = getattr(pygls_language_server, name, None)
    if read is not None and not hasattr(read, "cache_info"):
        setattr(pygls_language_server, name, functools.lru_cache(maxsize=128)(read))


_read_command_signatures_once()


class LadderProtocol(LanguageServerProtocol):
    on_cancel: Callable[[Any], None] | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._finished: list[tuple[Any, Any]] = []

    def warm_up(self) -> None:
        """Build the converters of the messages every keystroke and cursor move exchange."""
        where = {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}}
        doc = {"uri": "file:///warm-up.py", "version": 1}
        for method, params in (
            (
                types.TEXT_DOCUMENT_CODE_ACTION,
                {"textDocument": doc, "range": where, "context": {"diagnostics": []}},
            ),
            (
                types.TEXT_DOCUMENT_DID_CHANGE,
                {"textDocument": doc, "contentChanges": [{"range": where, "text": ""}]},
            ),
        ):
            super().structure_message(
                {"jsonrpc": "2.0", "id": 0, "method": method, "params": params}
            )
        action = types.CodeAction(
            "warm-up",
            kind=types.CodeActionKind.RefactorRewrite.value,
            command=types.Command("warm-up", "ladder.run", arguments=[{"range": where}]),
        )
        # the way pygls sends an answer (`_send_data`)
        json.dumps(types.CodeActionResponse(id=0, result=[action]), default=self._serialize_message)

    def structure_message(self, data: dict[str, Any]) -> Any:
        if isinstance(data, dict) and "jsonrpc" in data and "method" in data:
            # pygls fails on these with an internal error (or a TypeError on an unhashable id)
            bad_id = "id" in data and not _valid_id(data["id"])
            if not isinstance(data["method"], str) or bad_id:
                name = data["method"] if isinstance(data["method"], str) else repr(data["method"])
                if "id" in data:
                    return _Malformed(data["id"], name[:100], code=INVALID_REQUEST)
                return _Ignored(method=name[:100])
        try:
            message = super().structure_message(data)
        except (JsonRpcInvalidParams, JsonRpcInternalError) as exc:
            if not isinstance(data, dict) or "method" not in data:
                # pygls' object_hook also sees every dict nested in params: one that merely
                # looks like a message (an argument with "jsonrpc" and "id") is data, and
                # must not sink the request around it
                return data
            method = str(data["method"])[:100]
            if "id" in data:
                proper = isinstance(exc, JsonRpcInvalidParams) and isinstance(data["method"], str)
                code = JsonRpcInvalidParams.CODE if proper else INVALID_REQUEST
                return _Malformed(id=data["id"], method=method, code=code)
            log.warning("ignored a malformed %r notification", method)
            return _Ignored(method=method)
        params = getattr(message, "params", None)
        if isinstance(params, ExecuteCommandParams) and params.arguments is None:
            # pygls calls the command without checking its arguments when there are none
            # (a TypeError, answered as an internal error); an empty list gets the proper
            # "Expected N arguments" Invalid params answer instead
            params.arguments = []
        return message

    def handle_message(self, message: Any) -> None:
        if isinstance(message, _Ignored):
            return
        if isinstance(message, _Malformed):
            log.warning("invalid params for %s (id %r)", message.method, message.id)
            what = "params" if message.code == JsonRpcInvalidParams.CODE else "request"
            self._send_response(
                message.id,
                error=ResponseError(
                    code=message.code, message=f"Invalid {what} for {message.method}"
                ),
            )
            return
        if getattr(message, "jsonrpc", None) != "2.0":
            self._reject(message)
            return
        method = getattr(message, "method", None)
        if self._shutdown and method != types.EXIT:
            log.warning("shutting down: %s ignored", method or "a response")
            return
        # item 8: the kinds of pygls' RPCMessage, told by their fields; each handled in a
        # context of its own, as pygls does
        context = contextvars.copy_context()
        if method is not None and hasattr(message, "id"):
            context.run(self._handle_request, message.id, method, message.params)
        elif method is not None:
            context.run(self._handle_notification, method, getattr(message, "params", None))
        elif getattr(message, "error", None) is None:
            context.run(self._handle_response, message.id, getattr(message, "result", None))
        else:
            context.run(self._handle_response, message.id, None, message.error)

    def _reject(self, message: Any) -> None:
        """Not a JSON-RPC 2.0 message: answer it when it is shaped like a request."""
        fields = message if isinstance(message, dict) else getattr(message, "__dict__", {})
        if not fields and attrs.has(type(message)):
            fields = attrs.asdict(message, recurse=False)
        if isinstance(fields, dict) and "id" in fields and "method" in fields:
            self._send_response(
                fields["id"],
                error=ResponseError(
                    code=INVALID_REQUEST, message="Invalid request: not JSON-RPC 2.0"
                ),
            )
        log.warning("ignored a message that is not JSON-RPC 2.0 (%s)", type(message).__name__)

    def _execute_handler(
        self,
        msg_id: Any,
        handler: Any,
        callback: Any,
        args: Any = None,
        kwargs: Any = None,
    ) -> None:
        self._purge_finished()
        super()._execute_handler(msg_id, handler, callback, args, kwargs)
        future = self._request_futures.get(msg_id)
        if future is not None:
            future.add_done_callback(functools.partial(self._forget, msg_id))

    def _forget(self, msg_id: Any, future: Any) -> None:
        # Noted, not deleted: callbacks of a cancelled concurrent future run inside the
        # cancel() call, and pygls' shutdown cancels while iterating over the dict.
        self._finished.append((msg_id, future))

    def _purge_finished(self) -> None:
        finished, self._finished = self._finished, []
        for msg_id, future in finished:
            if self._request_futures.get(msg_id) is future:
                del self._request_futures[msg_id]

    def _handle_response(self, msg_id: Any, result: Any = None, error: Any = None) -> None:
        future = self._request_futures.get(msg_id)
        if future is not None and future.done():
            # We stopped waiting for this answer (a timeout, or an edit seen to land without
            # one); pygls would raise InvalidStateError and pop up "Error in server".
            del self._request_futures[msg_id]
            log.debug("late answer to %r ignored", msg_id)
            return
        super()._handle_response(msg_id, result, error)

    def _handle_cancel_notification(self, msg_id: Any) -> None:
        super()._handle_cancel_notification(msg_id)
        if self.on_cancel is not None:
            self.on_cancel(msg_id)
