"""`textDocument/codeAction` latency, client-side over stdio, by file size.

For each generated module (100, 1,000, 5,000, 20,000 lines), requests are sent one at a time,
like an editor moving the cursor, and timed from the request written to stdin to the reply
parsed from stdout. Three patterns:

- ``selection``: a 3-line selection inside a function, a different function each request;
- ``cursor``: an empty range inside a function (Ladder finds the enclosing definition), a
  different function each request, same document version;

Each size's requests visit the same number of functions (``VISITED``, spread from the top of
the file to its end), so every size meets the same cache state and the ratio between sizes
shows what grows with the file, not how many functions the file happens to hold: the 100-line
module has 8 functions, and cycling through 1,600 at 20,000 lines would measure a first look
at a new function (parsing that function, a cost of its size) against repeat visits.

- ``cursor_after_edit``: as ``cursor``, but each request follows a `didChange` (one line
  rewritten, same length) so every request sees a new document version; the time still runs
  from the codeAction request, which the server handles after the change (as editors send
  them: the change, then the code action request for the new cursor position).

The first request on a new document is reported separately (``first_ms``): it includes
lsprotocol's lazy converter set-up on a fresh server (cold), which the warm-up then absorbs.
"""

from __future__ import annotations

import contextlib
from typing import Any

from . import corpus
from .fakes import TimedFakeLMStudio
from .lsp import LspClient, LspError
from .session import MINIMAL_SERVER, Bench, find_action, range_json, session
from .stats import ms, summary_ms

SIZES = (100, 1_000, 5_000, 20_000)
TITLE = "Refactor with local model"
WARMUP = 20


VISITED = 8  # functions a size's requests visit (all of the 100-line module's)


def _visited(functions: tuple[corpus.Function, ...]) -> tuple[corpus.Function, ...]:
    """`VISITED` functions spread evenly from the first to the last."""
    if len(functions) <= VISITED:
        return functions
    last = len(functions) - 1
    return tuple(functions[i * last // (VISITED - 1)] for i in range(VISITED))


def _hop(functions: tuple[corpus.Function, ...], k: int) -> corpus.Function:
    """A different function for each request, jumping around the visited ones."""
    return functions[(k * 7919) % len(functions)]


def _check(reply_result: Any, what: str) -> None:
    if find_action(reply_result, TITLE) is None:
        titles = [a.get("title") for a in reply_result or []]
        raise LspError(f"{what}: no {TITLE!r} in {titles}")


async def _measure_size(client: LspClient, size: int, n: int) -> dict[str, Any]:
    mod = corpus.module(size)
    uri = f"file:///bench/listing_{size}.py"
    client.open(uri, mod.text)
    fns = _visited(mod.functions)
    first_fn = _hop(fns, 0)
    cursor = (first_fn.start + 3, 8)
    first = await client.code_actions(uri, range_json(cursor, cursor))
    _check(first.result, f"{size} lines, first request")
    for k in range(WARMUP):
        f = _hop(fns, k)
        await client.code_actions(uri, range_json((f.start + 3, 8), (f.start + 3, 8)))

    out: dict[str, Any] = {
        "lines": mod.line_count,
        "bytes": len(mod.text),
        "first_ms": ms(first.seconds),
    }

    samples: list[float] = []
    for k in range(n):
        f = _hop(fns, k)
        reply = await client.code_actions(uri, range_json((f.start + 2, 4), (f.start + 5, 10)))
        samples.append(reply.seconds)
        if k == 0:
            _check(reply.result, f"{size} lines, selection")
    out["selection"] = summary_ms(samples)

    samples = []
    for k in range(n):
        f = _hop(fns, k)
        pos = (f.start + 3 + k % 4, 8)
        reply = await client.code_actions(uri, range_json(pos, pos))
        samples.append(reply.seconds)
        if k == 0:
            _check(reply.result, f"{size} lines, cursor")
    out["cursor"] = summary_ms(samples)

    samples = []
    with_change: list[float] = []
    version = 1
    old = corpus.rev_line(0)
    for k in range(n):
        version += 1
        new = corpus.rev_line(version)
        line = corpus.REV_LINE
        changed_at = client.change(
            uri,
            version,
            [{"range": range_json((line, 0), (line, len(old))), "text": new}],
        )
        old = new
        f = _hop(fns, k)
        pos = (f.start + 3, 8)
        reply = await client.code_actions(uri, range_json(pos, pos))
        samples.append(reply.seconds)
        with_change.append(reply.received_at - changed_at)
        if k == 0:
            _check(reply.result, f"{size} lines, cursor after edit")
    out["cursor_after_edit"] = summary_ms(samples)
    out["cursor_after_edit"]["from_didChange_p50_ms"] = summary_ms(with_change)["p50_ms"]
    # the offered action carries the version: make sure the server saw every change
    reply = await client.code_actions(uri, range_json(cursor, cursor))
    action = find_action(reply.result, TITLE)
    seen = (action or {}).get("command", {}).get("arguments", [{}])[0].get("version")
    if seen != version:
        raise LspError(f"{size} lines: server at version {seen}, client at {version}")
    client.close(uri)
    return out


async def run(bench: Bench) -> dict[str, Any]:
    """Ladder at each size; without --quick, the minimal pygls server too (same client, same
    documents, sizes interleaved), as the floor under Ladder's numbers."""
    n = 200 if bench.quick else 500
    out: dict[str, Any] = {"requests_per_pattern": n, "sizes": {}}
    if not bench.quick:
        out["pygls_floor"] = {"sizes": {}}
    with TimedFakeLMStudio() as fake:
        settings = bench.settings(fake.base_url)
        async with contextlib.AsyncExitStack() as stack:
            client = await stack.enter_async_context(session(bench, settings, "code-action"))
            floor = None
            if not bench.quick:
                floor = await stack.enter_async_context(
                    session(bench, settings, "code-action-floor", command=MINIMAL_SERVER)
                )
            for size in SIZES:
                out["sizes"][str(size)] = await _measure_size(client, size, n)
                if floor is not None:
                    out["pygls_floor"]["sizes"][str(size)] = await _measure_size(floor, size, n)
            if fake.chat_requests():
                raise LspError("listing code actions called the model")
    return out
