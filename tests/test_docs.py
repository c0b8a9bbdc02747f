"""The documentation says what the code does: the settings table is exactly the settings the code
declares, the command reference names every command, the README names the commands it promises,
and every relative link in the README and docs/ leads to a file (and heading) that exists."""

import re
from pathlib import Path

import pytest
import typer.main

from dailypapers import config
from dailypapers.cli import app

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
CONFIGURATION = DOCS / "configuration.md"
CLI = DOCS / "cli.md"
MARKDOWN = [README, *sorted(DOCS.glob("*.md"))]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def test_settings_table_matches_config():
    text = CONFIGURATION.read_text()
    table = text.split("<!-- settings-table")[1].split("<!-- /settings-table -->")[0]
    rows = [line for line in table.splitlines() if line.startswith("| `DAILYPAPERS_")]
    expected = [f"| `{name}` | `{default}` | {help_text} |" for name, default, help_text in config.describe()]
    assert rows == expected


def test_readme_names_the_commands_and_the_fast_path_first():
    text = README.read_text()
    assert "make run" in text and "make test" in text and "make check" in text
    testing = text.split("## Testing")[1].split("\n## ")[0]
    assert testing.index("make check") < testing.index("make test")
    assert "http://127.0.0.1:8000" in text


def _commands(group, prefix: str = "dailypapers") -> list[str]:
    names = []
    for name, command in sorted(group.commands.items()):
        names.append(f"{prefix} {name}")
        if hasattr(command, "commands"):
            names += _commands(command, f"{prefix} {name}")
    return names


def test_cli_reference_names_every_command():
    text = CLI.read_text()
    commands = _commands(typer.main.get_command(app))
    assert len(commands) > 15
    missing = [c for c in commands if not re.search(re.escape(c) + r"\b", text)]
    assert missing == []


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    return {_slug(line.lstrip("#")) for line in path.read_text().splitlines() if line.startswith("#")}


@pytest.mark.parametrize("page", MARKDOWN, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_lead_somewhere(page):
    broken = []
    for target in LINK.findall(page.read_text()):
        if re.match(r"^[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            broken.append(target)
        elif anchor and file.suffix == ".md" and anchor not in _anchors(file):
            broken.append(target)
    assert broken == []
