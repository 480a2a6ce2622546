"""`ladder-lsp languages` prints the served languageIds, and the VS Code extension's copy of
them (client-vscode/languages.json, its document selector) is that output exactly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ladder_lsp.__main__ import main
from ladder_lsp.analysis.languages import served_languages

LANGUAGES_JSON = Path(__file__).resolve().parents[2] / "client-vscode" / "languages.json"


def test_prints_the_served_languages_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["languages"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == {"languages": list(served_languages())}
    languages = printed["languages"]
    assert languages == sorted(set(languages)), "sorted, each once"
    assert {"python", "typescript", "typescriptreact", "go", "rust"} <= set(languages)
    assert {"java", "c", "cpp", "shellscript"} <= set(languages), "no grammar, still served"


def test_the_vscode_document_selector_is_up_to_date(capsys: pytest.CaptureFixture[str]) -> None:
    main(["languages"])
    assert LANGUAGES_JSON.read_text(encoding="utf-8") == capsys.readouterr().out, (
        "client-vscode/languages.json is stale: run "
        "`ladder-lsp languages > client-vscode/languages.json`"
    )
