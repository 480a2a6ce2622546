"""Hostile LSP input, property-based: malformed and out-of-range params thrown at every
handler of ONE long-lived server (ranges past EOF, negative and huge positions, unknown URIs,
wrong types, unknown commands and methods, wrong `ladder.run` arguments, `selectModel` with
non-strings, broken JSON-RPC envelopes). Every request gets a JSON-RPC response (a result or
an error with a code and message), no handler crashes (-32603), and the server stays alive.

Scale with LADDER_FUZZ_EXAMPLES (examples per test; each example is a batch of messages).
The default profile is derandomized so CI is reproducible; LADDER_FUZZ_RANDOM=1 explores."""

from __future__ import annotations

import itertools
import math
import os
import random
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from tests.e2e.test_run_local import CART
from tests.fakes.lmstudio import FakeLMStudio, Reply
from tests.stress.client import LspServer, RpcError, range_dict
from tests.stress.conftest import running_server
from tests.stress.results import RESULTS

EXAMPLES = int(os.environ.get("LADDER_FUZZ_EXAMPLES", "75"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    # no shrinking: a batch is small enough to read, and a hang must not cost minutes
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    derandomize=not os.environ.get("LADDER_FUZZ_RANDOM"),
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
OPEN_URI = "file:///stress/fuzz/cart.py"
OTHER_URI = "file:///stress/fuzz/empty.py"
RESPONSE_TIMEOUT = 15.0
PROPER_CODES = {-32700, -32600, -32601, -32602, -32800, -32801, -32803, -32002}
_ids = itertools.count(1)
RANDOM = st.randoms(use_true_random=False)
CODES: Counter[str] = Counter()


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeLMStudio]:
    with FakeLMStudio(default=Reply("I would rather not.")) as fake:
        yield fake


@pytest.fixture(scope="module")
def server(fake: FakeLMStudio, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LspServer]:
    work = tmp_path_factory.mktemp("fuzz")
    options = {
        "local": {"baseUrl": fake.base_url, "embeddedModel": "off"},
        "ledger": {"path": str(work / "ledger.sqlite3")},
        "routing": {"escalateOnFailure": False},
    }
    with running_server("fuzz", work, options) as server:
        server.open(OPEN_URI, CART)
        server.open(OTHER_URI, "")
        yield server
        RESULTS.set("fuzz", error_codes=dict(CODES))


# -- strategies ----------------------------------------------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
numbers = st.one_of(
    st.integers(-3, 40),
    st.sampled_from([-1, -(2**31), 2**31 - 1, 2**31, 2**32, 2**53, 2**63, 10**30]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=4),
    st.none(),
    st.booleans(),
)
positions = st.one_of(
    st.fixed_dictionaries({"line": numbers, "character": numbers}),
    st.fixed_dictionaries({"line": st.integers(0, 30), "character": st.integers(0, 2**31 - 1)}),
    st.fixed_dictionaries({"line": numbers}),
    json_values,
)
ranges = st.one_of(
    st.fixed_dictionaries({"start": positions, "end": positions}),
    st.builds(
        range_dict,
        st.integers(0, 40),
        st.integers(0, 200),
        st.integers(0, 10**6),
        st.integers(0, 10**6),
    ),
    json_values,
)
uris = st.one_of(
    st.sampled_from(
        [
            OPEN_URI,
            OTHER_URI,
            "file:///stress/fuzz/unknown.py",
            "",
            "untitled:Untitled-1",
            "file://",
            "file:///%00.py",
            "file:///../../etc/passwd",
            "http://127.0.0.1:9/x.py",
            "file:///" + "a" * 5000 + ".py",
            "file:///stress/fuzz/secrets/.env",
        ]
    ),
    st.text(max_size=20),
    json_values,
)
diagnostics = st.one_of(
    st.lists(
        st.fixed_dictionaries(
            {"range": ranges, "message": st.one_of(st.text(max_size=30), json_values)},
            optional={"severity": numbers, "source": json_values, "code": json_values},
        ),
        max_size=3,
    ),
    json_values,
)
contexts = st.one_of(
    st.fixed_dictionaries(
        {"diagnostics": diagnostics},
        optional={
            "only": st.one_of(
                st.lists(st.sampled_from(["quickfix", "refactor", "source", "x", ""]), max_size=3),
                json_values,
            ),
            "triggerKind": numbers,
        },
    ),
    json_values,
)
code_action_params = st.one_of(
    st.fixed_dictionaries(
        {"textDocument": st.fixed_dictionaries({"uri": uris}), "range": ranges, "context": contexts}
    ),
    st.fixed_dictionaries(
        {},
        optional={"textDocument": json_values, "range": ranges, "context": contexts},
    ),
    json_values,
)
actions = st.one_of(
    st.sampled_from(["refactor", "docstring", "explain", "fix", "tests", "nope", "", "REFACTOR"]),
    json_values,
)
run_args = st.fixed_dictionaries(
    {"action": actions, "uri": uris, "range": ranges},
    optional={
        "version": numbers,
        "tier": st.one_of(st.sampled_from(["local", "claude", "auto", "", "LOCAL"]), json_values),
        "diagnostics": st.one_of(st.lists(st.text(max_size=20), max_size=3), json_values),
        "workers": json_values,
        "extra": json_values,
    },
)
commands = st.one_of(
    st.sampled_from(
        [
            "ladder.run",
            "ladder.status",
            "ladder.models",
            "ladder.selectModel",
            "ladder.usage",
            "ladder.debug.stats",
            "ladder.unknown",
            "",
            "LADDER.RUN",
        ]
    ),
    st.text(max_size=15),
    json_values,
)
arguments = st.one_of(
    st.none(),
    st.lists(json_values, max_size=3),
    st.lists(run_args, min_size=1, max_size=2),
    st.tuples(run_args, json_values).map(list),
    json_values,
)
select_model_args = st.one_of(
    st.lists(
        st.one_of(json_values, st.sampled_from(["", "qwen2.5-coder-7b-instruct"])), max_size=3
    ),
    json_values,
)


def harmless(method: str) -> bool:
    """Not the lifecycle methods that end a session (tested on their own elsewhere)."""
    return method not in ("shutdown", "exit")


def request(method: Any, params: Any = None, *, with_params: bool = True) -> dict[str, Any]:
    message: dict[str, Any] = {"jsonrpc": "2.0", "id": f"fz-{next(_ids)}", "method": method}
    if with_params:
        message["params"] = params
    return message


def notification(method: Any, params: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "method": method, "params": params}


code_action_requests = st.builds(
    lambda p: request("textDocument/codeAction", p), code_action_params
)
execute_requests = st.one_of(
    st.builds(
        lambda c, a: request("workspace/executeCommand", {"command": c, "arguments": a}),
        commands,
        arguments,
    ),
    st.builds(
        lambda a: request("workspace/executeCommand", {"command": "ladder.run", "arguments": a}),
        arguments,
    ),
    st.builds(
        lambda a: request(
            "workspace/executeCommand", {"command": "ladder.selectModel", "arguments": a}
        ),
        select_model_args,
    ),
    st.builds(lambda p: request("workspace/executeCommand", p), json_values),
)
document_notifications = st.one_of(
    st.builds(
        lambda u, v, t, lang: notification(
            "textDocument/didOpen",
            {"textDocument": {"uri": u, "languageId": lang, "version": v, "text": t}},
        ),
        uris.filter(lambda u: u not in (OPEN_URI, OTHER_URI)),
        numbers,
        st.one_of(st.text(max_size=200), json_values),
        st.one_of(st.sampled_from(["python", "go", "rust", "typescript", ""]), json_values),
    ),
    st.builds(
        lambda u, v, c: notification(
            "textDocument/didChange",
            {"textDocument": {"uri": u, "version": v}, "contentChanges": c},
        ),
        uris.filter(lambda u: u not in (OPEN_URI, OTHER_URI)),
        numbers,
        st.one_of(
            st.lists(
                st.fixed_dictionaries({"text": st.text(max_size=50)}, optional={"range": ranges}),
                max_size=2,
            ),
            json_values,
        ),
    ),
    st.builds(
        lambda u: notification("textDocument/didClose", {"textDocument": {"uri": u}}),
        uris.filter(lambda u: u not in (OPEN_URI, OTHER_URI)),
    ),
    st.builds(
        lambda s: notification("workspace/didChangeConfiguration", {"settings": s}), json_values
    ),
    st.builds(lambda p: notification("$/cancelRequest", p), json_values),
    st.builds(lambda p: notification("window/workDoneProgress/cancel", p), json_values),
    st.builds(lambda m, p: notification(m, p), st.text(max_size=20).filter(harmless), json_values),
)
other_requests = st.one_of(
    st.builds(
        lambda m, p: request(m, p),
        st.sampled_from(
            [
                "textDocument/hover",
                "textDocument/completion",
                "workspace/symbol",
                "codeAction/resolve",
                "$/unknown",
                "",
                "textDocument/codeAction ",
            ]
        ),
        json_values,
    ),
    st.builds(lambda m, p: request(m, p), st.text(max_size=25).filter(harmless), json_values),
    st.builds(lambda p: request("textDocument/codeAction", p, with_params=False), st.none()),
    st.builds(lambda m: request(m, None), json_values.filter(lambda m: not isinstance(m, str))),
)


def odd_id(shape: str) -> Any:
    """An id of a hostile shape, unique within the session (the client maps answers by id)."""
    n = next(_ids)
    return {
        "object": {"n": n},
        "list": [n],
        "fraction": n + 0.5,
        "negative": -(10**12) - n,
        "control-chars": f"\x00\u202e{n}",
        "huge": 10**30 + n,
    }[shape]


odd_ids = st.sampled_from(["object", "list", "fraction", "negative", "control-chars", "huge"]).map(
    odd_id
)
envelopes = st.one_of(
    st.builds(
        lambda i, m, p: {"jsonrpc": "2.0", "id": i, "method": m, "params": p},
        odd_ids,
        st.sampled_from(["textDocument/codeAction", "workspace/executeCommand", "nope"]),
        json_values,
    ),
    st.builds(
        lambda v, m, p: {"jsonrpc": v, "id": f"fz-{next(_ids)}", "method": m, "params": p},
        st.one_of(st.sampled_from(["1.0", "2", "", "3.0"]), st.integers(), st.none()),
        st.sampled_from(["textDocument/codeAction", "workspace/executeCommand"]),
        json_values,
    ),
    st.builds(
        lambda m, p: {"id": f"fz-{next(_ids)}", "method": m, "params": p},
        st.sampled_from(["textDocument/codeAction", "workspace/executeCommand", "shutdown"]),
        json_values,
    ),
    st.builds(
        lambda p: {
            "jsonrpc": "2.0",
            "id": f"fz-{next(_ids)}",
            "method": "workspace/executeCommand",
            "params": {
                "command": "ladder.run",
                "arguments": [{"jsonrpc": "2.0", "id": 7, "method": "shutdown", "params": p}],
            },
        },
        json_values,
    ),
)


# -- mutation: more hostile cases per generated message, cheaply --------------------------

MUTANTS = int(os.environ.get("LADDER_FUZZ_MUTANTS", "3"))
HOSTILE: list[Any] = [
    None,
    True,
    0,
    -1,
    -(2**31),
    2**31,
    2**63,
    10**30,
    0.5,
    float("nan"),
    float("inf"),
    "",
    "x" * 10_000,
    "\x00",
    "\u202e",
    "file:///etc/passwd",
    "../../outside.py",
    [],
    {},
    [[[[]]]],
    {"line": -1, "character": -1},
    {"start": {"line": 0, "character": 0}, "end": {"line": 10**9, "character": 0}},
]


def mutate(value: Any, rnd: random.Random) -> Any:
    """A copy of `value` with one spot (a key, an item, the value itself) made hostile."""
    if isinstance(value, dict) and value and rnd.random() < 0.85:
        copy = dict(value)
        key = rnd.choice(list(copy))
        roll = rnd.random()
        if roll < 0.15:
            del copy[key]
        elif roll < 0.25:
            copy[rnd.choice(["extra", "", "\x00"])] = rnd.choice(HOSTILE)
        else:
            copy[key] = mutate(copy[key], rnd)
        return copy
    if isinstance(value, list) and value and rnd.random() < 0.85:
        copy_list = list(value)
        i = rnd.randrange(len(copy_list))
        copy_list[i] = mutate(copy_list[i], rnd)
        return copy_list
    return rnd.choice(HOSTILE)


def mutants(message: dict[str, Any], rnd: random.Random) -> list[dict[str, Any]]:
    out = []
    for _ in range(MUTANTS):
        copy = dict(message)
        copy["params"] = mutate(message.get("params"), rnd)
        if "id" in copy:
            copy["id"] = f"fz-{next(_ids)}"
        out.append(copy)
    return out


# -- the exchange ---------------------------------------------------------------------------


def exchange(server: LspServer, generated: list[dict[str, Any]], rnd: random.Random) -> None:
    """Send a batch (each generated message and its mutants); every request must be answered
    properly; the server must live."""
    messages = [m for message in generated for m in (message, *mutants(message, rnd))]
    pending: list[tuple[dict[str, Any], Future[Any]]] = []
    for message in messages:
        if "id" in message and "method" in message:
            pending.append((message, server.raw_request_future(message)))
        else:
            server.send(message)
    crashes: list[str] = []
    for message, future in pending:
        try:
            server.wait(future, RESPONSE_TIMEOUT)
            CODES["result"] += 1
        except TimeoutError:
            crashes.append(f"no answer to {str(message)[:300]}")
        except RpcError as exc:
            code = exc.code
            CODES[str(code)] += 1
            assert isinstance(code, int) and isinstance(exc.error.get("message"), str), exc.error
            if code not in PROPER_CODES:
                crashes.append(f"{code} {exc.error.get('message')} for {str(message)[:300]}")
    # liveness and sanity: a well-formed request still gets its normal answer
    actions = server.code_actions(OPEN_URI, range_dict(7, 0, 12, 0))
    RESULTS.add("fuzz", cases=len(messages), internal_errors=len(crashes))
    assert crashes == [], crashes
    assert actions, "still serving"


@FUZZ
@given(st.lists(code_action_requests, min_size=4, max_size=10), RANDOM)
def test_code_action_params(
    server: LspServer, batch: list[dict[str, Any]], rnd: random.Random
) -> None:
    exchange(server, batch, rnd)


@FUZZ
@given(st.lists(execute_requests, min_size=4, max_size=10), RANDOM)
def test_execute_command_params(
    server: LspServer, batch: list[dict[str, Any]], rnd: random.Random
) -> None:
    exchange(server, batch, rnd)


@FUZZ
@given(
    st.lists(st.one_of(document_notifications, code_action_requests), min_size=4, max_size=12),
    RANDOM,
)
def test_document_notifications(
    server: LspServer, batch: list[dict[str, Any]], rnd: random.Random
) -> None:
    exchange(server, batch, rnd)


NESTED_MESSAGE = {
    "jsonrpc": "2.0",
    "id": "fz-nested",
    "method": "workspace/executeCommand",
    "params": {
        "command": "ladder.run",
        "arguments": [{"jsonrpc": "2.0", "id": 7, "params": [None, 3]}],
    },
}


@FUZZ
@given(st.lists(st.one_of(other_requests, envelopes), min_size=4, max_size=12), RANDOM)
@example(batch=[NESTED_MESSAGE], rnd=random.Random(0))
def test_unknown_methods_and_broken_envelopes(
    server: LspServer, batch: list[dict[str, Any]], rnd: random.Random
) -> None:
    exchange(server, batch, rnd)


@FUZZ
@given(
    st.lists(
        st.one_of(code_action_requests, execute_requests, document_notifications, other_requests),
        min_size=6,
        max_size=14,
    ),
    RANDOM,
)
def test_everything_interleaved(
    server: LspServer, batch: list[dict[str, Any]], rnd: random.Random
) -> None:
    exchange(server, batch, rnd)


def test_garbage_frames(server: LspServer) -> None:
    """Bodies that are not JSON-RPC objects at all: the server logs them and keeps serving."""
    frames = [
        b"{",
        b"[]",
        b"[1, 2, 3]",
        b"null",
        b"42",
        b'"text"',
        b"\xff\xfe\x00",
        b'{"jsonrpc": "2.0", "method": "initialized", "params": {}}',
        b'{"jsonrpc": "2.0", "id": 1e400, "method": "textDocument/hover"}',
        b'{"jsonrpc": "2.0", "id": NaN, "method": "textDocument/hover"}',
        b'{"jsonrpc": "2.0", "result": null, "id": "never-sent"}',
        b'{"jsonrpc": "2.0", "error": {"code": 1, "message": "x"}, "id": "never-sent"}',
        b"{" * 10_000 + b"}" * 10_000,
    ]
    for frame in frames:
        server.send_bytes(frame)
    RESULTS.add("fuzz", cases=len(frames))
    assert server.code_actions(OPEN_URI, range_dict(7, 0, 12, 0))
    assert server.alive()
    assert not math.isnan(float(server.stats()["rss"]))


@pytest.mark.parametrize("value", [42, None, 1.5, True, {"id": "x"}, ["qwen"]])
def test_select_model_refuses_non_strings(server: LspServer, value: Any) -> None:
    before = server.execute("ladder.status")["local"]["model"]
    with pytest.raises(RpcError) as refused:
        server.execute("ladder.selectModel", value)
    RESULTS.add("fuzz", cases=1)
    assert refused.value.code == -32602
    assert server.execute("ladder.status")["local"]["model"] == before


def test_server_survived_everything(server: LspServer) -> None:
    stats = server.stats()
    RESULTS.set("fuzz", rss_kb_after=server.rss_kb(), fds_after=server.fd_count())
    assert server.alive()
    assert stats["jobs"] == 0, stats
    assert Path(f"/proc/{server.pid}").exists()
