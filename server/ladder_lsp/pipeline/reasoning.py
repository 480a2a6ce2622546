"""Reasoning a model wraps around its answer (`<think>`, Harmony channels), removed before
anything looks for code: DeepSeek-R1, Qwen3 and gpt-oss answer through it.
"""

from __future__ import annotations

import re

_THINK_PAIR = re.compile(r"<(think|thinking|reasoning)>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_THINK_OPEN = re.compile(r"<(?:think|thinking|reasoning)>", re.IGNORECASE)
_THINK_CLOSE = re.compile(r"</(?:think|thinking|reasoning)\s*>", re.IGNORECASE)
_HARMONY_FINAL = "<|channel|>final<|message|>"


def strip_reasoning(text: str) -> tuple[str, str]:
    """Remove `<think>`-style reasoning; a reason when the answer never left it."""
    if _HARMONY_FINAL in text:
        text = text.rsplit(_HARMONY_FINAL, 1)[1]
    text = _THINK_PAIR.sub("", text)
    closes = list(_THINK_CLOSE.finditer(text))
    if closes:
        # DeepSeek-R1 templates put `<think>` in the prompt: only `</think>` reaches us.
        text = text[closes[-1].end() :]
    opening = _THINK_OPEN.search(text)
    if opening:
        if not text[: opening.start()].strip():
            return "", "the answer ended inside the model's reasoning (<think> never closed)"
        text = text[: opening.start()]
    return text, ""


def only_reasoned(text: str, reasoning_tokens: int, finish_reason: str) -> str:
    """Why an answer whose thinking came apart from it (`reasoning_content`, Claude's thinking
    blocks) is no answer: nothing but reasoning arrived, or it was cut off while reasoning."""
    if not reasoning_tokens or text.strip():
        return ""
    if finish_reason == "length":
        return (
            f"the answer was cut off at the token limit while the model was still reasoning "
            f"({reasoning_tokens} tok of thinking, no answer)"
        )
    return f"the model only reasoned ({reasoning_tokens} tok of thinking) and gave no answer"
