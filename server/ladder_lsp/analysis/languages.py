"""The languages Ladder knows, one record each: every language fact lives here.

Ladder *serves* (offers its actions in editors for) the programming languages whose answers
it can take apart: the fence tags a model writes for them and their comment syntax. Those it
also has a tree-sitter grammar for (each grammar is a wheel Ladder depends on) get more: their
definitions are found from the tree, their edits must not add parse errors, their generated
tests are judged and placed by their own convention; the others fall back to indentation.
The records marked `served=False` only describe languages Ladder must recognise in a model's
answer (whether `#` starts a comment there: then `# Title` is a comment, not Markdown prose).

Ids are LSP languageIds (`python`, `typescriptreact`), compared lowercased.
"""

from __future__ import annotations

from typing import Literal

import attrs

TestFramework = Literal["pytest", "jest", "go", "cargo"]


@attrs.frozen
class Grammar:
    """A tree-sitter grammar from its wheel, and which of its nodes are definitions."""

    module: str  # the wheel's module (`tree_sitter_python`)
    function: str  # its function returning the grammar pointer
    definitions: frozenset[str]  # node types that are definitions
    # siblings directly above a definition that belong to it (doc comments, decorators,
    # attributes); `decorated_definition`/`export_statement` wrappers lend it their first line
    attached: frozenset[str] = frozenset()
    # `const f = () => …`, `x.f = function…`, class fields holding a function define too
    value_definitions: bool = False


@attrs.frozen
class Language:
    """Everything Ladder knows about one language."""

    id: str  # LSP languageId
    fence_tags: frozenset[str] = frozenset()  # info strings models use besides the id
    line_comment: str | None = None  # what starts a line comment
    grammar: Grammar | None = None  # None: not served (no definitions or syntax check)
    extensions: tuple[str, ...] = ()  # file suffixes, for files no editor described
    aliases: frozenset[str] = frozenset()  # ids some editors send instead (`js`, `tsx`)
    test_framework: TestFramework | None = None  # how generated tests are judged
    test_file: str | None = None  # the test file beside `{stem}{suffix}`: pytest, Jest, Go…
    served: bool = True  # False: only recognised in answers, no actions offered in editors
    # a word each of the language's import lines holds (`from x import y`: "import"), which
    # finds them in a big file faster than reading it line by line; () when unknown
    import_words: tuple[str, ...] = ()


_JS_DEFINITIONS = frozenset(
    {
        "function_declaration",
        "generator_function_declaration",
        "class_declaration",
        "abstract_class_declaration",
        "method_definition",
        "interface_declaration",
        "enum_declaration",
        "type_alias_declaration",
    }
)
_JS_ATTACHED = frozenset({"comment", "decorator"})


def _javascript(
    language_id: str,
    fence_tags: set[str],
    grammar: tuple[str, str],
    extensions: tuple[str, ...],
    alias: str,
) -> Language:
    """JavaScript, TypeScript and their JSX dialects: one family of grammars, Jest tests."""
    module, function = grammar
    return Language(
        language_id,
        fence_tags=frozenset(fence_tags),
        line_comment="//",
        grammar=Grammar(module, function, _JS_DEFINITIONS, _JS_ATTACHED, value_definitions=True),
        extensions=extensions,
        aliases=frozenset({alias}),
        test_framework="jest",
        test_file="{stem}.test{suffix}",
        import_words=("import", "require("),
    )


