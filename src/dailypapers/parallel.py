"""Parse one-paper-a-line JSON Lines files in other processes while this one writes.

This process reads the file (so byte progress and gzip handling stay where they were) and cuts it
into chunks of whole lines; parser processes (`python -m dailypapers.parallel`, talking pickles
over their stdin and stdout) turn each chunk into records. Chunks go to the parsers in turn and
each parser has one chunk at a time, so results come back in file order, at most one chunk per
parser is in flight (memory stays bounded however large the file), and a parser parses the next
chunk while this process writes the last one. Line numbers in records and errors are those of
the file, exactly as when it is parsed in this process.

Plain child processes rather than multiprocessing: nothing here re-imports the caller's main
module, and it is safe beside threads (progress bars, servers).
"""

from __future__ import annotations

import importlib
import os
import pickle
import signal
import struct
import subprocess
import sys
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from .errors import DailyPapersError, ParseError
from .models import Record

CHUNK_LINES = 250  # ~0.5 MB of snapshot lines, and about as much pickled back
PIPE_BYTES = 1 << 20
_LENGTH = struct.Struct("<Q")


class ParserProcessFailed(DailyPapersError):
    pass


def parse_path_parallel(fmt: str, path: Path, workers: int,
                        on_read: Callable[[int], None] | None = None) -> Iterator[Record | ParseError]:
    from .importer import FORMATS, open_input

    if not path.exists():
        yield ParseError("no such file", str(path))
        return
    source, module = str(path), f"dailypapers.sources.{FORMATS[fmt][0]}"
    parsers = [_Parser() for _ in range(max(1, workers))]
    try:
        with open_input(path, on_read) as raw:
            chunks = _line_chunks(raw, source)
            busy: list[_Parser] = []  # parsers holding a chunk, oldest first
            failure: ParseError | None = None

            def feed(parser: _Parser) -> bool:
                nonlocal failure
                chunk = next(chunks, None) if failure is None else None
                if isinstance(chunk, ParseError):
                    failure, chunk = chunk, None
                if chunk is None:
                    return False
                parser.send((module, chunk[1], chunk[0], source))
                busy.append(parser)
                return True

            for parser in parsers:
                feed(parser)
            while busy:
                parser = busy.pop(0)
                result = parser.receive()
                feed(parser)  # it parses the next chunk while we hand this one on
                yield from _unpacked(result)
            if failure is not None:
                yield failure
    finally:
        for parser in parsers:
            parser.close()


class _Parser:
    def __init__(self) -> None:
        package_root = str(Path(__file__).resolve().parents[1])
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")])))
        self.proc = subprocess.Popen([sys.executable, "-m", "dailypapers.parallel"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, env=env)
        for stream in (self.proc.stdin, self.proc.stdout):
            _widen(stream)

    def send(self, task: tuple) -> None:
        _write(self.proc.stdin, task)

    def receive(self) -> list:
        try:
            return _read(self.proc.stdout)
        except EOFError:
            code = self.proc.wait()
            raise ParserProcessFailed(f"a parser process exited (status {code})") from None

    def close(self) -> None:
        for stream in (self.proc.stdin, self.proc.stdout):  # a parser still writing gets a broken pipe
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


def _write(stream: BinaryIO, obj) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_LENGTH.pack(len(data)))
    stream.write(data)
    stream.flush()


def _read(stream: BinaryIO):
    head = stream.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        raise EOFError
    (size,) = _LENGTH.unpack(head)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return pickle.loads(data)


def _line_chunks(raw: BinaryIO, source: str) -> Iterator[tuple[int, bytes] | ParseError]:
    """(number of the chunk's first line, the lines) pieces; a read failure ends with a ParseError."""
    from .sources.common import as_stream

    lines: list[bytes] = []
    first = 1
    try:
        for lineno, line in enumerate(as_stream(raw), 1):
            lines.append(line)
            if len(lines) >= CHUNK_LINES:
                yield first, b"".join(lines)
                lines, first = [], lineno + 1
    except (OSError, EOFError, zlib.error) as exc:  # truncated or corrupt gzip: the message json_lines gives
        if lines:
            yield first, b"".join(lines)
        yield ParseError(f"unreadable input: {exc}", source, first + len(lines))
        return
    if lines:
        yield first, b"".join(lines)


def parse_chunk(module: str, blob: bytes, first_line: int, source: str) -> list:
    """Records, and errors as tuples (exceptions do not pickle with their fields)."""
    parse = importlib.import_module(module).parse
    # A leading blank line (skipped by the parser) keeps a chunk from ever looking like gzip.
    offset = first_line - 2
    out: list = []
    for item in parse(b"\n" + blob, source):
        if isinstance(item, ParseError):
            out.append((item.message, item.source, None if item.line is None else item.line + offset))
        else:
            if item.line is not None:
                item.line += offset
            out.append(item)
    return out


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
