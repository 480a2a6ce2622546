"""README.md stays true: its settings table is the server's own definition."""

from __future__ import annotations

from pathlib import Path

from ladder_lsp.settings_schema import settings_table

README = Path(__file__).resolve().parents[2] / "README.md"


def test_settings_table_matches_the_settings_definition() -> None:
    text = README.read_text(encoding="utf-8")
    start = text.index("<!-- settings:begin -->\n") + len("<!-- settings:begin -->\n")
    end = text.index("<!-- settings:end -->")
    assert text[start:end].strip() == settings_table(), (
        "README settings table is stale: run `ladder-lsp settings-schema --markdown`"
    )


def test_readme_example_file_exists_with_the_lines_it_names() -> None:
    example = README.parent / "examples" / "shapes.py"
    lines = example.read_text(encoding="utf-8").splitlines()
    assert lines[3].startswith("def area"), "README: docstring examples/shapes.py:4-5"
    assert lines[7].startswith("def describe") and lines[15].strip() == "return out"