LANGUAGES: tuple[Language, ...] = (
    Language(
        "python",
        fence_tags=frozenset({"py", "python3", "py3", "pycon"}),
        line_comment="#",
        grammar=Grammar(
            "tree_sitter_python",
            "language",
            frozenset({"function_definition", "class_definition"}),
        ),
        extensions=(".py",),
        test_framework="pytest",
        test_file="test_{stem}.py",
        import_words=("import",),
    ),
    _javascript(
        "javascript",
        {"js", "jsx", "node", "mjs", "cjs", "es6"},
        ("tree_sitter_javascript", "language"),
        (".js", ".mjs", ".cjs"),
        "js",
    ),
    _javascript(
        "javascriptreact",
        {"javascript", "js", "jsx", "react"},
        ("tree_sitter_javascript", "language"),
        (".jsx",),
        "jsx",
    ),
    _javascript(
        "typescript",
        {"ts", "mts", "cts"},
        ("tree_sitter_typescript", "language_typescript"),
        (".ts",),
        "ts",
    ),
    _javascript(
        "typescriptreact",
        {"typescript", "ts", "tsx", "jsx", "react"},
        ("tree_sitter_typescript", "language_tsx"),
        (".tsx",),
        "tsx",
    ),
    Language(
        "go",
        fence_tags=frozenset({"golang"}),
        line_comment="//",
        grammar=Grammar(
            "tree_sitter_go",
            "language",
            frozenset({"function_declaration", "method_declaration", "type_declaration"}),
            attached=frozenset({"comment"}),
        ),
        extensions=(".go",),
        test_framework="go",
        test_file="{stem}_test.go",
        import_words=("import", "package"),
    ),
    Language(
        "rust",
        fence_tags=frozenset({"rs"}),
        line_comment="//",
        grammar=Grammar(
            "tree_sitter_rust",
            "language",
            frozenset(
                {
                    "function_item",
                    "impl_item",
                    "struct_item",
                    "enum_item",
                    "union_item",
                    "trait_item",
                    "mod_item",
                    "macro_definition",
                }
            ),
            attached=frozenset({"attribute_item", "line_comment", "block_comment"}),
        ),
        extensions=(".rs",),
        test_framework="cargo",
        test_file="{stem}_tests.rs",
        import_words=("use",),
    ),
    # Recognised in answers only.
    Language("c", fence_tags=frozenset({"h"}), line_comment="//", import_words=("#include",)),
    Language(
        "cpp",
        fence_tags=frozenset({"c++", "cc", "cxx", "hpp"}),
        line_comment="//",
        import_words=("#include",),
    ),
    Language(
        "csharp", fence_tags=frozenset({"cs", "c#"}), line_comment="//", import_words=("using",)
    ),
    Language("java", line_comment="//", import_words=("import", "package")),
    Language(
        "kotlin",
        fence_tags=frozenset({"kt"}),
        line_comment="//",
        import_words=("import", "package"),
    ),
    Language("shellscript", fence_tags=frozenset({"bash", "sh", "shell", "zsh"}), line_comment="#"),
    Language("ruby", fence_tags=frozenset({"rb"}), line_comment="#"),
    Language("perl", line_comment="#", served=False),
    Language("r", line_comment="#", served=False),
    Language("yaml", line_comment="#", served=False),
    Language("toml", line_comment="#", served=False),
    Language("makefile", line_comment="#", served=False),
    Language("dockerfile", line_comment="#", served=False),
)

_BY_ID = {language.id: language for language in LANGUAGES}
_EVERY_IMPORT_WORD = tuple(dict.fromkeys(w for lang in LANGUAGES for w in lang.import_words))
_BY_ALIAS = {alias: language for language in LANGUAGES for alias in language.aliases}
_BY_EXTENSION = {ext: language for language in LANGUAGES for ext in language.extensions}


def find(language_id: str, *, aliases: bool = False) -> Language | None:
    """The record for an LSP languageId (and, with `aliases`, for the other ids some editors
    send, `js`, `tsx`…); None for a language Ladder does not know."""
    key = language_id.lower()
    found = _BY_ID.get(key)
    if found is None and aliases:
        found = _BY_ALIAS.get(key)
    return found


def served_languages() -> tuple[str, ...]:
    """The languageIds Ladder offers its actions for, sorted: an editor's document selector."""
    return tuple(sorted(language.id for language in LANGUAGES if language.served))


def grammar(language_id: str) -> Grammar | None:
    """The tree-sitter grammar of a served language; None otherwise."""
    found = find(language_id)
    return found.grammar if found is not None else None


def language_from_path(path: str) -> str:
    """An LSP languageId from a file name, for files no editor described (CLI, disk)."""
    name = path.rsplit("/", 1)[-1]
    suffix = path[path.rfind(".") :] if "." in name else ""
    found = _BY_EXTENSION.get(suffix.lower())
    return found.id if found is not None else "plaintext"


def fence_tags(language_id: str) -> frozenset[str]:
    """The fence info strings (lowercase) that mark a code block as this language's."""
    found = find(language_id)
    if found is None:
        return frozenset({language_id.lower()})
    return found.fence_tags | {found.id}


def import_words(language_id: str) -> tuple[str, ...]:
    """The words that find this language's import lines; every language's for one Ladder
    does not know (or knows no imports of)."""
    found = find(language_id, aliases=True)
    if found is not None and found.import_words:
        return found.import_words
    return _EVERY_IMPORT_WORD


def hash_comments(language_id: str) -> bool:
    """Whether `#` starts a line comment in this language (Python, shell, YAML…)."""
    found = find(language_id)
    return found is not None and found.line_comment == "#"


def framework_for_tests(language_id: str) -> TestFramework | None:
    """How generated tests in this language are judged; the ids some editors send instead
    (`js`, `tsx`) count too."""
    found = find(language_id, aliases=True)
    return found.test_framework if found is not None else None
