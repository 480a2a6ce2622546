"""Edit with an instruction (`edit`, and `instruction` on the other editing actions) over
pytest-lsp: offered as "Edit with local model…", refused without an instruction before any
model is asked, the instruction in the prompt, and the edit guards (surface kept unless the
instruction asks to change it)."""

from __future__ import annotations

from typing import Any

from lsprotocol import types

from tests.e2e.editor import Editor
from tests.e2e.test_run_local import CART, REFACTORED_TOTAL, TOTAL_RANGE, URI, by_title
from tests.fakes.lmstudio import FakeLMStudio, Reply

SUM_TOTAL = "    def total(self, items):\n        return sum(i.price * i.qty for i in items)\n"


async def run_with(lsp: Editor, title: str, instruction: str | None) -> Any:
    """Choose `title` from the menu and run it with `instruction` (what a client's input box
    adds to the listed command's arguments)."""
    lsp.open(URI, CART)
    action = by_title(await lsp.actions(URI, TOTAL_RANGE), title)
    assert action.command is not None and action.command.arguments
    args = dict(action.command.arguments[0])
    if instruction is not None:
        args["instruction"] = instruction
    return await lsp.command("ladder.run", args)


def user_prompt(fake: FakeLMStudio) -> str:
    (sent,) = fake.chat_requests()
    return str(sent["messages"][1]["content"])


async def test_edit_is_offered_as_a_rewrite_that_asks_for_input(lsp: Editor) -> None:
    lsp.open(URI, CART)
    actions = await lsp.actions(URI, TOTAL_RANGE)
    edit = by_title(actions, "Edit with local model…")
    assert edit.kind == types.CodeActionKind.RefactorRewrite
    assert edit.command is not None and edit.command.arguments
    assert edit.command.arguments[0]["action"] == "edit"
    only = await lsp.actions(URI, TOTAL_RANGE, only=["quickfix"])
    assert not any(a.title.startswith("Edit") for a in only)


async def test_edit_without_an_instruction_sends_nothing_and_says_why(
    lsp: Editor, fake_local: FakeLMStudio
) -> None:
    for missing in (None, "   "):
        result = await run_with(lsp, "Edit with local model…", missing)
        assert result["applied"] is False
        assert "needs an instruction" in result["reason"]
    assert fake_local.chat_requests() == [], "nothing was sent to a model"
    assert lsp.docs[URI].text == CART
    assert any("needs an instruction" in m for m in lsp.messages())


async def test_edit_with_an_instruction_puts_it_in_the_prompt_and_applies(
    lsp: Editor, fake_local: FakeLMStudio
) -> None:
    fake_local.push(Reply(f"```python\n{SUM_TOTAL}```"))
    result = await run_with(lsp, "Edit with local model…", "use sum() instead of the loop")
    assert result["applied"] is True, result
    assert "Instruction from the user: use sum() instead of the loop" in user_prompt(fake_local)
    assert "return sum(i.price * i.qty for i in items)" in lsp.docs[URI].text
    assert "class Cart:" in lsp.docs[URI].text


async def test_edit_may_not_change_the_surface_unless_the_instruction_asks(
    lsp: Editor, fake_local: FakeLMStudio
) -> None:
    renamed = SUM_TOTAL.replace("def total", "def grand_total")
    fake_local.push(Reply(f"```python\n{renamed}```"))
    result = await run_with(lsp, "Edit with local model…", "use sum() instead of the loop")
    assert result["applied"] is False
    assert lsp.docs[URI].text == CART
    assert any("the instruction did not ask for it" in m for m in lsp.messages())

    lsp.client.messages.clear()
    fake_local.push(Reply(f"```python\n{renamed}```"))
    result = await run_with(lsp, "Edit with local model…", "rename it to grand_total")
    assert result["applied"] is True, result
    assert "def grand_total(self, items):" in lsp.docs[URI].text


async def test_an_instruction_on_refactor_is_extra_guidance_in_the_prompt(
    lsp: Editor, fake_local: FakeLMStudio
) -> None:
    fake_local.push(Reply(f"```python\n{REFACTORED_TOTAL}```"))
    result = await run_with(lsp, "Refactor with local model", "prefer augmented assignment")
    assert result["applied"] is True, result
    prompt = user_prompt(fake_local)
    assert "Instruction from the user: prefer augmented assignment" in prompt
    assert "Keep its behaviour and public interface" in prompt, "the refactor task stays"


async def test_refactor_without_an_instruction_has_none_in_the_prompt(
    lsp: Editor, fake_local: FakeLMStudio
) -> None:
    fake_local.push(Reply(f"```python\n{REFACTORED_TOTAL}```"))
    result = await run_with(lsp, "Refactor with local model", None)
    assert result["applied"] is True, result
    assert "Instruction from the user" not in user_prompt(fake_local)
