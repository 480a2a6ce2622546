"""The one language table: what Ladder serves, and the facts the other modules used to keep."""

from __future__ import annotations

from pathlib import Path

import pytest

from ladder_lsp.analysis import languages, treesitter
from ladder_lsp.analysis.languages import (
    fence_tags,
    find,
    framework_for_tests,
    hash_comments,
    language_from_path,
    served_languages,
)
from ladder_lsp.pipeline.testfile import plan_for

PARSED = ("python", "javascript", "javascriptreact", "typescript", "typescriptreact", "go", "rust")


def test_served_languages_include_every_language_with_a_grammar() -> None:
    served = served_languages()
    assert served == tuple(sorted(served))
    with_grammar = tuple(lang.id for lang in languages.LANGUAGES if lang.grammar is not None)
    assert with_grammar == PARSED
    assert set(PARSED) <= set(served)
    for language_id in PARSED:
        assert treesitter.grammar_for(language_id) is not None
    assert {"java", "c", "cpp", "csharp", "shellscript", "ruby", "kotlin"} <= set(served)
    assert not {"yaml", "toml", "makefile"} & set(served), "recognised in answers only"


def test_ids_are_unique_and_lowercase() -> None:
    ids = [language.id for language in languages.LANGUAGES]
    assert len(ids) == len(set(ids))
    assert all(language_id == language_id.lower() for language_id in ids)


def test_find_is_case_insensitive_and_aliases_are_opt_in() -> None:
    assert find("Python") is find("python")
    assert find("tsx") is None
    found = find("tsx", aliases=True)
    assert found is not None and found.id == "typescriptreact"
    assert find("cobol") is None


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("src/cart.py", "python"),
        ("a/b.MJS", "javascript"),
        ("x.cjs", "javascript"),
        ("App.jsx", "javascriptreact"),
        ("index.ts", "typescript"),
        ("App.tsx", "typescriptreact"),
        ("main.go", "go"),
        ("lib.rs", "rust"),
        ("notes.txt", "plaintext"),
        ("Makefile", "plaintext"),
        ("dir.d/file", "plaintext"),
    ],
)
def test_language_from_path(path: str, expected: str) -> None:
    assert language_from_path(path) == expected


def test_fence_tags() -> None:
    # The tags `extract_code` has always accepted for each document language.
    expected = {
        "python": {"python", "py", "python3", "py3", "pycon"},
        "javascript": {"javascript", "js", "jsx", "node", "mjs", "cjs", "es6"},
        "javascriptreact": {"javascript", "js", "jsx", "javascriptreact", "react"},
        "typescript": {"typescript", "ts", "mts", "cts"},
        "typescriptreact": {"typescript", "ts", "tsx", "typescriptreact", "jsx", "react"},
        "go": {"go", "golang"},
        "rust": {"rust", "rs"},
        "c": {"c", "h"},
        "cpp": {"cpp", "c++", "cc", "cxx", "hpp"},
        "csharp": {"csharp", "cs", "c#"},
        "shellscript": {"bash", "sh", "shell", "zsh", "shellscript"},
        "ruby": {"ruby", "rb"},
        "java": {"java"},
        "kotlin": {"kotlin", "kt"},
    }
    for language_id, tags in expected.items():
        assert fence_tags(language_id) == tags, language_id
    assert fence_tags("yaml") == {"yaml"}
    assert fence_tags("cobol") == {"cobol"}  # unknown: its own id


def test_hash_comments() -> None:
    hashed = {
        "python",
        "shellscript",
        "ruby",
        "perl",
        "r",
        "yaml",
        "toml",
        "makefile",
        "dockerfile",
    }
    for language in languages.LANGUAGES:
        assert hash_comments(language.id) == (language.id in hashed)
    assert not hash_comments("cobol")


def test_test_file_convention_is_the_one_the_tests_action_uses() -> None:
    for language in languages.LANGUAGES:
        if language.test_file is None:
            continue
        for suffix in language.extensions:
            source = Path("pkg") / f"cart{suffix}"
            expected = language.test_file.format(stem="cart", suffix=suffix)
            assert plan_for(source, language.id).path.name == expected


def test_frameworks_for_tests() -> None:
    assert framework_for_tests("python") == "pytest"
    for language_id in ("javascript", "javascriptreact", "typescript", "typescriptreact"):
        assert framework_for_tests(language_id) == "jest"
    for alias in ("js", "jsx", "ts", "tsx"):
        assert framework_for_tests(alias) == "jest"
    assert framework_for_tests("go") == "go"
    assert framework_for_tests("rust") == "cargo"
    assert framework_for_tests("ruby") is None
    assert framework_for_tests("py") is None
