"""Telling a model's prose from its code, line by line: lead-ins ("Here is the code:"),
headings, bullets and explanations are dropped; lines with code's shape are kept.
"""

from __future__ import annotations

import re

from ladder_lsp.analysis.languages import hash_comments

_BOLD_TITLE = re.compile(r"^\*\*[^*]+\*\*")
INLINE_SPAN = re.compile(r"(`+)(?P<code>[^`\n]+?)\1")
_BULLET = re.compile(r"^(?:\d+[.)]|[-*+•])\s+(?P<rest>.+)$")
_HEADING = re.compile(r"^(?P<hashes>#{1,6})\s+(?P<title>.+?)\s*#*$")
_SECTION_WORDS = re.compile(
    r"^(?:\W*)(explanation|explanations|changes|changes made|response|answer|output|"
    r"refactored|refactored code|updated code|solution|summary|notes?|example|usage|code|"
    r"improvements|key changes|result|final code|corrected code|fixed code|instruction|"
    r"step \d+)\b",
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


def trim_prose(lines: list[str], language: str) -> list[str]:
    """Drop lead-in lines and trailing explanation paragraphs around unfenced code."""
    body = list(lines)
    while body and (not body[0].strip() or is_prose(body[0], language)):
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
        if body and is_prose(body[-1], language) and not body[-1][:1].isspace():
            body.pop()
            changed = True
    return body


def _prose_paragraph(paragraph: list[str], language: str) -> bool:
    if not is_prose(paragraph[0], language):
        return False
    prose = sum(1 for line in paragraph if is_prose(line, language))
    return prose * 2 >= len(paragraph) and not any(_strong_code(line) for line in paragraph)


def _strong_code(line: str) -> bool:
    s = line.strip()
    return s.endswith(("{", "};", ");", "}")) or s.startswith(("def ", "class ", "fn ", "func "))


def has_code(lines: list[str], language: str) -> bool:
    return any(line.strip() and not is_prose(line, language) for line in lines)


def is_prose(line: str, language: str) -> bool:
    """Does this line read like natural language rather than code or a code comment?"""
    s = line.strip()
    if not s:
        return False
    heading = _HEADING.match(s)
    if heading:
        if not hash_comments(language):
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
    without_code = INLINE_SPAN.sub("X", s)
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
