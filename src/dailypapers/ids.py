"""arXiv identifiers, old style (`hep-th/9901001v2`) and new style (`2405.15738v1`), also as
`arXiv:` / OAI identifiers and as links to the paper on arxiv.org or huggingface.co/papers."""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

from .errors import InvalidArxivId

# ASCII digits only: `\d` alone also matches "٢٤٠٥" or "２４０５", which int() reads, so such text
# would become an id that is not the ASCII one it stands for (a second key for the same paper)
_NEW = re.compile(r"(?P<id>\d{4}\.\d{4,5})(?:v(?P<v>\d+))?", re.ASCII)
_OLD = re.compile(r"(?P<id>[a-z][a-z\-]*(?:\.[A-Z]{2})?/\d{7})(?:v(?P<v>\d+))?", re.ASCII)
_PREFIXES = ("arxiv:", "oai:arxiv.org:")
_URL = re.compile(r"^(?:https?://)?(?:www\.|export\.)?arxiv\.org/(?:abs|pdf|html)/(?P<rest>[^?#]+?)(?:\.pdf)?/?(?:[?#].*)?$",
                  re.I)
_HF_URL = re.compile(r"^(?:https?://)?(?:www\.)?(?:huggingface\.co|hf\.co)/papers/(?P<rest>[^?#]+?)/?(?:[?#].*)?$",
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
    """Parse an id, an `arXiv:` or OAI identifier, an arxiv.org abs/pdf/html URL or a Hugging
    Face paper page URL (`https://huggingface.co/papers/2405.15738`)."""
    if not isinstance(raw, str):
        raise InvalidArxivId(repr(raw))
    text = raw.strip()
    url = _URL.match(text) or _HF_URL.match(text)
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


# The archives of old-style ids, a closed set: arXiv stopped creating them in April 2007.
_OLD_ARCHIVES = (
    "acc-phys", "adap-org", "alg-geom", "ao-sci", "astro-ph", "atom-ph", "bayes-an", "chao-dyn", "chem-ph",
    "cmp-lg", "comp-gas", "cond-mat", "cs", "dg-ga", "funct-an", "gr-qc", "hep-ex", "hep-lat", "hep-ph",
    "hep-th", "math", "math-ph", "mtrl-th", "nlin", "nucl-ex", "nucl-th", "patt-sol", "physics", "plasm-ph",
    "q-alg", "q-bio", "quant-ph", "solv-int", "supr-con",
)
_OLD_SLOT = 11_000_000  # room for one archive's numbers: (year since 1900) * 100_000 + month * 1000 + n
_NEW_BASE = 2**32 - 1_000_000_000  # new-style ranks, up to 9912 * 100_000 + 99_999 above it
_OLD_SLOTS = _NEW_BASE // _OLD_SLOT


def order_rank(arxiv_id: str) -> int:
    """A number below 2**32 that orders stored ids as arXiv numbered them, newer higher.

    New-style ids (YYMM * 100_000 + number) rank above old-style ones, which get one band per
    archive, ordered by date within it. Distinct for distinct papers (a subject-class form such
    as math.AG/0101001 ranks as math/0101001, the same paper), so it breaks ties between papers of
    the same date the same way on every node. An archive this table lacks shares a band
    picked by CRC-32, and a non-arXiv key ranks by its CRC-32: still the same on every node."""
    m = _NEW.fullmatch(arxiv_id)
    if m and m.group("v") is None:
        yymm, seq = arxiv_id.split(".")
        return _NEW_BASE + int(yymm) * 100_000 + int(seq)
    m = _OLD.fullmatch(arxiv_id)
    if m and m.group("v") is None:
        archive, digits = arxiv_id.split("/")
        archive = archive.split(".")[0]  # math.AG/0101001 is math/0101001
        year, month, number = int(digits[:2]), int(digits[2:4]), int(digits[4:])
        year += 100 if year < 91 else 0  # 9108… (1991) to 0703… (2007)
        within = year * 100_000 + month * 1000 + number
        if archive in _OLD_ARCHIVES:
            return _OLD_ARCHIVES.index(archive) * _OLD_SLOT + within
        slot = len(_OLD_ARCHIVES) + zlib.crc32(archive.encode()) % (_OLD_SLOTS - len(_OLD_ARCHIVES))
        return slot * _OLD_SLOT + within
    return zlib.crc32(arxiv_id.encode())
