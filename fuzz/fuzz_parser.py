#!/usr/bin/env python3
"""Coverage-guided fuzzing of one source parser with atheris (libFuzzer under the hood).

    FUZZ_FORMAT=abs fuzz/fuzz_parser.py [libFuzzer flags] [CORPUS_DIR...]

The format comes from the environment, not the command line, because libFuzzer re-runs this
script with its own flags (merging, forking), with the virtual environment's python3 first on
PATH (fuzz/run.py sees to that). FUZZ_FORMAT is one of atom, oai, snapshot, hf, abs, listings. Every input goes through
harness.check: anything but a storable Record or a ParseError is a crash. `make fuzz`
(fuzz/run.py) runs each format for a bounded time and keeps the corpus and crashes in fuzz/."""

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
    if fmt not in harness.FORMATS:
        sys.exit(f"usage: FUZZ_FORMAT=FORMAT {argv[0]} [libFuzzer flags] [CORPUS...]; FORMAT in "
                 f"{', '.join(harness.FORMATS)}")

    def one_input(data: bytes) -> None:
        harness.check(fmt, data)

    atheris.Setup(argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
