"""Real Chromium for browser tests: Debian's `chromium` package driven by Playwright, never a
downloaded browser. Missing Chromium fails the run under CI and skips elsewhere."""

from __future__ import annotations

import os
import shutil

import pytest

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def chromium_path() -> str:
    path = shutil.which("chromium")
    if path is None:
        message = "Debian's `chromium` is not installed (apt-get install chromium); browsers are never downloaded"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="module")
def browser():
    path = chromium_path()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield launched
        launched.close()
