"""The recorded Hugging Face answers the test site is built from (tests/conftest.py loads the last
HF_DAYS days of the archive), for comparing the API with them field by field."""

from __future__ import annotations

import functools
import gzip
import json

from support.paths import HF


@functools.cache
def _lines(days: int) -> tuple[bytes, ...]:
    with gzip.open(HF, "rb") as fh:
        return tuple(fh.read().splitlines()[-days:])


def recorded_days(days: int) -> list[tuple[str, list[dict]]]:
    """(YYYY-MM-DD, HF's `GET /api/daily_papers?date=` answer) for the last `days` days, oldest
    first; fresh objects on every call (huggingface_hub's PaperInfo pops what it reads)."""
    return [(d["date"], d["daily_papers"]) for d in map(json.loads, _lines(days))]


def key_universe(days: int) -> tuple[set[str], set[str]]:
    """Every key HF used on an entry, and on an entry's paper, in those days."""
    entry_keys: set[str] = set()
    paper_keys: set[str] = set()
    for _, entries in recorded_days(days):
        for entry in entries:
            entry_keys.update(entry)
            paper_keys.update(entry["paper"])
    return entry_keys, paper_keys
