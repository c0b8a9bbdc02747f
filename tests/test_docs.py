"""The README documents exactly the settings the code declares."""

from pathlib import Path

from dailypapers import config

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_settings_table_matches_config():
    text = README.read_text()
    table = text.split("<!-- settings-table")[1].split("<!-- /settings-table -->")[0]
    rows = [line for line in table.splitlines() if line.startswith("| `DAILYPAPERS_")]
    expected = [f"| `{name}` | `{default}` | {help_text} |" for name, default, help_text in config.describe()]
    assert rows == expected


def test_readme_names_the_two_commands():
    text = README.read_text()
    assert "make run" in text and "make test" in text
