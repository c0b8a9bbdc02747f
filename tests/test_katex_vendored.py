"""The KaTeX copy served from /static/katex/ is the one package.json pins (`make run` never runs
npm, so the app serves a vendored copy): the pin, the lock file and the copy's README agree, and
when `npm ci` has filled node_modules/ the copied files are byte for byte the package's."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
VENDORED = ROOT / "src" / "dailypapers" / "web" / "static" / "katex"
PACKAGE = ROOT / "node_modules" / "katex"
COPIED = {"katex.min.js": "dist/katex.min.js", "katex.min.css": "dist/katex.min.css",
          "auto-render.min.js": "dist/contrib/auto-render.min.js", "LICENSE": "LICENSE"}


def pinned() -> str:
    version = json.loads((ROOT / "package.json").read_text())["devDependencies"]["katex"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"pin KaTeX exactly, not {version!r}"
    return version


def test_pin_lock_and_copy_agree():
    version = pinned()
    lock = json.loads((ROOT / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/katex"]["version"] == version
    assert (VENDORED / "README.md").read_text().startswith(f"# KaTeX {version} (vendored)")
    assert f'version:"{version}"' in (VENDORED / "katex.min.js").read_text()
    fonts = sorted(p.name for p in (VENDORED / "fonts").iterdir())
    assert fonts and all(name.endswith(".woff2") for name in fonts)
    css = (VENDORED / "katex.min.css").read_text()
    assert set(re.findall(r"fonts/([\w-]+\.woff2)", css)) == set(fonts)  # every woff2 it asks for is here


def test_copy_is_the_packaged_files():
    if not (PACKAGE / "package.json").exists():
        pytest.skip("node_modules/katex is not installed (`npm ci`); the pin check above still ran")
    assert json.loads((PACKAGE / "package.json").read_text())["version"] == pinned()
    for name, source in COPIED.items():
        assert (VENDORED / name).read_bytes() == (PACKAGE / source).read_bytes(), name
    for font in (VENDORED / "fonts").iterdir():
        assert font.read_bytes() == (PACKAGE / "dist" / "fonts" / font.name).read_bytes(), font.name
