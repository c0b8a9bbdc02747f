"""Parse one-paper-a-line JSON Lines files in other processes while this one writes.

This process reads the file (so byte progress and gzip handling stay where they were) and cuts it
into chunks of whole lines; parser processes (`python -m dailypapers.ingest.parallel`, talking pickles
over their stdin and stdout) turn each chunk into records. Chunks go to the parsers in turn and
each parser has one chunk at a time, so results come back in file order, at most one chunk per
parser is in flight (memory stays bounded however large the file), and a parser parses the next
chunk while this process writes the last one. Line numbers in records and errors are those of
the file, exactly as when it is parsed in this process.

Plain child processes rather than multiprocessing: nothing here re-imports the caller's main
module, and it is safe beside threads (progress bars, servers).
"""

from __future__ import annotations

import os
import pickle
import signal
import struct
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, BinaryIO

from dailypapers.errors import DailyPapersError, ParseError
from dailypapers.ingest.files import open_input
from dailypapers.ingest.seen_lines import Seen, line_chunks, parse_lines, salt, unseen
from dailypapers.models import Record
from dailypapers.sources import formats

CHUNK_LINES = 250  # ~0.5 MB of snapshot lines, and about as much pickled back
PIPE_BYTES = 1 << 20
_LENGTH = struct.Struct("<Q")


class ParserProcessFailed(DailyPapersError):
    pass


def parse_path_parallel(fmt: str, path: Path, workers: int, on_read: Callable[[int], None] | None = None,
                        known: Callable[[set[bytes]], set[bytes]] | None = None,
                        ) -> Iterator[Record | ParseError | Seen]:
    """Records and errors in file order; with `known` (store.seen), lines an earlier import
    applied are skipped here, before any parser sees them, and counted in Seen items."""
    if not path.exists():
        yield ParseError("no such file", str(path))
        return
    source, module, line_salt = str(path), formats.get(fmt).module_name, salt(fmt)
    parsers = [_Parser() for _ in range(max(1, workers))]
    try:
        with open_input(path, on_read) as raw:
            chunks = line_chunks(raw, source, CHUNK_LINES)
            busy: list[tuple[_Parser, int]] = []  # parsers holding a chunk, oldest first, and lines skipped
            failure: ParseError | None = None

            def feed(parser: _Parser) -> bool:
                nonlocal failure
                chunk = next(chunks, None) if failure is None else None
                if isinstance(chunk, ParseError):
                    failure, chunk = chunk, None
                if chunk is None:
                    return False
                todo, skipped = unseen(known, line_salt, chunk)
                parser.send((module, todo, source))
                busy.append((parser, skipped))
                return True

            for parser in parsers:
                feed(parser)
            while busy:
                parser, skipped = busy.pop(0)
                result = parser.receive()
                feed(parser)  # it parses the next chunk while we hand this one on
                if skipped:
                    yield Seen(skipped)
                yield from _unpacked(result)
            if failure is not None:
                yield failure
    finally:
        for parser in parsers:
            parser.close()


class _Parser:
    def __init__(self) -> None:
        package_root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")])))
        self.proc = subprocess.Popen([sys.executable, "-m", "dailypapers.ingest.parallel"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, env=env)
        assert self.proc.stdin is not None and self.proc.stdout is not None  # both are pipes
        self.stdin, self.stdout = self.proc.stdin, self.proc.stdout
        for stream in (self.stdin, self.stdout):
            _widen(stream)

    def send(self, task: tuple) -> None:
        _write(self.stdin, task)

    def receive(self) -> list:
        try:
            return _read(self.stdout)
        except EOFError:
            code = self.proc.wait()
            raise ParserProcessFailed(f"a parser process exited (status {code})") from None

    def close(self) -> None:
        for stream in (self.stdin, self.stdout):  # a parser still writing gets a broken pipe
            try:
                stream.close()
            except OSError:
                pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _widen(stream) -> None:
    """A 1 MiB pipe buffer (Linux; 64 KiB by default) holds a whole chunk, so neither side waits for the
    other to be scheduled 30 times a chunk on a busy machine."""
    try:
        import fcntl
        fcntl.fcntl(stream.fileno(), getattr(fcntl, "F_SETPIPE_SZ", 1031), PIPE_BYTES)
    except (ImportError, OSError):
        pass


def _write(stream: IO[bytes], obj) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_LENGTH.pack(len(data)))
    stream.write(data)
    stream.flush()


def _read(stream: IO[bytes]):
    head = stream.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        raise EOFError
    (size,) = _LENGTH.unpack(head)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return pickle.loads(data)


def parse_chunk(module: str, lines: list[tuple[int, bytes, bytes | None]], source: str) -> list:
    """Records, and errors as tuples (exceptions do not pickle with their fields)."""
    return [(item.message, item.source, item.line) if isinstance(item, ParseError) else item
            for item in parse_lines(module, lines, source)]


def _unpacked(items: list) -> Iterator[Record | ParseError]:
    for item in items:
        yield ParseError(*item) if isinstance(item, tuple) else item


def serve(stdin: BinaryIO, stdout: BinaryIO) -> None:
    """A parser process: read tasks until stdin closes, answer each with its parsed chunk."""
    while True:
        try:
            task = _read(stdin)
        except EOFError:
            return
        _write(stdout, parse_chunk(*task))


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the importer; its closed pipes stop us
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything printed goes to stderr, never into the answers
    sys.stdout = sys.stderr
    serve(sys.stdin.buffer, answers)
