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

from ladder_lsp.analysis.text import indent_width


@attrs.frozen
class Extracted:
    """The code to apply (None when there is none) and why: user-facing on failure, a short
    note on which rule chose the code otherwise (for logs)."""

    code: str | None
    reason: str

    @property
    def ok(self) -> bool:
        return self.code is not None


# Tags a model uses for each document language (LSP languageIds).
_ALIASES: dict[str, frozenset[str]] = {
    "python": frozenset({"python", "py", "python3", "py3", "pycon"}),
    "javascript": frozenset({"javascript", "js", "jsx", "node", "mjs", "cjs", "es6"}),
    "javascriptreact": frozenset({"javascript", "js", "jsx", "javascriptreact", "react"}),
    "typescript": frozenset({"typescript", "ts", "mts", "cts"}),
    "typescriptreact": frozenset({"typescript", "ts", "tsx", "typescriptreact", "jsx", "react"}),
    "go": frozenset({"go", "golang"}),
    "rust": frozenset({"rust", "rs"}),
    "c": frozenset({"c", "h"}),
    "cpp": frozenset({"cpp", "c++", "cc", "cxx", "hpp"}),
    "csharp": frozenset({"csharp", "cs", "c#"}),
    "shellscript": frozenset({"bash", "sh", "shell", "zsh", "shellscript"}),
    "ruby": frozenset({"ruby", "rb"}),
    "java": frozenset({"java"}),
    "kotlin": frozenset({"kotlin", "kt"}),
}
_PLAIN_TAGS = frozenset({"", "text", "plaintext", "txt", "code", "plain"})
_DIFF_TAGS = frozenset({"diff", "patch", "udiff"})
_HASH_COMMENT_LANGUAGES = frozenset(
    {"python", "shellscript", "ruby", "perl", "r", "yaml", "toml", "makefile", "dockerfile"}
)

_THINK_PAIR = re.compile(r"<(think|thinking|reasoning)>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_THINK_OPEN = re.compile(r"<(?:think|thinking|reasoning)>", re.IGNORECASE)
_THINK_CLOSE = re.compile(r"</(?:think|thinking|reasoning)\s*>", re.IGNORECASE)
_HARMONY_FINAL = "<|channel|>final<|message|>"
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
_FENCE_OPEN = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`]*?)[ \t]*$")
_FENCE_ANYWHERE = re.compile(r"^[ \t]*(?:```|~~~)", re.MULTILINE)
_FENCE_NOISE = re.compile(r"^(?P<indent>\s*)(?:```|~~~)")
# CommonMark: a fence is indented at most 3 columns (more, relative to where the block's
# fence stands, is the code's own indentation: a docstring's Markdown example).
_MAX_FENCE_INDENT = 3
_BOLD_TITLE = re.compile(r"^\*\*[^*]+\*\*")
_INLINE_ONLY = re.compile(r"^(`+)[ ]?(?P<code>[^`\n](?:.*?[^`])?)[ ]?\1$")
_INLINE_SPAN = re.compile(r"(`+)(?P<code>[^`\n]+?)\1")
_BULLET = re.compile(r"^(?:\d+[.)]|[-*+•])\s+(?P<rest>.+)$")
_HEADING = re.compile(r"^(?P<hashes>#{1,6})\s+(?P<title>.+?)\s*#*$")
_SECTION_WORDS = re.compile(
    r"^(?:\W*)(explanation|explanations|changes|changes made|response|answer|output|"
    r"refactored|refactored code|updated code|solution|summary|notes?|example|usage|code|"
    r"improvements|key changes|result|final code|corrected code|fixed code|instruction|"
    r"step \d+)\b",
    re.IGNORECASE,
)
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
_WORD = re.compile(r"""^[("'“‘]?[A-Za-z][A-Za-z'’-]*[)"'”’]?[.,:;!?]*$""")
_CODE_CHARS = re.compile(r"[{}\[\];=<>|&^%$@\\]")
_KEYWORDS = frozenset(
    """
    and as assert async await break case catch class const continue def default defer del do
    elif else enum except export extends fn for from func function go if impl import in
    interface is let loop match mod module mut new nonlocal not of or package pass print
    private protected pub public raise return select self static struct super switch this
    throw trait try type typeof unsafe use var void while with yield true false none null nil
    lambda global goto where dyn crate extern final finally abstract override readonly
    """.split()
)


