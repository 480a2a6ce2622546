"""The local pool end to end: an editor whose `local.baseUrl` is down still gets local
actions from another member, the status and the ledger say which server answered, bad
`local.endpoints` entries are named in a warning, and the fan-out runs on every member."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types

from tests.e2e.conftest import local_only_settings
from tests.e2e.editor import Editor
from tests.e2e.test_run_local import CART, REFACTORED_TOTAL, URI, refactor_total
from tests.fakes.lmstudio import FakeLMStudio, Reply
from tests.ledger_file import ledger_rows
from tests.ports import dead_url

pytestmark = pytest.mark.fresh_server("its own pool of local servers")

SECRET = "sk-lan-box-secret-0123"
TWO_FUNCTIONS = """\
def first(items):
    result = 0
    for i in items:
        result = result + i
    return result


def second(items):
    result = 1
    for i in items:
        result = result * i
    return result
"""


@pytest.fixture
def second_fake() -> Iterator[FakeLMStudio]:
    with FakeLMStudio() as fake:
        yield fake


@pytest.fixture
def init_options(
    request: pytest.FixtureRequest,
    fake_local: FakeLMStudio,
    second_fake: FakeLMStudio,
    tmp_path: Path,
) -> dict[str, Any]:
    settings = local_only_settings(fake_local, tmp_path)
    layout = request.node.get_closest_marker("pool")
    settings["local"].update(layout.args[0](fake_local, second_fake) if layout else {})
    return settings


@pytest.mark.pool(
    lambda fake, _: {
        "baseUrl": dead_url(),
        "endpoints": [{"baseUrl": fake.base_url, "name": "lan-box", "apiKey": SECRET}],
    }
)
async def test_the_base_url_down_and_another_member_up_keeps_the_work_local(
    lsp: Editor, fake_local: FakeLMStudio, tmp_path: Path
) -> None:
    fake_local.push(Reply(f"```python\n{REFACTORED_TOTAL}```"))
    lsp.open(URI, CART)
    result = await refactor_total(lsp, URI)  # the title says "with local model"
    assert result["applied"] is True and result["tier"] == "local", result
    assert "t += item.price * item.qty" in lsp.docs[URI].text
    status = await lsp.command("ladder.status")
    members = {m["name"]: m for m in status["local"]["members"]}
    assert members["lan-box"]["up"] is True and members["lan-box"]["served"] == 1
    dead = next(m for name, m in members.items() if name != "lan-box")
    assert dead["up"] is False
    assert [row["endpoint"] for row in ledger_rows(tmp_path / "ledger.sqlite3")] == ["lan-box"]
    shown = repr(status) + " ".join(lsp.messages()) + repr(lsp.client.log_messages)
    assert SECRET not in shown


@pytest.mark.pool(
    lambda fake, _: {
        "endpoints": [
            "http://a-string-not-an-object:1234/v1",
            {"baseUrl": "file:///etc/passwd", "name": "odd"},
            {"baseUrl": fake.base_url},  # the baseUrl again
            {"baseUrl": "http://127.0.0.1:9/v1", "maxParallel": 0, "apiKey": SECRET},
        ]
    }
)
async def test_bad_endpoint_entries_are_named_and_the_rest_works(
    lsp: Editor, fake_local: FakeLMStudio
) -> None:
    await lsp.client.wait_for_notification("ladder/status")
    warning = next(m for m in lsp.messages() if "Ladder settings" in m)
    for named in (
        "local.endpoints[0] must be an object",
        "local.endpoints[1] ('odd') has baseUrl 'file:///etc/passwd', which is not an http(s)",
        "local.endpoints[2] repeats the baseUrl",
        "local.endpoints[3] has maxParallel below 1",
    ):
        assert named in warning, warning
    assert SECRET not in warning
    fake_local.push(Reply(f"```python\n{REFACTORED_TOTAL}```"))
    lsp.open(URI, CART)
    assert (await refactor_total(lsp, URI))["applied"] is True
    assert len((await lsp.command("ladder.status"))["local"]["members"]) == 1


@pytest.mark.pool(
    lambda _, second: {"maxParallel": 1, "endpoints": [{"baseUrl": second.base_url, "name": "b"}]}
)
async def test_the_fan_out_runs_on_every_member(
    lsp: Editor, fake_local: FakeLMStudio, second_fake: FakeLMStudio
) -> None:
    def renamed(body: Any) -> Reply:
        code = body["messages"][-1]["content"].split("```python\n")[-1].split("```")[0]
        return Reply(f"```python\n{code.replace('result', 'total')}```", first_byte_delay=0.2)

    fake_local.script.responder = renamed
    second_fake.script.responder = renamed
    uri = "file:///work/project/two.py"
    lsp.open(uri, TWO_FUNCTIONS)
    cursor = types.Position(1, 4)
    actions = await lsp.actions(uri, types.Range(cursor, cursor))
    fan_out = next(a for a in actions if a.title == "Refactor file with local workers")
    result = await lsp.execute(fan_out)
    assert result["applied"] is True, result
    assert lsp.docs[uri].text == TWO_FUNCTIONS.replace("result", "total")
    assert (len(fake_local.chat_requests()), len(second_fake.chat_requests())) == (1, 1)
