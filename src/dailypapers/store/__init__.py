"""The store: the only code that writes SQL."""

from .db import make_engine, migrate
from .repo import Store

__all__ = ["Store", "make_engine", "migrate"]
