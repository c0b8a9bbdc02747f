"""docs/architecture.md's package map stays true both ways: it names every package under
src/dailypapers (a directory with an __init__.py, e.g. `cli/`, `search/encoder/`), and every
package it names exists. The README's shorter map names every top-level package."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "dailypapers"
ARCHITECTURE = ROOT / "docs" / "architecture.md"
README = ROOT / "README.md"
FIRST_CELL = re.compile(r"^\|\s*`([a-z_][a-z0-9_/]*/)`\s*\|")


def subpackages() -> set[str]:
    """`cli/`, `search/encoder/`, …: every directory below the package with an __init__.py."""
    return {init.parent.relative_to(PACKAGE).as_posix() + "/"
            for init in PACKAGE.rglob("__init__.py") if init.parent != PACKAGE}


def named_in(table: str) -> set[str]:
    """The packages a map table names: the backquoted `path/` in the first cell of each row."""
    return {m[1] for line in table.splitlines() if (m := FIRST_CELL.match(line))}


def package_map() -> str:
    text = ARCHITECTURE.read_text()
    assert "<!-- package-map" in text and "<!-- /package-map -->" in text, "the package map's markers are gone"
    return text.split("<!-- package-map")[1].split("<!-- /package-map -->")[0]


def test_the_tree_has_the_packages_this_test_expects():
    found = subpackages()
    assert {"cli/", "ingest/", "store/", "search/encoder/", "web/routes/", "web/render/"} <= found
    assert not any("__pycache__" in name for name in found)


def test_every_package_is_in_the_architecture_map():
    missing = sorted(subpackages() - named_in(package_map()))
    assert missing == [], f"add these packages to docs/architecture.md's package map: {missing}"


def test_every_package_in_the_architecture_map_exists():
    stale = sorted(named_in(package_map()) - subpackages())
    assert stale == [], f"docs/architecture.md's package map names packages that do not exist: {stale}"


def test_the_readme_map_names_every_top_level_package():
    top = {name for name in subpackages() if name.count("/") == 1}
    section = README.read_text().split("## Package map")[1].split("\n## ")[0]
    assert named_in(section) == top
