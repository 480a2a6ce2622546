"""Model answer -> the code it proposes, or a reason why there is none.

Real answers are rarely just code. Local models (Qwen, Llama, DeepSeek-R1 through LM Studio or
llama.cpp, SmolLM) and Claude wrap it in reasoning (`<think>`), Markdown fences, lead-in lines
("Here is the refactored code:"), explanations, usage examples, or echo the prompt first. This
module keeps only the code and never lets a fence marker or a prose line into it; everything
it cannot decide safely becomes `code=None` with a reason the user can read.

Choosing among several fenced blocks (the rule, in order):
1. Blocks tagged with another language (`bash`, `json`, `console`…) are examples or output;
   they count only when nothing else is there. `diff` blocks never count: they are not code.
2. If any block is tagged with the document's language, only those compete.
3. A block identical to the selection is the model quoting it ("Before: … After: …") and is
   dropped while another block remains.
4. When the prose between blocks says they are consecutive pieces ("First … Then …",
   "Next", "Finally"), the largest block wins: models show the changed fragment and then
   the whole result, and joining fragments would guess at what lies between them. Only
   blocks at least half as similar to the selection as the best one compete, so a larger
   trailing test or usage block does not win.
5. Otherwise the block most similar to the selection wins (difflib ratio over lines): the
   rewrite resembles its original; a usage example or an alternative snippet does not.
   Ties go to the larger, then the later block.
"""

from __future__ import annotations

import difflib
import re

import attrs

from ladder_lsp.analysis.languages import fence_tags
from ladder_lsp.pipeline.fences import FENCE_ANYWHERE, FENCE_NOISE, Block, fenced_blocks
from ladder_lsp.pipeline.prose import INLINE_SPAN, has_code, is_prose, trim_prose
from ladder_lsp.pipeline.reasoning import strip_reasoning


@attrs.frozen
class Extracted:
    """The code to apply (None when there is none) and why: user-facing on failure, a short
    note on which rule chose the code otherwise (for logs)."""

    code: str | None
    reason: str

    @property
    def ok(self) -> bool:
        return self.code is not None


_PLAIN_TAGS = frozenset({"", "text", "plaintext", "txt", "code", "plain"})
_DIFF_TAGS = frozenset({"diff", "patch", "udiff"})

_SPECIAL_TOKENS = re.compile(
    r"(?:<\|im_end\|>|<\|eot_id\|>|<\|endoftext\|>|<\|end\|>|<\|return\|>|</s>|<end_of_turn>"
    r"|<\|end_of_text\|>)"
)
# Claude answers XML-style prompts with e.g. <refactored_code>…</refactored_code>; the tags
# must stand on their own lines so JSX such as `<code>{x}</code>` is left alone.
_WRAPPER_TAG = re.compile(
    r"^[ \t]*<(?P<tag>[a-z_]*code|answer|solution)>[ \t]*\n(?P<body>.*?)\n[ \t]*</(?P=tag)>",
    re.IGNORECASE | re.DOTALL | re.MULTILINE,
)
_INLINE_ONLY = re.compile(r"^(`+)[ ]?(?P<code>[^`\n](?:.*?[^`])?)[ ]?\1$")
_SEQUENCE_WORDS = re.compile(
    r"\b(then|next|after that|afterwards|finally|second(?:ly)?|third|lastly|"
    r"step \d|part \d|continu\w*|followed by|the rest|remaining|and here)\b",
    re.IGNORECASE,
)
_ALTERNATIVE_WORDS = re.compile(
    r"\b(alternative(?:ly)?|option \d|another (?:way|approach|version)|instead|"
    r"or you could|variant)\b",
    re.IGNORECASE,
)


def extract_code(answer: str, *, language: str, original: str) -> Extracted:
    """The code a model's answer proposes for `original` in a `language` document.

    Returned code uses `\\n` line endings, has no leading/trailing blank lines and keeps the
    model's indentation (re-indenting is `edits.build_block`'s job). A truncated answer
    (unterminated fence) yields what is there: the caller checks the finish reason.
    """
    text = answer.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    text = _SPECIAL_TOKENS.sub("", text)
    if not text.strip():
        return Extracted(None, "the answer is empty")
    text, thinking_reason = strip_reasoning(text)
    if thinking_reason:
        return Extracted(None, thinking_reason)
    if not text.strip():
        return Extracted(None, "the answer contains only reasoning, no code")
    wrapped = _WRAPPER_TAG.search(text)
    if wrapped and not FENCE_ANYWHERE.search(text[: wrapped.start()] + text[wrapped.end() :]):
        text = wrapped.group("body")

    language = language.lower()
    original = original.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    blocks = fenced_blocks(lines, language)
    if blocks:
        return _choose_block(blocks, language, original)
    return _unfenced(lines, language, original)


