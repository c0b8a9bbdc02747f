"""Keys for author names: the same person written with or without accents maps to one page."""

from __future__ import annotations

import re
import unicodedata

_NON_WORD = re.compile(r"[^a-z0-9]+")


def author_key(name: str) -> str:
    # NFKD and dropping non-ASCII change nothing in an ASCII name (most of them): skip both
    ascii_name = name if name.isascii() else unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return _NON_WORD.sub("-", ascii_name.lower()).strip("-")[:255] or "unknown"
