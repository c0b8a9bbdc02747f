"""The Store: every query and write the application makes, on SQLite or PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from sqlalchemy import Engine, and_, delete, func, insert, or_, select, update
from sqlalchemy.engine import Connection

from ..errors import NotFound, StorageError
from ..models import DailyEntry, Paper, Record
from . import convert
from .bulk import insert_dicts
from .changes import record_changes
from .db import display_url, make_engine, migrate
from .entries import latest_entries_in
from .merge import merge
from .schema import (
    checkpoints,
    daily_entries,
    paper_authors,
    paper_categories,
    paper_changes,
    paper_links,
    paper_versions,
    papers,
    seen_records,
)
from .sqlutil import insert_many_ignore, storage_errors

if TYPE_CHECKING:
    from .accounts import Accounts
    from .collections import Collections, Follows
    from .comments import Comments
    from .fulltext import FullTexts
    from .jobs import Jobs
    from .outbox import Outbox
    from .ratelimits import RateLimits
    from .saved_searches import FeedTokens, NotInterested, SavedSearches
    from .sessions import Sessions
    from .submissions import Submissions
    from .subscriptions import Subscriptions
    from .votes import Votes

_CHILDREN = {
    "authors": (paper_authors, paper_authors.c.position),
    "categories": (paper_categories, paper_categories.c.position),
    "versions": (paper_versions, paper_versions.c.version),
    "links": (paper_links, paper_links.c.id),
}
_IN_CHUNK = 500


@dataclass
class WriteSummary:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    entries_written: int = 0

    def add(self, other: "WriteSummary") -> None:
        self.inserted += other.inserted
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.entries_written += other.entries_written


@dataclass
class Listed:
    """A paper as a list shows it: the paper, and its daily entry when it has one."""

    paper: Paper
    entry: DailyEntry | None = None


@dataclass
class Page:
    items: list[Listed]
    total: int
    offset: int = 0
    limit: int = 30
    extra: dict = field(default_factory=dict)


def _chunks(items: Sequence, size: int = _IN_CHUNK) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


class Store:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str, *, migrate_schema: bool = True) -> "Store":
        """The store at `url`, its schema brought up to date; StorageError (one line, no password)
        when the database cannot be opened or written (a read-only directory, a full disk)."""
        what = f"cannot open the database {display_url(url)}"
        try:
            with storage_errors(what):
                engine = make_engine(url)
                if migrate_schema:
                    migrate(engine)
        except OSError as exc:  # the SQLite file's directory could not be made
            raise StorageError(f"{what}: {exc.strerror or exc}") from exc
        return cls(engine)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def close(self) -> None:
        self.engine.dispose()

    # -- community (issue 4): each part's SQL lives in its own module -------------------

    @cached_property
    def accounts(self) -> "Accounts":
        from .accounts import Accounts
        return Accounts(self)

    @cached_property
    def sessions(self) -> "Sessions":
        from .sessions import Sessions
        return Sessions(self)

    @cached_property
    def votes(self) -> "Votes":
        from .votes import Votes
        return Votes(self)

    @cached_property
    def comments(self) -> "Comments":
        from .comments import Comments
        return Comments(self)

    @cached_property
    def collections(self) -> "Collections":
        from .collections import Collections
        return Collections(self)

    @cached_property
    def follows(self) -> "Follows":
        from .collections import Follows
        return Follows(self)

    @cached_property
    def submissions(self) -> "Submissions":
        from .submissions import Submissions
        return Submissions(self)

    # -- delivery (issue 5): subscriptions, saved searches, outbox, jobs -------------------

    @cached_property
    def subscriptions(self) -> "Subscriptions":
        from .subscriptions import Subscriptions
        return Subscriptions(self)

    @cached_property
    def saved_searches(self) -> "SavedSearches":
        from .saved_searches import SavedSearches
        return SavedSearches(self)

    @cached_property
    def not_interested(self) -> "NotInterested":
        from .saved_searches import NotInterested
        return NotInterested(self)

    @cached_property
    def feed_tokens(self) -> "FeedTokens":
        from .saved_searches import FeedTokens
        return FeedTokens(self)

    @cached_property
    def outbox(self) -> "Outbox":
        from .outbox import Outbox
        return Outbox(self)

    @cached_property
    def jobs(self) -> "Jobs":
        from .jobs import Jobs
        return Jobs(self)

    @cached_property
    def rate_limits(self) -> "RateLimits":
        from .ratelimits import RateLimits
        return RateLimits(self)

    @cached_property
    def fulltext(self) -> "FullTexts":
        from .fulltext import FullTexts
        return FullTexts(self)

    # -- writing -------------------------------------------------------------------------

    def write(self, records: Sequence[Record]) -> WriteSummary:
        """Merge a batch of records into the store in one transaction; unchanged rows are not touched."""
        summary = WriteSummary()
        if not records:
            return summary
        now = dt.datetime.now(dt.timezone.utc)
        with self.engine.begin() as conn:
            ids = list(dict.fromkeys(r.paper.arxiv_id for r in records))
            existing = self._load(conn, ids)
            merged = dict(existing)
            for r in records:
                merged[r.paper.arxiv_id] = merge(merged.get(r.paper.arxiv_id), r.paper)
            changed = []
            for pid in ids:
                if pid not in existing:
                    summary.inserted += 1
                    changed.append(merged[pid])
                elif merged[pid] != existing[pid]:
                    summary.updated += 1
                    changed.append(merged[pid])
                else:
                    summary.unchanged += 1
            self._save_papers(conn, changed, set(existing), now)
            entry_papers = self._save_entries(conn, [r.daily for r in records if r.daily])
            summary.entries_written = len(entry_papers)
            touched = {p.arxiv_id for p in changed} | set(entry_papers)
            record_changes(conn, sorted(touched), now)
            self._remember_lines(conn, records)
        return summary

    def seen(self, digests: set[bytes]) -> set[bytes]:
        """Those of `digests` (input lines, ingest/seen_lines.py) that an import applied to a paper still stored."""
        found: set[bytes] = set()
        query = select(seen_records.c.digest).join(papers, papers.c.id == seen_records.c.paper_id)
        with self.engine.connect() as conn:
            for chunk in _chunks(sorted(digests)):
                found.update(bytes(d) for d in conn.execute(query.where(seen_records.c.digest.in_(chunk))).scalars())
        return found

    def _remember_lines(self, conn: Connection, records: Sequence[Record]) -> None:
        rows = {r.digest: r.paper.arxiv_id for r in records if r.digest is not None}
        # a digest is already there when another import of the same file got in first
        insert_many_ignore(conn, seen_records, ("digest", "paper_id"), list(rows.items()))

    def analyze(self) -> None:
        """Refresh PostgreSQL's planner statistics after a bulk write. Without them (autovacuum off or
        not yet round) it guesses row counts from nothing and the paper pages' child-table lookups
        took ~300 ms instead of ~40 at 300k papers. SQLite's planner needs none here."""
        if self.is_sqlite:
            return
        with self.engine.begin() as conn:
            for table in (papers, paper_authors, paper_categories, paper_versions, paper_links, daily_entries,
                          paper_changes, seen_records):
                conn.exec_driver_sql(f'ANALYZE "{table.name}"')

    def _save_papers(self, conn: Connection, changed: list[Paper], known: set[str], now: dt.datetime) -> None:
        if not changed:
            return
        new = [convert.paper_row(p, now) for p in changed if p.arxiv_id not in known]
        old = [p for p in changed if p.arxiv_id in known]
        insert_dicts(conn, papers, new)
        for p in old:
            row = convert.paper_row(p, now)
            conn.execute(update(papers).where(papers.c.id == p.arxiv_id).values(**row))
        old_ids = [p.arxiv_id for p in old]
        rows: dict[str, list[dict]] = defaultdict(list)
        for p in changed:
            for name, items in convert.child_rows(p).items():
                rows[name].extend(items)
        for name, (table, _order) in _CHILDREN.items():
            for chunk in _chunks(old_ids):
                conn.execute(delete(table).where(table.c.paper_id.in_(chunk)))
            insert_dicts(conn, table, rows[name])

    def _save_entries(self, conn: Connection, entries: list[DailyEntry]) -> list[str]:
        """Write entries that are new or differ from the stored snapshot; return their paper ids."""
        latest: dict[tuple[str, dt.date], dict] = {}
        for e in entries:
            latest[(e.arxiv_id, e.date)] = convert.entry_row(e)
        if not latest:
            return []
        current = {}
        for chunk in _chunks(sorted({pid for pid, _ in latest})):
            for old in conn.execute(select(daily_entries).where(daily_entries.c.paper_id.in_(chunk))):
                current[(old.paper_id, convert.as_date(old.date))] = convert.entry_row(convert.entry_from_row(old))
        insert_dicts(conn, daily_entries, [row for key, row in latest.items() if key not in current])
        written: list[str] = []
        for key, row in latest.items():
            if key in current:
                if current[key] == row:
                    continue
                conn.execute(update(daily_entries).where(and_(
                    daily_entries.c.paper_id == key[0], daily_entries.c.date == key[1])).values(**row))
            written.append(key[0])
        return written

    # -- reading papers ------------------------------------------------------------------

    def _load(self, conn: Connection, ids: Sequence[str]) -> dict[str, Paper]:
        out: dict[str, Paper] = {}
        for chunk in _chunks(list(ids)):
            rows = {r.id: r for r in conn.execute(select(papers).where(papers.c.id.in_(chunk)))}
            if not rows:
                continue
            children = {}
            for name, (table, order) in _CHILDREN.items():
                grouped = defaultdict(list)
                query = select(table).where(table.c.paper_id.in_(list(rows))).order_by(table.c.paper_id, order)
                for child in conn.execute(query):
                    grouped[child.paper_id].append(child)
                children[name] = grouped
            for pid, row in rows.items():
                out[pid] = convert.paper_from_rows(
                    row, children["authors"][pid], children["categories"][pid],
                    children["versions"][pid], children["links"][pid])
        return out

    def papers_by_ids(self, ids: Sequence[str]) -> dict[str, Paper]:
        with self.engine.connect() as conn:
            return self._load(conn, ids)

    def get_paper(self, arxiv_id: str) -> Paper:
        found = self.papers_by_ids([arxiv_id])
        if arxiv_id not in found:
            raise NotFound(f"no paper with id {arxiv_id}")
        return found[arxiv_id]

    def entries_for(self, arxiv_id: str) -> list[DailyEntry]:
        query = select(daily_entries).where(daily_entries.c.paper_id == arxiv_id).order_by(daily_entries.c.date)
        with self.engine.connect() as conn:
            return [convert.entry_from_row(r) for r in conn.execute(query)]

    def iter_papers(self, ids: Iterable[str] | None = None, batch: int = 2000) -> Iterator[Paper]:
        """Every paper (or those in `ids`), in batches, for rebuilding indexes."""
        if ids is not None:
            wanted = list(ids)
            for chunk in _chunks(wanted, batch):
                yield from self.papers_by_ids(chunk).values()
            return
        last = ""
        while True:
            with self.engine.connect() as conn:
                chunk = conn.execute(select(papers.c.id).where(papers.c.id > last)
                                     .order_by(papers.c.id).limit(batch)).scalars().all()
            if not chunk:
                return
            yield from self.papers_by_ids(chunk).values()
            last = chunk[-1]

    # -- lists -------------------------------------------------------------------------

    def daily(self, start: dt.date, end: dt.date, *, sort: str = "upvotes", submitter: str | None = None,
              offset: int = 0, limit: int = 30) -> Page:
        """Papers listed between two dates (inclusive), one row per paper (its latest entry)."""
        latest = latest_entries_in(start, end, submitter)
        joined = latest.join(papers, papers.c.id == latest.c.paper_id)
        order = {  # upvotes: HF's order, then the entry's publishedAt, newest first
            "upvotes": [latest.c.upvotes.desc(), func.coalesce(latest.c.published_at, papers.c.published).desc()
                        .nulls_last(), latest.c.date.desc(), latest.c.paper_id],
            "date": [papers.c.published.desc(), latest.c.paper_id],
        }[sort]
        with self.engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(latest)).scalar_one()
            rows = conn.execute(select(latest).select_from(joined).order_by(*order).offset(offset).limit(limit)).all()
            found = self._load(conn, [r.paper_id for r in rows])
        items = [Listed(found[r.paper_id], convert.entry_from_row(r)) for r in rows]
        return Page(items, total, offset, limit)

    def daily_all(self, start: dt.date, end: dt.date, submitter: str | None = None) -> list[Listed]:
        page = self.daily(start, end, submitter=submitter, offset=0, limit=100_000)
        return page.items

    def latest_date(self) -> dt.date | None:
        with self.engine.connect() as conn:
            value = conn.execute(select(func.max(daily_entries.c.date))).scalar()
        return convert.as_date(value) if value else None

    def neighbour_dates(self, day: dt.date) -> tuple[dt.date | None, dt.date | None]:
        """The nearest earlier and later dates that have papers."""
        dates = daily_entries.c.date
        with self.engine.connect() as conn:
            prev, nxt = conn.execute(select(select(func.max(dates)).where(dates < day).scalar_subquery(),
                                            select(func.min(dates)).where(dates > day).scalar_subquery())).one()
        return (convert.as_date(prev) if prev else None, convert.as_date(nxt) if nxt else None)

    def _paper_page(self, condition, offset: int, limit: int) -> Page:
        query = select(papers.c.id).where(condition)
        with self.engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
            ids = conn.execute(query.order_by(papers.c.published.desc(), papers.c.id)
                               .offset(offset).limit(limit)).scalars().all()
            found = self._load(conn, ids)
        return Page([Listed(found[i]) for i in ids], total, offset, limit)

    def by_author(self, name_key: str, offset: int = 0, limit: int = 30) -> tuple[str | None, Page]:
        sub = select(paper_authors.c.paper_id).where(paper_authors.c.name_key == name_key)
        with self.engine.connect() as conn:
            name = conn.execute(select(paper_authors.c.name).where(paper_authors.c.name_key == name_key)
                                .limit(1)).scalar()
        return name, self._paper_page(papers.c.id.in_(sub), offset, limit)

    def by_category(self, category: str, offset: int = 0, limit: int = 30) -> Page:
        sub = select(paper_categories.c.paper_id).where(or_(
            paper_categories.c.category == category, paper_categories.c.category.like(f"{category}.%")))
        return self._paper_page(papers.c.id.in_(sub), offset, limit)

    def paper_total(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(papers)).scalar_one()

    def paper_cursor(self, cursor: str | None, limit: int) -> tuple[list[Paper], str | None]:
        """All papers, newest id first, for cursor pagination of /api/papers."""
        query = select(papers.c.id).order_by(papers.c.id.desc()).limit(limit + 1)
        if cursor:
            query = query.where(papers.c.id < cursor)
        with self.engine.connect() as conn:
            ids = conn.execute(query).scalars().all()
            found = self._load(conn, ids[:limit])
        next_cursor = ids[limit - 1] if len(ids) > limit else None
        return [found[i] for i in ids[:limit]], next_cursor

    # -- change feed, checkpoints, stats -------------------------------------------------

    def changes_since(self, seq: int, limit: int = 10_000) -> list[tuple[int, str]]:
        query = (select(paper_changes.c.seq, paper_changes.c.paper_id).where(paper_changes.c.seq > seq)
                 .order_by(paper_changes.c.seq).limit(limit))
        with self.engine.connect() as conn:
            return [(r.seq, r.paper_id) for r in conn.execute(query)]

    def max_seq(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.coalesce(func.max(paper_changes.c.seq), 0))).scalar_one()

    def load_checkpoint(self, name: str) -> dict | None:
        with self.engine.connect() as conn:
            raw = conn.execute(select(checkpoints.c.state).where(checkpoints.c.name == name)).scalar()
        return json.loads(raw) if raw else None

    def save_checkpoint(self, name: str, state: dict) -> None:
        row = {"state": json.dumps(state, sort_keys=True), "updated_at": dt.datetime.now(dt.timezone.utc)}
        with self.engine.begin() as conn:
            done = conn.execute(update(checkpoints).where(checkpoints.c.name == name).values(**row)).rowcount
            if not done:
                conn.execute(insert(checkpoints).values(name=name, **row))

    def counts(self) -> dict[str, int]:
        tables = {"papers": papers, "authors": paper_authors, "links": paper_links,
                  "daily_entries": daily_entries, "changes": paper_changes}
        with self.engine.connect() as conn:
            out = {name: conn.execute(select(func.count()).select_from(t)).scalar_one() for name, t in tables.items()}
            first, last = conn.execute(select(func.min(daily_entries.c.date), func.max(daily_entries.c.date))).one()
        out["first_day"], out["last_day"] = first, last
        return out

    def top_categories(self, limit: int = 20) -> list[tuple[str, int]]:
        query = (select(paper_categories.c.category, func.count().label("n"))
                 .group_by(paper_categories.c.category).order_by(func.count().desc()).limit(limit))
        with self.engine.connect() as conn:
            return [(r.category, r.n) for r in conn.execute(query)]

    # -- read-only queries added for the web layer (web/) --------------------------------

    def latest_entries(self, ids: Sequence[str]) -> dict[str, DailyEntry]:
        """Each paper's most recent daily entry, for the ids that have one."""
        out: dict[str, DailyEntry] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(list(dict.fromkeys(ids))):
                query = (select(daily_entries).where(daily_entries.c.paper_id.in_(chunk))
                         .order_by(daily_entries.c.paper_id, daily_entries.c.date))
                for row in conn.execute(query):
                    out[row.paper_id] = convert.entry_from_row(row)  # later dates overwrite earlier ones
        return out


class StoreCheckpoint:
    """A named checkpoint kept in the database (the harvester's Checkpoint protocol)."""

    def __init__(self, store: Store, name: str) -> None:
        self.store, self.name = store, name

    def load(self) -> dict | None:
        return self.store.load_checkpoint(self.name)

    def save(self, state: dict) -> None:
        self.store.save_checkpoint(self.name, state)