def _choose_block(blocks: list[Block], language: str, original: str) -> Extracted:
    usable = [b for b in blocks if any(line.strip() for line in b.lines)]
    if not usable:
        return Extracted(None, "the answer's code block is empty")
    aliases = fence_tags(language)
    not_diff = [b for b in usable if b.tag not in _DIFF_TAGS]
    if not not_diff:
        return Extracted(None, "the answer is a diff, not replacement code")
    tagged = [b for b in not_diff if b.tag in aliases]
    plain = [b for b in not_diff if b.tag in _PLAIN_TAGS]
    candidates = tagged or plain or not_diff
    total = len(candidates)
    if total > 1:
        fresh = [b for b in candidates if not _same_code(b.lines, original)]
        if fresh:
            candidates = fresh
    if len(candidates) == 1:
        chosen = candidates[0]
        note = "one fenced block" if total == 1 else f"1 of {total} fenced blocks"
        return _finish(chosen.lines, _note(note, chosen))
    if not original.strip():
        chosen = max(enumerate(candidates), key=lambda p: (_size(p[1].lines), p[0]))[1]
        return _finish(chosen.lines, _note(f"largest of {len(candidates)} fenced blocks", chosen))
    reference = _normalized(original.split("\n"))
    scored = [
        (_similarity(reference, _normalized(b.lines)), _size(b.lines), index, b)
        for index, b in enumerate(candidates)
    ]
    if _looks_like_pieces(candidates, blocks):
        # Largest piece, among those that still resemble the selection (a trailing test
        # or usage block can be larger without being the rewrite).
        top = max(item[0] for item in scored)
        related = [item for item in scored if item[0] >= top / 2]
        chosen = max(related, key=lambda item: (item[1], item[2]))[3]
        note = f"largest of {len(candidates)} consecutive fenced pieces"
        return _finish(chosen.lines, _note(note, chosen))
    best = max(scored, key=lambda item: item[:3])
    note = f"most similar of {len(candidates)} fenced blocks"
    return _finish(best[3].lines, _note(note, best[3]))


def _note(note: str, block: Block) -> str:
    return note if block.closed else f"{note}, unterminated (the answer may be cut off)"


def _looks_like_pieces(candidates: list[Block], blocks: list[Block]) -> bool:
    """Does the prose between the blocks read like "first … then …"?"""
    between = [b.prose_before for b in blocks[1:] if b in candidates]
    text = " ".join(between)
    if _ALTERNATIVE_WORDS.search(text) or _ALTERNATIVE_WORDS.search(blocks[0].prose_before):
        return False
    return bool(_SEQUENCE_WORDS.search(text))


def _size(lines: tuple[str, ...] | list[str]) -> int:
    return sum(1 for line in lines if line.strip())


def _normalized(lines: tuple[str, ...] | list[str]) -> list[str]:
    return [line.strip() for line in lines if line.strip()]


def _same_code(lines: tuple[str, ...], original: str) -> bool:
    return _normalized(lines) == _normalized(original.split("\n"))


def _similarity(a: list[str], b: list[str]) -> float:
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


def _finish(lines: tuple[str, ...] | list[str], note: str) -> Extracted:
    """Trim blank edges; blank lines lose their whitespace."""
    body = [line if line.strip() else "" for line in lines]
    while body and not body[0]:
        body.pop(0)
    while body and not body[-1]:
        body.pop()
    if not body:
        return Extracted(None, "the answer contains no code")
    return Extracted("\n".join(body), note)


def _unfenced(lines: list[str], language: str, original: str) -> Extracted:
    stripped = "\n".join(lines).strip()
    only = _INLINE_ONLY.match(stripped)
    if only:
        return _finish([only.group("code")], "inline code")
    # A line opening with ``` or ~~~ that is no fence (`` ```js``` ``) is Markdown noise.
    lines = [line for line in lines if not FENCE_NOISE.match(line)]
    body = trim_prose(lines, language)
    if body and has_code(body, language):
        return _finish(body, "unfenced code")
    if _size(original.split("\n")) <= 1:
        spans = _inline_candidates(lines, language, original)
        if len(spans) == 1:
            return _finish([spans[0]], "inline code in prose")
    return Extracted(None, "the answer contains no code")


def _inline_candidates(lines: list[str], language: str, original: str) -> list[str]:
    """`code` spans in prose lines, long enough to be the whole selected line.

    A span quoting the selection means a hint ("replace `a` with `b`"), not a new line.
    """
    minimum = max(2, int(0.4 * len(original.strip())))
    spans: list[str] = []
    for line in lines:
        if "`" not in line or not is_prose(line, language):
            continue
        for match in INLINE_SPAN.finditer(line):
            code = match.group("code").strip()
            if original.strip() and code in original:
                return []
            if len(code) >= minimum:
                spans.append(code)
    return spans