@attrs.frozen
class _Block:
    tag: str
    lines: tuple[str, ...]
    closed: bool
    prose_before: str


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
    if wrapped and not _FENCE_ANYWHERE.search(text[: wrapped.start()] + text[wrapped.end() :]):
        text = wrapped.group("body")

    language = language.lower()
    original = original.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    blocks = _fenced_blocks(lines, language)
    if blocks:
        return _choose_block(blocks, language, original)
    return _unfenced(lines, language, original)


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


def _fenced_blocks(lines: list[str], language: str) -> list[_Block]:
    """Every fenced block (``` or ~~~, any length, indented or not), in order.

    A fence closes only with the same character at least as long (CommonMark), so a
    ````-fenced answer may quote ``` inside. An answer that starts with code and has one
    stray closing fence (the prompt opened the fence) gets that code as a block.
    """
    fence_rows = [i for i, line in enumerate(lines) if _FENCE_OPEN.match(line)]
    if not fence_rows:
        return []
    blocks: list[_Block] = []
    first_row = fence_rows[0]
    first = _FENCE_OPEN.match(lines[first_row])
    assert first is not None
    prose_start = 0
    if len(fence_rows) % 2 == 1 and not first.group("info"):
        before = [line for line in lines[:first_row] if not _FENCE_NOISE.match(line)]
        before = _trim_prose(before, language)
        if before and _has_code(before, language):
            blocks.append(_Block("", tuple(before), True, ""))
            prose_start = first_row + 1
    row = prose_start
    prose: list[str] = []
    while row < len(lines):
        match = _FENCE_OPEN.match(lines[row])
        if match is None:
            prose.append(lines[row])
            row += 1
            continue
        fence = match.group("fence")
        indent = len(match.group("indent"))
        deepest = indent_width(match.group("indent")) + _MAX_FENCE_INDENT
        closing = re.compile(rf"^(?P<indent>[ \t]*){re.escape(fence[0])}{{{len(fence)},}}\s*$")
        body: list[str] = []
        row += 1
        closed = False
        while row < len(lines):
            close = closing.match(lines[row])
            if close and indent_width(close.group("indent")) <= deepest:
                closed = True
                row += 1
                break
            reopened = _FENCE_OPEN.match(lines[row])
            if (
                reopened
                and reopened.group("info")
                and reopened.group("fence") == fence
                and indent_width(reopened.group("indent")) <= deepest
            ):
                closed = True  # the model forgot to close before opening the next block
                break
            body.append(_remove_indent(lines[row], indent))
            row += 1
        if not closed and body:
            # Truncated, or the close was glued to the last line: `return x```.
            last = max((i for i, b in enumerate(body) if b.strip()), default=None)
            if last is not None and body[last].rstrip().endswith(fence):
                body[last] = body[last].rstrip()[: -len(fence)].rstrip()
                closed = True
        tag = _info_tag(match.group("info"))
        if len(fence) == 3:  # longer fences may quote ``` lines on purpose
            body = [line for line in body if not _stray_fence(line)]
        blocks.append(_Block(tag, tuple(body), closed, "\n".join(prose)))
        prose = []
    return blocks


def _stray_fence(line: str) -> bool:
    """A fence marker inside a block that did not close it (`~~~` in a ``` block). Indented
    4 columns or more it is code (a Markdown example in a docstring), not Markdown."""
    match = _FENCE_NOISE.match(line)
    return match is not None and indent_width(match.group("indent")) <= _MAX_FENCE_INDENT


def _info_tag(info: str) -> str:
    """`python title="x.py"`, `{.python}`, `py:src/x.py` -> the language word, lowercased."""
    word = info.strip().split(maxsplit=1)[0] if info.strip() else ""
    word = word.strip("{}.").split(":", 1)[0].split(",", 1)[0]
    return word.lower()


def _remove_indent(line: str, width: int) -> str:
    """Drop up to `width` leading blanks: the fence's own indentation (list items)."""
    index = 0
    while index < width and index < len(line) and line[index] in " \t":
        index += 1
    return line[index:]


def _choose_block(blocks: list[_Block], language: str, original: str) -> Extracted:
    usable = [b for b in blocks if any(line.strip() for line in b.lines)]
    if not usable:
        return Extracted(None, "the answer's code block is empty")
    aliases = _ALIASES.get(language, frozenset({language}))
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


