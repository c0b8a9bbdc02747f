"""Paper vectors in the database: one embedding per paper, tagged with its model and text hash.

Table `paper_vectors` (schema.py, migration 0002): `paper_id` (the paper, deleted with it),
`model` and `dim` (what made the vector), `vector` (little-endian float32 bytes), `content_hash`
(sha1 of the embedded text, `embed_text(title, abstract)`), `embedded_at`, and `phrases` (migration
0009): the paper's key phrases as a JSON list, computed from this vector when it is stored (the
embedding job, `search.phrases.key_phrases_batch`) and replaced with it, NULL until computed (the
`dailypapers index phrases` backfill). The paper page reads them and runs no model.

A paper needs (re-)embedding for a model when it has no vector, a vector of another model or
dimension, or a vector whose content hash differs from the hash of its current title and abstract
(the paper was corrected). Everything here is SQLAlchemy Core that SQLite and PostgreSQL both run.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
from sqlalchemy import and_, bindparam, delete, func, insert, or_, select, update

from .changes import record_changes
from .schema import paper_vectors, papers

if TYPE_CHECKING:
    from .repo import Store

PAGE = 2000          # papers read per query when scanning
VECTOR_PAGE = 10_000  # vectors read per query when loading
IN_CHUNK = 500


def embed_text(title: str | None, abstract: str | None) -> str:
    """The text a paper's vector stands for: title + ". " + abstract, whitespace collapsed.

    A title that already ends in a full stop, question or exclamation mark is not given another.
    """
    title = " ".join((title or "").split())
    abstract = " ".join((abstract or "").split())
    if not abstract:
        return title
    if not title:
        return abstract
    sep = " " if title[-1] in ".?!" else ". "
    return f"{title}{sep}{abstract}"


def content_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def to_blob(vector: np.ndarray) -> bytes:
    return np.ascontiguousarray(vector, dtype="<f4").tobytes()


def from_blob(blob: bytes, dim: int) -> np.ndarray:
    vec = np.frombuffer(bytes(blob), dtype="<f4")
    if vec.shape != (dim,):
        raise ValueError(f"a stored vector has {vec.size} values, expected {dim}")
    return vec


def _chunks(items: Sequence, size: int = IN_CHUNK) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _needs_vector(model_id: str, dim: int | None):
    """The condition (on papers LEFT JOIN paper_vectors) for 'no usable vector for this model'."""
    cond = [paper_vectors.c.paper_id.is_(None), paper_vectors.c.model != model_id]
    if dim is not None:
        cond.append(paper_vectors.c.dim != dim)
    return or_(*cond)


def _joined():
    return papers.outerjoin(paper_vectors, paper_vectors.c.paper_id == papers.c.id)


class Pending(NamedTuple):
    """A paper that needs a vector: its embedded text (whose hash is stored) and its title
    (embedded on its own as well, see `search.encoder.embeddings.document_vectors`)."""

    paper_id: str
    text: str
    title: str


def _pending(row) -> Pending:
    return Pending(row.id, embed_text(row.title, row.abstract), " ".join((row.title or "").split()))


def abstract_of(item: Pending) -> str:
    """The abstract (whitespace collapsed) inside a pending paper's text: what its key phrases come
    from. The inverse of `embed_text`, given the (collapsed) title."""
    title, text = item.title, item.text
    if not title:
        return text
    if text == title:
        return ""
    sep = " " if title[-1] in ".?!" else ". "
    return text[len(title) + len(sep):]


def _is_pending(row, model_id: str, dim: int | None) -> tuple[bool, Pending]:
    item = _pending(row)
    if row.model is None or row.model != model_id or (dim is not None and row.dim != dim):
        return True, item
    return row.content_hash != content_hash(item.text), item


def _scan(store: Store, model_id: str, limit: int, dim: int | None, after: str | None,
          with_vector_only: bool) -> list[Pending]:
    found: list[Pending] = []
    cursor = after
    cols = [papers.c.id, papers.c.title, papers.c.abstract, paper_vectors.c.model, paper_vectors.c.dim,
            paper_vectors.c.content_hash]
    if with_vector_only:
        source = papers.join(paper_vectors, and_(paper_vectors.c.paper_id == papers.c.id,
                                                 paper_vectors.c.model == model_id))
    else:
        source = _joined()
    with store.engine.connect() as conn:
        while len(found) < limit:
            query = select(*cols).select_from(source).order_by(papers.c.id).limit(PAGE)
            if cursor is not None:
                query = query.where(papers.c.id > cursor)
            rows = conn.execute(query).all()
            for row in rows:
                pending, item = _is_pending(row, model_id, dim)
                if pending:
                    found.append(item)
                    if len(found) >= limit:
                        break
            if len(rows) < PAGE:
                break
            cursor = rows[-1].id
    return found


def missing_or_stale(store: Store, model_id: str, limit: int = 1000, *, dim: int | None = None,
                     after: str | None = None) -> list[Pending]:
    """Up to `limit` (paper_id, text, title) triples, in id order after `after`, that need a vector: no
    vector, a vector of another model or dim, or one whose content hash differs from the text's.

    Reads every paper after `after` until `limit` are found (the content hash is computed here,
    not in SQL), so pass the last returned id as `after` to walk the table once.
    """
    return _scan(store, model_id, limit, dim, after, with_vector_only=False)


def stale(store: Store, model_id: str, limit: int = 1000, *, dim: int | None = None,
          after: str | None = None) -> list[Pending]:
    """Like `missing_or_stale`, but only papers that have a vector of this model (whose text changed)."""
    return _scan(store, model_id, limit, dim, after, with_vector_only=True)


def count_missing(store: Store, model_id: str, *, dim: int | None = None) -> int:
    """How many papers have no vector of this model (and dim); stale ones are not counted."""
    query = select(func.count()).select_from(_joined()).where(_needs_vector(model_id, dim))
    with store.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def missing(store: Store, model_id: str, limit: int = 1000, *, dim: int | None = None,
            after: str | None = None) -> list[Pending]:
    """(paper_id, text, title) of papers with no vector of this model (and dim): one indexed query.

    Unlike `missing_or_stale` it does not look at content hashes.
    """
    query = (select(papers.c.id, papers.c.title, papers.c.abstract).select_from(_joined())
             .where(_needs_vector(model_id, dim)).order_by(papers.c.id).limit(limit))
    if after is not None:
        query = query.where(papers.c.id > after)
    with store.engine.connect() as conn:
        return [_pending(r) for r in conn.execute(query)]


def pending_among(store: Store, model_id: str, ids: Iterable[str], *, dim: int | None = None,
                  stale_only: bool = False) -> list[Pending]:
    """Of the papers `ids`, those that need a vector (missing, other model, or stale), in id order;
    with `stale_only`, only those that have a vector of this model whose text changed."""
    ids = sorted(set(ids))
    found = []
    cols = [papers.c.id, papers.c.title, papers.c.abstract, paper_vectors.c.model, paper_vectors.c.dim,
            paper_vectors.c.content_hash]
    with store.engine.connect() as conn:
        for chunk in _chunks(ids):
            for row in conn.execute(select(*cols).select_from(_joined()).where(papers.c.id.in_(chunk))):
                if stale_only and (row.model != model_id or (dim is not None and row.dim != dim)):
                    continue
                pending, item = _is_pending(row, model_id, dim)
                if pending:
                    found.append(item)
    return sorted(found)


def current_hashes(store: Store, ids: Iterable[str]) -> dict[str, str]:
    """The content hash of each existing paper in `ids`, from its current title and abstract."""
    out = {}
    with store.engine.connect() as conn:
        for chunk in _chunks(sorted(set(ids))):
            for row in conn.execute(select(papers.c.id, papers.c.title, papers.c.abstract)
                                    .where(papers.c.id.in_(chunk))):
                out[row.id] = content_hash(embed_text(row.title, row.abstract))
    return out


def phrases_json(phrases: Sequence[str] | None) -> str | None:
    return None if phrases is None else json.dumps(list(phrases), ensure_ascii=False)


def phrases_from_json(raw: str | None) -> list[str] | None:
    """The stored phrases; None when none are stored (or the cell is not a JSON list of strings)."""
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
        return None
    return value


def save_vectors(store: Store, model_id: str, rows: Sequence[tuple[str, str, np.ndarray]],
                 *, embedded_at: dt.datetime | None = None,
                 phrases: Mapping[str, Sequence[str]] | None = None) -> int:
    """Insert or replace the vectors of `rows` = [(paper_id, content_hash, vector)], in one transaction.

    `phrases`: the key phrases of some of these papers (by id), stored with their vectors; a
    paper without an entry gets none (NULL: its old phrases went with its old vector)."""
    if not rows:
        return 0
    now = embedded_at or dt.datetime.now(dt.UTC)
    phrases = phrases or {}
    values: list[dict[str, Any]] = []
    for paper_id, chash, vec in rows:
        vec = np.asarray(vec, dtype=np.float32).reshape(-1)
        values.append({"paper_id": paper_id, "model": model_id, "dim": int(vec.size),
                       "vector": to_blob(vec), "content_hash": chash, "embedded_at": now,
                       "phrases": phrases_json(phrases.get(paper_id))})
    values = list({v["paper_id"]: v for v in values}.values())  # the last row for an id wins
    with store.engine.begin() as conn:
        dialect = conn.dialect.name
        if dialect in ("sqlite", "postgresql"):
            from sqlalchemy.dialects import postgresql, sqlite

            stmt = (sqlite if dialect == "sqlite" else postgresql).insert(paper_vectors)
            stmt = stmt.on_conflict_do_update(
                index_elements=[paper_vectors.c.paper_id],
                set_={c: stmt.excluded[c] for c in ("model", "dim", "vector", "content_hash", "embedded_at",
                                                    "phrases")})
            conn.execute(stmt, values)
        else:  # pragma: no cover - any other backend: replace row by row
            for chunk in _chunks([v["paper_id"] for v in values]):
                conn.execute(delete(paper_vectors).where(paper_vectors.c.paper_id.in_(chunk)))
            conn.execute(insert(paper_vectors), values)
        # every node's vector index follows the change sequence, so a new vector is a change
        record_changes(conn, [v["paper_id"] for v in values], now)
    return len(values)


@dataclass
class VectorBatch:
    ids: list[str]
    hashes: list[str]
    vectors: np.ndarray  # float32, (len(ids), dim)
    phrases: list[list[str] | None] = field(default_factory=list)  # stored key phrases, None: none yet


def iter_vectors(store: Store, model_id: str, *, ids: Sequence[str] | None = None,
                 batch: int = VECTOR_PAGE) -> Iterator[VectorBatch]:
    """The stored vectors of `model_id` in batches (id order, or the order of `ids`)."""
    cols = [paper_vectors.c.paper_id, paper_vectors.c.dim, paper_vectors.c.vector, paper_vectors.c.content_hash,
            paper_vectors.c.phrases]

    def convert(rows) -> VectorBatch:
        if not rows:
            return VectorBatch([], [], np.zeros((0, 0), np.float32))
        dim = rows[0].dim
        vecs = np.empty((len(rows), dim), dtype=np.float32)
        for i, row in enumerate(rows):
            vecs[i] = from_blob(row.vector, dim)
        return VectorBatch([r.paper_id for r in rows], [r.content_hash for r in rows], vecs,
                           [phrases_from_json(r.phrases) for r in rows])

    with store.engine.connect() as conn:
        if ids is not None:
            wanted = list(dict.fromkeys(ids))
            for start in range(0, len(wanted), batch):
                part = wanted[start:start + batch]
                got = {}
                for chunk in _chunks(part):
                    for row in conn.execute(select(*cols).where(and_(paper_vectors.c.model == model_id,
                                                                     paper_vectors.c.paper_id.in_(chunk)))):
                        got[row.paper_id] = row
                found = [got[i] for i in part if i in got]
                if found:
                    yield convert(found)
            return
        cursor = None
        while True:
            query = (select(*cols).where(paper_vectors.c.model == model_id)
                     .order_by(paper_vectors.c.paper_id).limit(batch))
            if cursor is not None:
                query = query.where(paper_vectors.c.paper_id > cursor)
            rows = conn.execute(query).all()
            if rows:
                yield convert(rows)
            if len(rows) < batch:
                return
            cursor = rows[-1].paper_id


def load_vectors(store: Store, model_id: str, ids: Sequence[str] | None = None,
                 batch: int = VECTOR_PAGE) -> tuple[list[str], np.ndarray]:
    """(ids, float32 array) of the stored vectors of `model_id`: all of them, or those of `ids`
    that have one (in the order of `ids`). Read in batches; for very large sets prefer
    `iter_vectors`, which never holds more than one batch."""
    out_ids: list[str] = []
    parts: list[np.ndarray] = []
    for b in iter_vectors(store, model_id, ids=ids, batch=batch):
        out_ids.extend(b.ids)
        parts.append(b.vectors)
    if not parts:
        return [], np.zeros((0, 0), dtype=np.float32)
    return out_ids, np.concatenate(parts)


def vector_count(store: Store, model_id: str | None = None) -> int:
    """How many vectors are stored for `model_id` (for every model when None)."""
    query = select(func.count()).select_from(paper_vectors)
    if model_id is not None:
        query = query.where(paper_vectors.c.model == model_id)
    with store.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def models(store: Store) -> dict[str, int]:
    """Vector counts per model id."""
    with store.engine.connect() as conn:
        rows = conn.execute(select(paper_vectors.c.model, func.count()).group_by(paper_vectors.c.model))
        return {model: int(n) for model, n in rows}


# -- key phrases ---------------------------------------------------------------------------------


def stored_phrases(store: Store, paper_id: str, text_hash: str) -> list[str] | None:
    """The key phrases stored with the paper's vector, if that vector was made from the text whose
    hash is `text_hash` (the paper's current text); None otherwise (none yet, or made from an
    older abstract). One primary-key read."""
    query = select(paper_vectors.c.content_hash, paper_vectors.c.phrases).where(paper_vectors.c.paper_id == paper_id)
    with store.engine.connect() as conn:
        row = conn.execute(query).first()
    if row is None or row.content_hash != text_hash:
        return None
    return phrases_from_json(row.phrases)


def save_phrases(store: Store, rows: Sequence[tuple[str, str, Sequence[str]]]) -> int:
    """Store key phrases for vectors already stored: `rows` = [(paper_id, content_hash, phrases)].
    A row whose vector has changed since (another content hash) is left alone; returns how many
    were stored.

    No change is recorded: phrases change no index, and a backfill must not make every node
    re-index the corpus."""
    if not rows:
        return 0
    stmt = (update(paper_vectors)
            .where(paper_vectors.c.paper_id == bindparam("pid"), paper_vectors.c.content_hash == bindparam("chash"))
            .values(phrases=bindparam("ph")))
    stored = 0
    with store.engine.begin() as conn:  # one statement a row: executemany's rowcount is not portable
        for pid, chash, ph in rows:
            stored += conn.execute(stmt, {"pid": pid, "chash": chash, "ph": phrases_json(ph)}).rowcount
    return stored


class PhraseWork(NamedTuple):
    """A stored vector that has no key phrases yet, with what computing them needs."""

    paper_id: str
    content_hash: str
    abstract: str
    vector: np.ndarray


def without_phrases(store: Store, model_id: str, limit: int = 1000, *,
                    after: str | None = None) -> tuple[list[PhraseWork], str | None]:
    """Up to `limit` vectors of `model_id` that have no key phrases, in paper id order after
    `after`, and the cursor to pass as `after` next (None when the table has been read to its end).

    Vectors made from an older text of their paper (stale) are passed over: re-embedding it
    (`dailypapers embed`) stores new phrases with the new vector."""
    cols = [paper_vectors.c.paper_id, paper_vectors.c.dim, paper_vectors.c.vector, paper_vectors.c.content_hash,
            papers.c.title, papers.c.abstract]
    source = paper_vectors.join(papers, papers.c.id == paper_vectors.c.paper_id)
    found: list[PhraseWork] = []
    cursor = after
    with store.engine.connect() as conn:
        while len(found) < limit:
            query = (select(*cols).select_from(source)
                     .where(paper_vectors.c.model == model_id, paper_vectors.c.phrases.is_(None))
                     .order_by(paper_vectors.c.paper_id).limit(PAGE))
            if cursor is not None:
                query = query.where(paper_vectors.c.paper_id > cursor)
            rows = conn.execute(query).all()
            for row in rows:
                cursor = row.paper_id
                if row.content_hash == content_hash(embed_text(row.title, row.abstract)):
                    found.append(PhraseWork(row.paper_id, row.content_hash, row.abstract or "",
                                            from_blob(row.vector, row.dim)))
                    if len(found) >= limit:
                        return found, cursor
            if len(rows) < PAGE:
                return found, None
    return found, cursor


def count_without_phrases(store: Store, model_id: str) -> int:
    """How many vectors of `model_id` have no key phrases (stale ones included)."""
    query = (select(func.count()).select_from(paper_vectors)
             .where(paper_vectors.c.model == model_id, paper_vectors.c.phrases.is_(None)))
    with store.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def delete_vectors(store: Store, model_id: str | None = None, ids: Sequence[str] | None = None) -> int:
    """Delete vectors (of one model, of some papers, or all); return how many."""
    stmt = delete(paper_vectors)
    conds = []
    if model_id is not None:
        conds.append(paper_vectors.c.model == model_id)
    with store.engine.begin() as conn:
        if ids is None:
            return conn.execute(stmt.where(*conds) if conds else stmt).rowcount
        n = 0
        for chunk in _chunks(list(ids)):
            n += conn.execute(stmt.where(*conds, paper_vectors.c.paper_id.in_(chunk))).rowcount
        return n


__all__ = [
    "Pending", "PhraseWork", "abstract_of", "VectorBatch", "content_hash", "count_missing", "count_without_phrases",
    "current_hashes", "delete_vectors", "embed_text", "from_blob", "iter_vectors", "load_vectors", "missing",
    "missing_or_stale", "models", "pending_among", "phrases_from_json", "phrases_json", "save_phrases",
    "save_vectors", "stale", "stored_phrases", "to_blob", "vector_count", "without_phrases",
]
