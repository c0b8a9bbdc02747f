"""arXiv identifiers, old style (`hep-th/9901001v2`) and new style (`2405.15738v1`)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import InvalidArxivId

# ASCII digits only: `\d` alone also matches "٢٤٠٥" or "２４０５", which int() reads, so such text
# would become an id that is not the ASCII one it stands for (a second key for the same paper)
_NEW = re.compile(r"(?P<id>\d{4}\.\d{4,5})(?:v(?P<v>\d+))?", re.ASCII)
_OLD = re.compile(r"(?P<id>[a-z][a-z\-]*(?:\.[A-Z]{2})?/\d{7})(?:v(?P<v>\d+))?", re.ASCII)
_PREFIXES = ("arxiv:", "oai:arxiv.org:")
_URL = re.compile(r"^(?:https?://)?(?:www\.|export\.)?arxiv\.org/(?:abs|pdf|html)/(?P<rest>[^?#]+?)(?:\.pdf)?/?(?:[?#].*)?$",
                  re.I)


@dataclass(frozen=True)
class ArxivId:
    id: str
    version: int | None = None

    def __str__(self) -> str:
        return self.id if self.version is None else f"{self.id}v{self.version}"

    @property
    def is_old_style(self) -> bool:
        return "/" in self.id


def parse(raw: str) -> ArxivId:
    """Parse an id, an `arXiv:` or OAI identifier, or an arxiv.org abs/pdf URL."""
    if not isinstance(raw, str):
        raise InvalidArxivId(repr(raw))
    text = raw.strip()
    url = _URL.match(text)
    if url:
        text = url.group("rest")
    lowered = text.lower()
    for prefix in _PREFIXES:
        if lowered.startswith(prefix):
            text = text[len(prefix):]
            break
    for pattern in (_NEW, _OLD):
        m = pattern.fullmatch(text)
        if m:
            return _validated(m.group("id"), m.group("v"), raw)
    raise InvalidArxivId(raw)


def _validated(ident: str, version: str | None, raw: str) -> ArxivId:
    if "/" not in ident:
        year, month, digits = int(ident[:2]), int(ident[2:4]), len(ident.split(".")[1])
        five_digit_era = year >= 15  # numbers have five digits from 1501 on, four before
        if not 1 <= month <= 12 or (digits == 5) != five_digit_era or (year, month) < (7, 4):
            raise InvalidArxivId(raw)
    v = int(version) if version is not None else None
    if v == 0:
        raise InvalidArxivId(raw)
    return ArxivId(ident, v)


def normalize(raw: str) -> str:
    """The id without its version: the key papers are stored under."""
    return parse(raw).id


def is_valid(raw: str) -> bool:
    try:
        parse(raw)
    except InvalidArxivId:
        return False
    return True
