"""Read-only queries for delivery: which papers are new in a window, a member's library (what they
upvoted and collected), and the few columns of papers that alerts and recommendations read."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import bindparam, func, select

from .convert import as_date
from .schema import (
    collection_items,
    collections,
    daily_entries,
    paper_authors,
    paper_categories,
    paper_vectors,
    papers,
    votes,
)

if TYPE_CHECKING:
    from .repo import Store


def listed_ids(store: Store, start: dt.date, end: dt.date) -> list[str]:
    """Papers on a daily list between two dates (inclusive), newest list day first."""
    query = (select(daily_entries.c.paper_id, daily_entries.c.date)
             .where(daily_entries.c.date >= start, daily_entries.c.date <= end)
             .order_by(daily_entries.c.date.desc(), daily_entries.c.paper_id))
    with store.engine.connect() as conn:
        return list(dict.fromkeys(r.paper_id for r in conn.execute(query)))


def published_ids(store: Store, since: dt.datetime, until: dt.datetime, limit: int = 5000) -> list[str]:
    """Papers first published on arXiv in (since, until], newest first (harvested papers that
    are on no daily list are found this way)."""
    query = (select(papers.c.id).where(papers.c.published > since, papers.c.published <= until)
             .order_by(papers.c.published.desc(), papers.c.id).limit(limit))
    with store.engine.connect() as conn:
        return list(conn.execute(query).scalars())


def latest_list_day(store: Store, on_or_before: dt.date) -> dt.date | None:
    """The last day with a daily list on or before a date."""
    with store.engine.connect() as conn:
        value = conn.execute(select(func.max(daily_entries.c.date))
                             .where(daily_entries.c.date <= on_or_before)).scalar()
    return as_date(value) if value else None


@dataclass(frozen=True)
class Library:
    """What a member keeps: upvoted papers, and papers in their collections (by collection name)."""

    upvoted: list[str]
    collected: dict[str, list[str]]  # paper id -> names of the collections holding it

    @property
    def ids(self) -> list[str]:
        return list(dict.fromkeys([*self.upvoted, *self.collected]))


def library(store: Store, user_id: int) -> Library:
    with store.engine.connect() as conn:
        upvoted = list(conn.execute(select(votes.c.paper_id).where(votes.c.user_id == user_id)
                                    .order_by(votes.c.created_at.desc(), votes.c.paper_id)).scalars())
        collected: dict[str, list[str]] = {}
        query = (select(collection_items.c.paper_id, collections.c.name)
                 .select_from(collection_items.join(collections, collections.c.id == collection_items.c.collection_id))
                 .where(collections.c.user_id == user_id)
                 .order_by(collection_items.c.added_at.desc(), collection_items.c.paper_id))
        for row in conn.execute(query):
            collected.setdefault(row.paper_id, []).append(row.name)
    return Library(upvoted, collected)


_TEXTS = select(papers.c.id, papers.c.title, papers.c.abstract).where(papers.c.id.in_(bindparam("ids", expanding=True)))


def texts(store: Store, ids: Sequence[str], chunk: int = 1000) -> dict[str, tuple[str, str]]:
    """paper id -> (title, abstract) of those of `ids` that are stored: only the two columns
    recommendations read, not whole paper records."""
    out: dict[str, tuple[str, str]] = {}
    wanted = list(dict.fromkeys(ids))
    with store.engine.connect() as conn:
        for start in range(0, len(wanted), chunk):
            for pid, title, abstract in conn.execute(_TEXTS, {"ids": wanted[start:start + chunk]}).all():
                out[pid] = (title or "", abstract or "")
    return out


@dataclass(frozen=True)
class Tags:
    """What follows match a paper on: its authors (name, name key) and categories, in order."""

    authors: list[tuple[str, str]]
    categories: list[str]


def tags(store: Store, ids: Sequence[str], chunk: int = 1000) -> dict[str, Tags]:
    """paper id -> its authors and categories (every id of `ids` gets an entry)."""
    wanted = list(dict.fromkeys(ids))
    out = {pid: Tags([], []) for pid in wanted}
    with store.engine.connect() as conn:
        for start in range(0, len(wanted), chunk):
            part = wanted[start:start + chunk]
            for row in conn.execute(select(paper_authors.c.paper_id, paper_authors.c.name, paper_authors.c.name_key)
                                    .where(paper_authors.c.paper_id.in_(part))
                                    .order_by(paper_authors.c.paper_id, paper_authors.c.position)):
                out[row.paper_id].authors.append((row.name, row.name_key))
            for cat in conn.execute(select(paper_categories.c.paper_id, paper_categories.c.category)
                                    .where(paper_categories.c.paper_id.in_(part))
                                    .order_by(paper_categories.c.paper_id, paper_categories.c.position)):
                out[cat.paper_id].categories.append(cat.category)
    return out


def vector_model(store: Store, preferred: str) -> str | None:
    """`preferred` when some paper has a vector of it (one indexed read, not a count of every
    vector), else the model with the most vectors; None without vectors."""
    with store.engine.connect() as conn:
        if conn.execute(select(paper_vectors.c.paper_id).where(paper_vectors.c.model == preferred).limit(1)).first():
            return preferred
        counts = conn.execute(select(paper_vectors.c.model, func.count()).group_by(paper_vectors.c.model)
                              .order_by(func.count().desc(), paper_vectors.c.model).limit(1)).first()
    return counts.model if counts else None


def stored_vectors(store: Store, model_id: str, ids: Sequence[str], chunk: int = 1000) -> tuple[list[str], np.ndarray]:
    """(the ids of `ids` with a vector of `model_id`, in that order; their vectors as float32 rows):
    only the vector column, not the key phrases or hashes a full read converts."""
    wanted = list(dict.fromkeys(ids))
    blobs: dict[str, tuple[int, bytes]] = {}
    with store.engine.connect() as conn:
        for start in range(0, len(wanted), chunk):
            part = wanted[start:start + chunk]
            query = (select(paper_vectors.c.paper_id, paper_vectors.c.dim, paper_vectors.c.vector)
                     .where(paper_vectors.c.model == model_id, paper_vectors.c.paper_id.in_(part)))
            blobs.update((row.paper_id, (row.dim, bytes(row.vector))) for row in conn.execute(query))
    found = [pid for pid in wanted if pid in blobs]
    dim = blobs[found[0]][0] if found else 0
    # a model has one dimension: a row of another size (damaged) is left out
    found = [pid for pid in found if blobs[pid][0] == dim and len(blobs[pid][1]) == 4 * dim]
    matrix = np.frombuffer(b"".join(blobs[pid][1] for pid in found), dtype="<f4").astype(np.float32)
    return found, matrix.reshape(len(found), dim)
