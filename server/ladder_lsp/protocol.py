"""Two fixes to pygls' JSON-RPC handling that clients depend on.

1. pygls 2.1 drops a request whose params fail to deserialize (it only logs), so the client
   waits forever; the spec wants an error response (-32602 Invalid params). We answer it.
2. `$/cancelRequest` on `workspace/executeCommand` answers -32800 but leaves our command
   coroutine running; we tell the server so it can cancel the run (and its HTTP stream).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import attrs
from lsprotocol.types import ResponseError
from pygls.exceptions import JsonRpcInvalidParams
from pygls.protocol import LanguageServerProtocol

log = logging.getLogger(__name__)


@attrs.define
class _Malformed:
    """Stands in for a request that could not be deserialized, so it still gets an answer."""

    id: Any
    method: str
    jsonrpc: str = "2.0"


class LadderProtocol(LanguageServerProtocol):
    on_cancel: Callable[[Any], None] | None = None

    def structure_message(self, data: dict[str, Any]) -> Any:
        try:
            return super().structure_message(data)
        except JsonRpcInvalidParams:
            if isinstance(data, dict) and "id" in data and "method" in data:
                return _Malformed(id=data["id"], method=str(data["method"]))
            raise

    def handle_message(self, message: Any) -> None:
        if isinstance(message, _Malformed):
            log.warning("invalid params for %s (id %r)", message.method, message.id)
            self._send_response(
                message.id,
                error=ResponseError(
                    code=JsonRpcInvalidParams.CODE,
                    message=f"Invalid params for {message.method}",
                ),
            )
            return
        super().handle_message(message)

    def _handle_cancel_notification(self, msg_id: Any) -> None:
        super()._handle_cancel_notification(msg_id)
        if self.on_cancel is not None:
            self.on_cancel(msg_id)
