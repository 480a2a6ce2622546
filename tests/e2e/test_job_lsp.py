"""`ladder.job` in an editor: a session whose workspace folder is a temporary project of three
files, the fake LM Studio documenting whatever function it is sent."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.e2e.conftest import Servers, local_only_settings
from tests.e2e.editor import Editor
from tests.e2e.job_workspace import FILES, PLAN, docstring_reply, expected, function_of
from tests.e2e.job_workspace import make_workspace as write_workspace
from tests.fakes.lmstudio import FakeLMStudio, Reply


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("job-workspace")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def job_client(
    servers: Servers,
    shared_fake_local: FakeLMStudio,
    root: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[LanguageClient]:
    options = local_only_settings(shared_fake_local, tmp_path_factory.mktemp("ledger"))
    folder = types.WorkspaceFolder(uri=root.as_uri(), name=root.name)
    client = await servers.start(options, root_uri=folder.uri, folders=[folder])
    yield client
    await servers.end(client)


@pytest_asyncio.fixture(loop_scope="session")
async def editor(
    job_client: LanguageClient, root: Path, fake_local: FakeLMStudio
) -> AsyncIterator[Editor]:
    write_workspace(root)
    found: Editor = job_client.editor  # type: ignore[attr-defined]
    yield found
    await found.forget()


def open_all(editor: Editor, root: Path) -> dict[str, str]:
    uris = {rel: (root / rel).as_uri() for rel in FILES}
    for rel, uri in uris.items():
        editor.open(uri, FILES[rel])
    return uris


async def test_the_job_action_is_offered_at_the_cursor(editor: Editor, root: Path) -> None:
    uri = open_all(editor, root)["shop/tax.py"]
    cursor = types.Position(1, 4)
    actions = await editor.actions(uri, types.Range(cursor, cursor))
    job = next(a for a in actions if a.title == "Run a workspace job…")
    assert job.kind == types.CodeActionKind.Source
    assert job.command is not None and job.command.command == "ladder.job"
    only = await editor.actions(uri, types.Range(cursor, cursor), only=["refactor"])
    assert all(a.title != "Run a workspace job…" for a in only)


async def test_a_plan_over_three_files_is_one_workspace_edit(
    editor: Editor, root: Path, fake_local: FakeLMStudio
) -> None:
    fake_local.responder = docstring_reply
    fake_local.answer_after(editor.progress_begun)  # the progress is read below
    uris = open_all(editor, root)
    versions = {uri: editor.docs[uri].version for uri in uris.values()}
    result = await editor.command("ladder.job", {"plan": PLAN})
    assert result["applied"] is True, (result, editor.messages())
    assert len(editor.applied) == 1, "one WorkspaceEdit for the whole job"
    edit = editor.applied[0].edit
    changes = edit.document_changes or []
    assert sorted(c.text_document.uri for c in changes) == sorted(uris.values())  # type: ignore[union-attr]
    assert {c.text_document.uri: c.text_document.version for c in changes} == versions  # type: ignore[union-attr]
    labels = {a.label for a in (edit.change_annotations or {}).values()}
    assert "Cart.total · docstring · local" in labels and len(labels) == 6
    for rel, uri in uris.items():
        assert editor.docs[uri].text == expected(rel)
    assert any(m.startswith("6/6 units · 0 running") for m in editor.progress_messages()), (
        editor.progress_messages()
    )
    assert [u["status"] for u in result["units"]] == ["applied"] * 6
    assert any(uri.endswith(".md") for uri in editor.shown), "the report is shown"


async def test_a_dry_run_answers_the_plan_and_runs_nothing(
    editor: Editor, root: Path, fake_local: FakeLMStudio
) -> None:
    result = await editor.command(
        "ladder.job",
        {"instruction": "add docstrings to every public function without one", "dryRun": True},
    )
    assert result["dryRun"] is True
    symbols = sorted(u["symbol"] for u in result["plan"]["units"])
    assert symbols == ["Cart.count", "Cart.total", "clamp", "net", "slug", "tax"]
    assert fake_local.chat_requests() == [] and editor.applied == []


async def test_an_invalid_plan_is_refused_with_the_unit_named(
    editor: Editor, root: Path, fake_local: FakeLMStudio
) -> None:
    bad = {"goal": "g", "units": [{"id": "x", "path": "shop/tax.py", "symbol": "nope",
                                   "action": "docstring"}]}  # fmt: skip
    result = await editor.command("ladder.job", {"plan": bad})
    assert result["applied"] is False
    assert "unit 'x': no symbol 'nope' in shop/tax.py" in result["reason"]
    assert any("unit 'x'" in m for m in editor.messages())
    assert fake_local.chat_requests() == [] and editor.applied == []


async def test_a_failing_unit_is_listed_and_the_rest_applied(
    editor: Editor, root: Path, fake_local: FakeLMStudio
) -> None:
    def answer(request: dict[str, Any]) -> Reply:
        if function_of(request) == "clamp":
            return Reply("I would rather not.")
        return docstring_reply(request)

    fake_local.responder = answer
    uris = open_all(editor, root)
    result = await editor.command("ladder.job", {"plan": PLAN})
    assert result["summary"]["failed"] == ["clamp"]
    assert editor.docs[uris["shop/util.py"]].text == expected("shop/util.py", frozenset({"clamp"}))
    assert editor.docs[uris["shop/tax.py"]].text == expected("shop/tax.py")


async def test_cancel_mid_job_applies_nothing(
    editor: Editor, root: Path, fake_local: FakeLMStudio
) -> None:
    def answer(request: dict[str, Any]) -> Reply:
        if function_of(request) == "slug":
            return Reply("```python\npass\n```", first_byte_delay=30)
        return docstring_reply(request)

    fake_local.responder = answer
    uris = open_all(editor, root)
    run = asyncio.ensure_future(editor.command("ladder.job", {"plan": PLAN}))

    def all_asked() -> bool:
        return len(fake_local.chat_requests()) >= 6

    assert await asyncio.to_thread(fake_local.wait_until, all_asked, 10)
    await asyncio.sleep(0.2)
    token = await editor.progress_token()
    editor.client.window_work_done_progress_cancel(types.WorkDoneProgressCancelParams(token=token))
    result = await asyncio.wait_for(run, 10)
    assert result["reason"] == "cancelled"
    assert editor.applied == []
    assert all(editor.docs[uri].text == FILES[rel] for rel, uri in uris.items())
    # the five finished units are in the journal: resuming asks the model for the sixth only
    fake_local.responder = docstring_reply
    asked = len(fake_local.chat_requests())
    resumed = await editor.command("ladder.job", {"resume": result["job"]})
    assert [function_of(r) for r in fake_local.chat_requests()[asked:]] == ["slug"]
    assert resumed["applied"] is True and resumed["summary"]["failed"] == []
    assert all(editor.docs[uri].text == expected(rel) for rel, uri in uris.items())


@pytest_asyncio.fixture(loop_scope="session")
async def confirming(
    servers: Servers, fake_local: FakeLMStudio, root: Path, tmp_path: Path, request: Any
) -> AsyncIterator[Editor]:
    """A session of its own with `edits.confirm: always`; `request.param`: whether the client
    has its own refactor preview (change annotations)."""
    write_workspace(root)
    options = local_only_settings(fake_local, tmp_path)
    options["edits"] = {"confirm": "always"}
    folder = types.WorkspaceFolder(uri=root.as_uri(), name=root.name)
    client = await servers.start(
        options, change_annotations=request.param, root_uri=folder.uri, folders=[folder]
    )
    found: Editor = client.editor  # type: ignore[attr-defined]
    yield found
    await servers.end(client)


@pytest.mark.parametrize("confirming", [True], indirect=True, ids=["preview"])
async def test_a_confirmed_job_marks_every_change_as_needing_confirmation(
    confirming: Editor, root: Path, fake_local: FakeLMStudio
) -> None:
    fake_local.responder = docstring_reply
    open_all(confirming, root)
    result = await confirming.command("ladder.job", {"plan": PLAN})
    assert result["applied"] is True, result
    assert confirming.questions == []
    [sent] = confirming.applied
    annotations = (sent.edit.change_annotations or {}).values()
    assert len(annotations) == 6 and all(a.needs_confirmation for a in annotations)
    assert {a.description for a in annotations} == {
        "Apply 6 changed lines in 3 files from the workspace job?"
    }


@pytest.mark.parametrize("confirming", [False], indirect=True, ids=["no-preview"])
@pytest.mark.parametrize("answer", ["Apply", "Discard"])
async def test_a_job_asks_once_before_its_one_edit(
    confirming: Editor, root: Path, fake_local: FakeLMStudio, answer: str
) -> None:
    fake_local.responder = docstring_reply
    uris = open_all(confirming, root)
    confirming.answers = ["Show diff", answer]
    result = await confirming.command("ladder.job", {"plan": PLAN})
    first, again = confirming.questions
    assert (
        first.message
        == again.message
        == ("Ladder: Apply 6 changed lines in 3 files from the workspace job?")
    )
    diff = Path(next(u for u in confirming.shown if u.endswith(".diff")).removeprefix("file://"))
    assert {"shop/tax.py", "shop/util.py"} <= {
        line.removeprefix("+++ b/") for line in diff.read_text().splitlines()
    }
    applied = answer == "Apply"
    assert result["applied"] is applied, result
    assert len(confirming.applied) == (1 if applied else 0)
    for rel, uri in uris.items():
        assert confirming.docs[uri].text == (expected(rel) if applied else FILES[rel])
    statuses = {u["status"] for u in result["units"]}
    assert statuses == ({"applied"} if applied else {"refused"}), result["units"]
