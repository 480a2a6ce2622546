"""Streaming latencies measured against the fake's own clock (the same `time.monotonic()`).

- ``first_progress``: the fake stamps the moment it wrote the first content chunk of the
  answer; the client stamps the arrival of the first `$/progress` report that carries a token
  count (`local model · 1 tok`). The difference is how late the editor learns that tokens are
  flowing. The answer starts after 100 ms (time to first token) and then streams.
- ``cancel``: with an answer streaming (tokens already reported), the client cancels — through
  the progress UI (`window/workDoneProgress/cancel`) or by cancelling the request
  (`$/cancelRequest`) — and the fake stamps the moment it sees the connection close (its
  writers watch the socket for EOF). The difference is how long the model keeps generating
  for nobody.
"""

from __future__ import annotations

from typing import Any

from . import corpus
from .fakes import TimedFakeLMStudio, last_code_block, spread
from .lsp import LspClient, LspError
from .session import Bench, Run, action_at, range_json, run_action, send_action, session
from .stats import ms, summary_ms

URI = "file:///bench/streaming_module.py"
TITLE = "Refactor with local model"


async def _prepare(client: LspClient) -> dict[str, Any]:
    mod = corpus.module(300)
    client.open(URI, mod.text)
    f = mod.functions[3]
    return await action_at(client, URI, range_json((f.start + 3, 8), (f.start + 3, 8)), TITLE)


def _streamed_answer(first_byte: float, seconds: float) -> Any:
    def respond(body: Any) -> Any:
        code = last_code_block(body) or "pass\n"
        return spread(f"```python\n{code.replace('result', 'acc')}```", seconds, first_byte)

    return respond


async def first_progress(
    client: LspClient, fake: TimedFakeLMStudio, action: dict[str, Any], n: int
) -> dict[str, Any]:
    fake.responder = _streamed_answer(first_byte=0.1, seconds=0.1)
    delays: list[float] = []
    for _ in range(n):
        first = len(fake.streams)
        run: Run = await run_action(client, action)
        report = run.first_token_report()
        streams = [s for s in fake.streams[first:] if s.first_content_at is not None]
        if report is None or not streams:
            raise LspError("no token progress report (or no stream) for a run")
        first_content = streams[0].first_content_at
        assert first_content is not None
        delays.append(report.at - first_content)
    return summary_ms(delays)


async def _cancel_once(
    client: LspClient, fake: TimedFakeLMStudio, action: dict[str, Any], how: str
) -> float:
    mark = client.mark()
    disconnects = len(fake.disconnect_times)
    msg_id, future = send_action(client, action)
    create = await client.wait_message(mark, "window/workDoneProgress/create", timeout=30)
    token = create.params["token"]

    def streaming() -> bool:
        for m in client.since(mark, "$/progress"):
            value = (m.params or {}).get("value") or {}
            if value.get("kind") == "report" and " tok" in (value.get("message") or ""):
                return True
        return False

    await client.wait_for(streaming, 30, "tokens to flow")
    if how == "progress":
        cancelled_at = client.notify("window/workDoneProgress/cancel", {"token": token})
    else:
        cancelled_at = client.cancel(msg_id)
    await client.wait_for(
        lambda: len(fake.disconnect_times) > disconnects, 30, "the backend to see the disconnect"
    )
    gone_at = fake.disconnect_times[disconnects]
    reply = await client.wait_for(lambda: future.done() and future, 30, "the cancelled run to end")
    result = reply.result().result
    if how == "progress" and (result or {}).get("applied"):
        raise LspError(f"a cancelled run applied an edit: {result}")
    return gone_at - cancelled_at


async def cancel(
    client: LspClient, fake: TimedFakeLMStudio, action: dict[str, Any], n: int
) -> dict[str, Any]:
    fake.responder = _streamed_answer(first_byte=0.05, seconds=30.0)  # far longer than a run here
    out: dict[str, Any] = {}
    for how in ("progress", "request"):
        samples = [await _cancel_once(client, fake, action, how) for _ in range(n)]
        out[how] = summary_ms(samples)
    return out


async def run(bench: Bench) -> dict[str, Any]:
    n_first = 8 if bench.quick else 30
    n_cancel = 4 if bench.quick else 15
    with TimedFakeLMStudio() as fake:
        async with session(bench, bench.settings(fake.base_url), "streaming") as client:
            action = await _prepare(client)
            fake.responder = _streamed_answer(0.0, 0.0)
            await run_action(client, action)  # warm-up
            return {
                "first_progress": await first_progress(client, fake, action, n_first),
                "cancel": await cancel(client, fake, action, n_cancel),
                "time_to_first_token_ms": ms(0.1),
            }
