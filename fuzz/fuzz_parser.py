#!/usr/bin/env python3
"""Coverage-guided fuzzing of one target with atheris (libFuzzer under the hood): a source parser,
or `redact` (the log redaction every access-log line goes through).

    FUZZ_FORMAT=abs fuzz/fuzz_parser.py [libFuzzer flags] [CORPUS_DIR...]

The target comes from the environment, not the command line, because libFuzzer re-runs this
script with its own flags (merging, forking), with the virtual environment's python3 first on
PATH (fuzz/run.py sees to that). FUZZ_FORMAT is one of atom, oai, snapshot, hf, abs, listings,
redact. Every input goes through harness.check_target: for a parser, anything but a storable
Record or a ParseError is a crash; for redact, see harness.check_redact. `make fuzz`
(fuzz/run.py) runs each target for a bounded time and keeps the corpus and crashes in fuzz/."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parent))

with atheris.instrument_imports(include=["dailypapers", "harness"]):
    import harness


def main(argv: list[str]) -> None:
    fmt = os.environ.get("FUZZ_FORMAT", "")
    if fmt not in harness.TARGETS:
        sys.exit(f"usage: FUZZ_FORMAT=TARGET {argv[0]} [libFuzzer flags] [CORPUS...]; TARGET in "
                 f"{', '.join(harness.TARGETS)}")

    def one_input(data: bytes) -> None:
        harness.check_target(fmt, data)

    atheris.Setup(argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
