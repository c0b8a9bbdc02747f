"""The one registry of source formats: each name `dailypapers import` accepts, the module whose
`parse(data, source)` reads it, and how the importer may feed it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import BinaryIO

from ..errors import DailyPapersError, ParseError
from ..models import Record
from . import abs, atom, hf, listings, oai, snapshot

Parser = Callable[[BinaryIO | bytes, str], Iterator[Record | ParseError]]


class UnknownFormat(DailyPapersError):
    pass


@dataclass(frozen=True)
class Format:
    name: str
    module: ModuleType
    streams: bool  # parse reads a stream of JSON Lines; the others take the whole document's bytes
    one_paper_a_line: bool  # its lines parse on their own (the module's `paper(obj)`): chunks of lines
    #                         can go to parser processes, and lines an earlier import applied are skipped
    help: str

    @property
    def parse(self) -> Parser:
        return self.module.parse

    @property
    def module_name(self) -> str:
        """What a parser process imports (modules do not pickle)."""
        return self.module.__name__


FORMATS: dict[str, Format] = {f.name: f for f in (
    Format("hf", hf, True, False,
           "Hugging Face daily papers: the day-per-line JSON Lines archive or a raw /api/daily_papers response"),
    Format("snapshot", snapshot, True, True,
           "arXiv bulk metadata snapshot (arxiv-metadata-oai-snapshot.json, JSON Lines)"),
    Format("listings", listings, True, True,
           "daily arXiv listing JSON Lines (id, title, summary, authors, categories, announced)"),
    Format("atom", atom, False, False, "arXiv API Atom responses"),
    Format("oai", oai, False, False, "OAI-PMH ListRecords/GetRecord responses (metadataPrefix=arXiv)"),
    Format("abs", abs, False, False, "arXiv .abs metadata files (a directory is walked)"),
)}


def get(name: str) -> Format:
    """The format called `name`; UnknownFormat names the ones there are."""
    try:
        return FORMATS[name]
    except KeyError:
        raise UnknownFormat(f"unknown format {name!r}; choose one of: {', '.join(FORMATS)}") from None
