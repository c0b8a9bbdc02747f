"""How every command fails: one red line on stderr and an exit status. The library raises typed
errors (dailypapers.errors); commands catch them and call `fail`."""

from __future__ import annotations

from typing import NoReturn

import typer

from dailypapers import config
from dailypapers.errors import DailyPapersError
from dailypapers.progress import console


def fail(message: str, code: int = 1) -> NoReturn:
    """Print `error: message` and leave with `code` (2: the command line was wrong)."""
    console.print(f"[red]error:[/red] {message}", highlight=False, markup=True)
    raise typer.Exit(code)


def load_settings() -> config.Settings:
    """The settings, or a clear message about the one that is wrong."""
    try:
        return config.load()
    except DailyPapersError as exc:
        fail(str(exc))
