"""BENCHMARKS.md is shared by several benchmark scripts: each replaces only its own section."""

from __future__ import annotations

import datetime as dt
import os
import platform
from pathlib import Path

PATH = Path(__file__).resolve().parents[1] / "BENCHMARKS.md"
HEADER = "# Benchmarks\n\nEach section says the machine it ran on and the command that produced it.\n"


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    mem = int(next(line.split()[1] for line in open("/proc/meminfo") if line.startswith("MemTotal"))) // 1024 // 1024
    return f"{os.cpu_count()} cores ({cpu}), {mem} GiB RAM, Python {platform.python_version()}"


def write_section(name: str, body: str, command: str) -> None:
    """Replace (or append) the section `name`, stamped with the machine, command and date."""
    start, end = f"<!-- section:{name} -->", f"<!-- /section:{name} -->"
    stamped = (f"{start}\n{body.rstrip()}\n\n_Machine: {machine()}. Command: `{command}`. "
               f"Date: {dt.date.today()}._\n{end}")
    text = PATH.read_text() if PATH.exists() else HEADER
    if start in text and end in text:
        before, rest = text.split(start, 1)
        text = before + stamped + rest.split(end, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + stamped + "\n"
    PATH.write_text(text)
