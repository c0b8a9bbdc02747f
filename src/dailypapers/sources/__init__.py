"""Source formats: each parser turns bytes into `models.Record`s (or `errors.ParseError`s for bad
records) and never touches the network or the database. `formats.FORMATS` is their registry;
fetching lives in `http` and `harvest`."""

from __future__ import annotations

from . import abs, atom, hf, listings, oai, snapshot
from .formats import FORMATS, Format, Parser, UnknownFormat
from .harvest import Checkpoint, MemoryCheckpoint, OAIHarvester

__all__ = ["FORMATS", "Checkpoint", "Format", "MemoryCheckpoint", "OAIHarvester", "Parser", "UnknownFormat", "abs",
           "atom", "hf", "listings", "oai", "snapshot"]