def _note(note: str, block: _Block) -> str:
    return note if block.closed else f"{note}, unterminated (the answer may be cut off)"


def _looks_like_pieces(candidates: list[_Block], blocks: list[_Block]) -> bool:
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
    lines = [line for line in lines if not _FENCE_NOISE.match(line)]
    body = _trim_prose(lines, language)
    if body and _has_code(body, language):
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
        if "`" not in line or not _is_prose(line, language):
            continue
        for match in _INLINE_SPAN.finditer(line):
            code = match.group("code").strip()
            if original.strip() and code in original:
                return []
            if len(code) >= minimum:
                spans.append(code)
    return spans


def _trim_prose(lines: list[str], language: str) -> list[str]:
    """Drop lead-in lines and trailing explanation paragraphs around unfenced code."""
    body = list(lines)
    while body and (not body[0].strip() or _is_prose(body[0], language)):
        body.pop(0)
    changed = True
    while changed and body:
        changed = False
        while body and not body[-1].strip():
            body.pop()
        # The last paragraph: explanation text, maybe with bullets.
        start = len(body)
        while start > 0 and body[start - 1].strip():
            start -= 1
        paragraph = body[start:]
        if paragraph and start > 0 and _prose_paragraph(paragraph, language):
            del body[start:]
            changed = True
            continue
        # A prose line glued under the code.
        if body and _is_prose(body[-1], language) and not body[-1][:1].isspace():
            body.pop()
            changed = True
    return body


def _prose_paragraph(paragraph: list[str], language: str) -> bool:
    if not _is_prose(paragraph[0], language):
        return False
    prose = sum(1 for line in paragraph if _is_prose(line, language))
    return prose * 2 >= len(paragraph) and not any(_strong_code(line) for line in paragraph)


def _strong_code(line: str) -> bool:
    s = line.strip()
    return s.endswith(("{", "};", ");", "}")) or s.startswith(("def ", "class ", "fn ", "func "))


def _has_code(lines: list[str], language: str) -> bool:
    return any(line.strip() and not _is_prose(line, language) for line in lines)


def _is_prose(line: str, language: str) -> bool:
    """Does this line read like natural language rather than code or a code comment?"""
    s = line.strip()
    if not s:
        return False
    heading = _HEADING.match(s)
    if heading:
        if language not in _HASH_COMMENT_LANGUAGES:
            return not s.startswith(("#[", "#!", "#include", "#define", "#if", "#pragma"))
        # In '#'-comment languages only Markdown section titles are prose, not comments.
        return len(heading.group("hashes")) >= 2 and bool(
            _SECTION_WORDS.match(heading.group("title"))
        )
    bullet = _BULLET.match(s)
    if bullet:
        rest = bullet.group("rest").replace("**", "")
        return "`" in rest or _wordy(rest, minimum=2, lowercase_ok=True)
    if s.startswith(("//", "/*", "*", "#", "--", "<!--")):
        return False
    if _BOLD_TITLE.match(s):
        return True  # **Explanation:** and friends
    without_code = _INLINE_SPAN.sub("X", s)
    if without_code != s:
        return _wordy(without_code, minimum=2, relaxed=True)
    return _wordy(s, minimum=3)


def _wordy(s: str, *, minimum: int, relaxed: bool = False, lowercase_ok: bool = False) -> bool:
    """Mostly plain words, reading like a sentence (capitalized or punctuated)."""
    tokens = s.split()
    if not tokens:
        return False
    head = tokens[0].strip("\"'(*").rstrip(".,:;!?")
    if head.lower() in _KEYWORDS and head[:1].islower() and not lowercase_ok:
        return False  # code keywords are lowercase; "Use …", "This …" start sentences
    if not relaxed and _CODE_CHARS.search(s):
        return False
    words = sum(1 for token in tokens if _WORD.match(token))
    sentence = s[-1] in ".:!?" or s[0].isupper() or lowercase_ok
    if len(tokens) >= minimum:
        return words >= 0.7 * len(tokens) and sentence
    # Short lead-ins: "Sure!", "Refactored code:", "Explanation:".
    return words == len(tokens) and s[0].isupper() and s[-1] in ":!."
