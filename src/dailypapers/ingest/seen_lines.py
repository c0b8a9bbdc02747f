"""Skip the input lines an earlier import already applied, without parsing them.

Re-importing a snapshot (arXiv's is republished weekly with a few thousand changed lines among
2.7 million) used to parse every line and read every paper back to find out that nothing
changed. Each line a paper import writes is now remembered by a digest of the line, of the format
and of the parsing code (`seen_records`, written in the same transaction as the paper); a later
import looks up a chunk's digests in one query and parses only the lines it has not seen.

The parsing code is part of the digest, so a release that parses differently re-reads every line
once. A digest only counts while its paper is stored (the lookup joins `papers`). Lines that were
seen are not merged again, so a later change from another source (a newer version from OAI-PMH,
say) is not overwritten by re-importing an older file that had already been applied.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from dailypapers.errors import ParseError
from dailypapers.models import Record

CHUNK_LINES = 1000
Known = Callable[[set[bytes]], set[bytes]]  # which of these digests an earlier import applied (store.seen)
_CODE = ("models.py", "ids.py", "names.py", "sources", "store/merge.py")  # what turns a line into what is stored


@dataclass
class Seen:
    """Lines skipped because an earlier import applied them (counted as unchanged records)."""

    count: int


@functools.cache
def code_digest(root: Path = Path(__file__).resolve().parents[1]) -> bytes:
    """A digest of the package's parsing code under `root`."""
    h = hashlib.blake2b(digest_size=16)
    for name in _CODE:
        path = root / name
        for file in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            h.update(file.relative_to(root).as_posix().encode() + b"\0" + file.read_bytes() + b"\0")
    return h.digest()


def salt(fmt: str) -> bytes:
    """What a line's digest covers besides the line: the format and the code that parses it."""
    return code_digest() + fmt.encode() + b"\0"


def digest(salt: bytes, line: bytes) -> bytes:
    return hashlib.blake2b(salt + line.rstrip(b"\r\n"), digest_size=16).digest()


def line_chunks(raw: BinaryIO, source: str, size: int = CHUNK_LINES) -> Iterator[list[tuple[int, bytes]] | ParseError]:
    """(line number, line) lists of non-blank lines; a read failure ends with a ParseError."""
    from dailypapers.sources.common import as_stream

    chunk: list[tuple[int, bytes]] = []
    lineno = 0
    try:
        for lineno, line in enumerate(as_stream(raw), 1):
            if line.strip():
                chunk.append((lineno, line))
                if len(chunk) >= size:
                    yield chunk
                    chunk = []
    except (OSError, EOFError, zlib.error) as exc:  # truncated or corrupt gzip: the message json_lines gives
        if chunk:
            yield chunk
        yield ParseError(f"unreadable input: {exc}", source, lineno + 1)
        return
    if chunk:
        yield chunk


def parse_lines(module: str, lines: list[tuple[int, bytes, bytes | None]], source: str) -> list[Record | ParseError]:
    """Parse (line number, line, digest) items with a line format's `paper` function; each
    record carries its line's digest."""
    from dailypapers.sources.common import paper_line

    to_paper = importlib.import_module(module).paper
    out: list[Record | ParseError] = []
    for lineno, line, line_digest in lines:
        item = paper_line(line, source, lineno, to_paper)
        if isinstance(item, Record):
            item.digest = line_digest
        out.append(item)
    return out


def none_known(_digests: set[bytes]) -> set[bytes]:
    """Known for an import that began with no line remembered: nothing to look up."""
    return set()


def unseen(known: Known | None, salt: bytes,
           chunk: list[tuple[int, bytes]]) -> tuple[list[tuple[int, bytes, bytes | None]], int]:
    """The chunk's lines `known` (store.seen) does not know, with their digests, and how many it
    knew; every line, without digests, when there is no `known`."""
    if known is None:
        return [(n, line, None) for n, line in chunk], 0
    digests = [digest(salt, line) for _, line in chunk]
    seen = known(set(digests))
    todo: list[tuple[int, bytes, bytes | None]] = [(n, line, d) for (n, line), d in zip(chunk, digests, strict=True)
                                                   if d not in seen]
    return todo, len(chunk) - len(todo)
