"""Reading input files: directories walked, gzip read transparently, bytes read counted (so a
progress bar can show an ETA on compressed input)."""

from __future__ import annotations

import gzip
import io
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import BinaryIO


class _CountingReader(io.RawIOBase):
    """Wraps a file to report bytes read, so a progress bar can show an ETA on compressed input."""

    def __init__(self, raw: io.BufferedReader, on_read: Callable[[int], None] | None) -> None:
        self.raw, self.on_read = raw, on_read

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self.raw.readinto(buffer)
        if self.on_read and n:
            self.on_read(n)
        return n

    def close(self) -> None:
        self.raw.close()
        super().close()


def expand_paths(paths: Iterable[Path]) -> list[Path]:
    """The files named, with directories walked (sorted, hidden files left out)."""
    out: list[Path] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            out.extend(sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")))
        else:
            out.append(path)
    return out


def open_input(path: Path, on_read: Callable[[int], None] | None = None) -> BinaryIO:
    """The file's bytes (decompressed when it ends in .gz); `on_read` counts the bytes read from disk."""
    counted = io.BufferedReader(_CountingReader(open(path, "rb"), on_read), buffer_size=1 << 20)
    if path.suffix == ".gz":
        return io.BufferedReader(gzip.GzipFile(fileobj=counted), buffer_size=1 << 20)
    return counted


def total_bytes(paths: Iterable[Path]) -> int:
    """The size on disk of every file `paths` names (what a progress bar counts to)."""
    return sum(os.path.getsize(p) for p in expand_paths(paths) if Path(p).exists())
