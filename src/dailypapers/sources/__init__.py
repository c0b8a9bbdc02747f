"""Source formats: each parser turns bytes into `models.Record`s (or `errors.ParseError`s for bad
records) and never touches the network or the database. Fetching lives in `http` and `harvest`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from ..errors import ParseError
from ..models import Record
from . import abs, atom, hf, listings, oai, snapshot
from .common import open_path
from .harvest import Checkpoint, MemoryCheckpoint, OAIHarvester

Parser = Callable[[BinaryIO | bytes, str], Iterator[Record | ParseError]]

PARSERS: dict[str, Parser] = {
    "hf": hf.parse,
    "snapshot": snapshot.parse,
    "listings": listings.parse,
    "atom": atom.parse,
    "oai": oai.parse,
    "abs": abs.parse,
}


def parse_path(path: str | Path, fmt: str) -> Iterator[Record | ParseError]:
    """Parse a file (gzip or plain) in one of PARSERS' formats; for "abs", also a directory tree."""
    if fmt not in PARSERS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(PARSERS)}")
    if fmt == "abs":
        yield from abs.parse_paths([path])
        return
    try:
        stream = open_path(path)
    except OSError as exc:
        yield ParseError(f"cannot open: {exc.strerror or exc}", str(path))
        return
    with stream:
        yield from PARSERS[fmt](stream, str(path))


__all__ = ["PARSERS", "Checkpoint", "MemoryCheckpoint", "OAIHarvester", "abs", "atom", "hf", "listings", "oai",
           "parse_path", "snapshot"]
