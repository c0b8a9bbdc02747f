"""Search-quality harness: nDCG@10, MRR@10 and Recall@100 per mode on a BEIR-format set.

    from dailypapers.search import evaluate
    table = evaluate.run("corpus.jsonl", "queries.jsonl", "qrels.tsv", ["keyword", "semantic", "hybrid"])
    # {"keyword": {"ndcg@10": 0.41, "mrr@10": 0.37, "recall@100": 0.80, "queries": 200}, ...}
    for row in evaluate.table_rows(table): print(row)

BEIR format: the corpus is JSON lines `{"_id", "title", "text"}`; queries are JSON lines
`{"_id", "text"}`; qrels are BEIR's tab-separated `query-id corpus-id score` (header optional)
or TREC's `query-id iteration corpus-id score`.
Files may be gzip-compressed (`.gz`). Each run indexes the corpus into a fresh store, keyword
index and vector index in `workdir` (a temporary directory by default), exactly as the product
does, and asks SearchService the queries, so what is measured is what users get.

Metrics (as in BEIR / trec_eval): nDCG@10 with linear gains (the qrels score) and a log2
discount, the ideal ranking taken from all of the query's positive judgements; MRR@10, the
reciprocal rank of the first relevant result in the top 10; Recall@100, the share of the
relevant documents (score > 0) in the top 100. Queries without a positive judgement are left
out, as BEIR does. A query the service rejects (InvalidQuery: empty, over 2,000 characters)
counts with an empty ranking.

Deterministic: documents are indexed in file order, the HNSW graph is built on one thread (its
level generator is seeded), and document vectors are cached in `workdir` by a hash of their
text and the model id, so reruns do not re-embed.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from dailypapers.errors import InvalidQuery, ParseError
from dailypapers.models import Paper, Record
from dailypapers.search.encoder.embeddings import Encoder

if TYPE_CHECKING:
    from dailypapers.search.service import SearchService

MODES = ("keyword", "semantic", "hybrid")
METRICS = ("ndcg@10", "mrr@10", "recall@100")
DEPTH = 100


# ---------------------------------------------------------------------------------------------
# reading BEIR files


def _open_text(path: Path):
    path = Path(path)
    return gzip.open(path, "rt", encoding="utf-8") if path.suffix == ".gz" else open(path, encoding="utf-8")


def _jsonl(path: Path) -> Iterator[tuple[int, dict]]:
    with _open_text(path) as fh:
        for n, line in enumerate(fh, 1):
            if line.strip():
                try:
                    obj = json.loads(line)
                except ValueError as exc:
                    raise ParseError(f"not JSON: {exc}", str(path), n) from None
                if not isinstance(obj, dict) or "_id" not in obj:
                    raise ParseError("a line without an _id", str(path), n)
                yield n, obj


def read_corpus(path: Path) -> list[Paper]:
    """The corpus as papers: `_id` becomes the id, `title` the title, `text` the abstract."""
    papers, seen = [], set()
    for n, obj in _jsonl(path):
        pid = str(obj["_id"]).strip()
        if not pid:
            raise ParseError("an empty _id", str(path), n)
        if pid in seen:
            raise ParseError(f"duplicate _id {pid!r}", str(path), n)
        seen.add(pid)
        papers.append(Paper(arxiv_id=pid, title=str(obj.get("title") or ""), abstract=str(obj.get("text") or "")))
    return papers


def read_queries(path: Path) -> dict[str, str]:
    return {str(obj["_id"]): str(obj.get("text") or "") for _, obj in _jsonl(path)}


def read_qrels(path: Path) -> dict[str, dict[str, float]]:
    """{query-id: {corpus-id: score}} from BEIR's TSV (`query-id corpus-id score`, header optional)
    or TREC's qrels (`query-id iteration corpus-id score`, whitespace-separated)."""
    qrels: dict[str, dict[str, float]] = {}
    with _open_text(path) as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            parts = _qrels_fields(line)
            if n == 1 and [h.lower() for h in parts] == ["query-id", "corpus-id", "score"]:
                continue
            if len(parts) not in (3, 4):
                raise ParseError("expected 'query-id<TAB>corpus-id<TAB>score' (BEIR) or "
                                 "'query-id iteration corpus-id score' (TREC)", str(path), n)
            query, doc, raw = (parts[0], parts[1], parts[2]) if len(parts) == 3 else (parts[0], parts[2], parts[3])
            try:
                score = float(raw)
            except ValueError:
                raise ParseError(f"score {raw!r} is not a number", str(path), n) from None
            qrels.setdefault(query, {})[doc] = score
    return qrels


def _qrels_fields(line: str) -> list[str]:
    """Tab-separated fields when the line has tabs (ids may hold spaces), else whitespace-separated."""
    text = line.rstrip("\r\n")
    return [f.strip() for f in text.split("\t")] if "\t" in text else text.split()


# ---------------------------------------------------------------------------------------------
# metrics


def ndcg_at(ranking: Sequence[str], rels: dict[str, float], k: int = 10) -> float:
    dcg = sum(rels.get(doc, 0.0) / math.log2(i + 2) for i, doc in enumerate(ranking[:k]) if rels.get(doc, 0.0) > 0)
    ideal = sorted((r for r in rels.values() if r > 0), reverse=True)[:k]
    idcg = sum(r / math.log2(i + 2) for i, r in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def mrr_at(ranking: Sequence[str], rels: dict[str, float], k: int = 10) -> float:
    for i, doc in enumerate(ranking[:k]):
        if rels.get(doc, 0.0) > 0:
            return 1.0 / (i + 1)
    return 0.0


def recall_at(ranking: Sequence[str], rels: dict[str, float], k: int = 100) -> float:
    relevant = {d for d, r in rels.items() if r > 0}
    if not relevant:
        return 0.0
    return len(relevant & set(ranking[:k])) / len(relevant)


def score_rankings(rankings: Mapping[str, Sequence[str]], qrels: dict[str, dict[str, float]]) -> dict[str, float]:
    """Mean metrics over the queries that have a positive judgement and a ranking entry."""
    judged = [q for q in sorted(qrels) if q in rankings and any(r > 0 for r in qrels[q].values())]
    if not judged:
        return {**{m: float("nan") for m in METRICS}, "queries": 0}
    out = {
        "ndcg@10": float(np.mean([ndcg_at(rankings[q], qrels[q], 10) for q in judged])),
        "mrr@10": float(np.mean([mrr_at(rankings[q], qrels[q], 10) for q in judged])),
        "recall@100": float(np.mean([recall_at(rankings[q], qrels[q], 100) for q in judged])),
        "queries": len(judged),
    }
    return out


# ---------------------------------------------------------------------------------------------
# indexing and running


def _default_encoder_loader() -> Callable:
    """The CPU encoder, its ONNX graph cached where the worker keeps it (<data_dir>/models)."""
    from dailypapers import config
    from dailypapers.search.encoder import embeddings

    try:
        cache = config.load().data_dir / "models"
    except Exception:  # noqa: BLE001 - no usable settings: a private cache
        cache = Path(tempfile.gettempdir()) / "dailypapers-models"
    return lambda: embeddings.load_encoder(cache)


class _CachingEncoder(Encoder):
    """Wraps an encoder with a file cache of text -> vector, so reruns of a set encode nothing."""

    def __init__(self, encoder: Encoder, cache_dir: Path, progress: Callable[[int], None] | None) -> None:
        self.encoder, self.dim, self.progress = encoder, getattr(encoder, "dim", 384), progress
        self.name = getattr(encoder, "name", getattr(encoder, "model_id", "model"))
        self.file = Path(cache_dir) / f"vectors-{hashlib.sha1(self.name.encode()).hexdigest()[:12]}.npz"
        self.cached: dict[str, np.ndarray] = {}
        if self.file.exists():
            with np.load(self.file) as data:
                self.cached = dict(zip(data["keys"].tolist(), data["vectors"], strict=True))
        self.added = False

    def key(self, text: str) -> str:
        return hashlib.sha1(f"{self.name}\0{text}".encode()).hexdigest()

    def encode(self, texts: Sequence[str], batch_size: int = 256) -> np.ndarray:
        keys = [self.key(t) for t in texts]
        todo = sorted({k: i for i, k in enumerate(keys) if k not in self.cached}.values())
        for start in range(0, len(todo), batch_size):
            chunk = todo[start:start + batch_size]
            vecs = np.asarray(self.encoder.encode([texts[i] for i in chunk]), dtype=np.float32)
            for i, v in zip(chunk, vecs, strict=True):
                self.cached[keys[i]] = v
            self.added = True
            if self.progress:
                self.progress(len(chunk))
        if not keys:
            return np.zeros((0, self.dim), np.float32)
        return np.stack([self.cached[k] for k in keys])

    def save(self) -> None:
        if self.added:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.file.with_suffix(".tmp.npz")
            np.savez(tmp, keys=np.array(list(self.cached)), vectors=np.stack(list(self.cached.values())))
            tmp.replace(self.file)


def embed_corpus(papers: Sequence[Paper], encoder: Encoder, cache_dir: Path, batch: int = 256,
                 progress: Callable[[int], None] | None = None) -> np.ndarray:
    """Document vectors (`embeddings.document_vectors`), each text encoded once across runs."""
    from dailypapers.search.encoder.embeddings import document_vectors, paper_text

    cached = _CachingEncoder(encoder, cache_dir, progress)
    vecs = document_vectors(cached, [paper_text(p) for p in papers],
                            [" ".join((p.title or "").split()) for p in papers], batch_size=batch)
    cached.save()
    return vecs


class EvalIndexes:
    """A store, keyword index and (optionally) vector index built from a corpus in `workdir`."""

    def __init__(self, papers: Sequence[Paper], workdir: Path, encoder: Encoder | None = None,
                 progress: Callable[[str, int], None] | None = None) -> None:
        from dailypapers.search.keyword import KeywordIndex
        from dailypapers.search.sync import sync_keyword_index
        from dailypapers.search.vector_index import VectorIndex
        from dailypapers.store import Store

        self.workdir = Path(workdir)
        for name in ("eval.db", "eval.db-wal", "eval.db-shm", "keyword", "vectors"):
            target = self.workdir / name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.store = Store.open(f"sqlite:///{self.workdir / 'eval.db'}")
        for start in range(0, len(papers), 1000):
            self.store.write([Record(p) for p in papers[start:start + 1000]])
        self.keyword = KeywordIndex(self.workdir / "keyword")
        sync_keyword_index(self.store, self.keyword)
        if progress:
            progress("indexed", len(papers))
        self.vectors = None
        if encoder is not None:
            vecs = embed_corpus(papers, encoder, self.workdir / "cache",
                                progress=(lambda n: progress("embedded", n)) if progress else None)
            with VectorIndex(self.workdir / "vectors", vecs.shape[1] if len(vecs) else 384,
                             encoder.model_id, reset=True, threads=1) as writer:
                writer.add([p.arxiv_id for p in papers], vecs)
                writer.set_last_seq(self.store.max_seq())
                writer.save()
            self.vectors = VectorIndex.open(self.workdir / "vectors", encoder.model_id)

    def close(self) -> None:
        self.store.close()


def rank_all(service: SearchService, queries: dict[str, str], mode: str, depth: int = DEPTH,
             **search_kw) -> dict[str, list[str]]:
    """Each query's ranked ids under `mode` (empty for a query the service rejects)."""
    rankings = {}
    for qid in sorted(queries):
        try:
            res = service.search(queries[qid], mode=mode, limit=depth, **search_kw)
            rankings[qid] = res.ids
        except InvalidQuery:
            rankings[qid] = []
    return rankings


def run(corpus_path: Path, queries_path: Path, qrels_path: Path, modes: Iterable[str] = MODES,
        workdir: Path | None = None, *, encoder_loader: Callable | None = None,
        progress: Callable[[str, int], None] | None = None, **search_kw) -> dict[str, dict[str, float | str]]:
    """Index the corpus, run every query in every mode, and return
    {mode: {"ndcg@10", "mrr@10", "recall@100", "queries"}}, plus "notice" for a mode that fell
    back to keyword search (e.g. the encoder could not load)."""
    from dailypapers.search.service import SearchService

    modes = list(dict.fromkeys(modes))
    bad = [m for m in modes if m not in MODES]
    if bad:
        raise ValueError(f"unknown mode(s) {bad}; choose from {', '.join(MODES)}")
    papers = read_corpus(Path(corpus_path))
    queries = read_queries(Path(queries_path))
    qrels = read_qrels(Path(qrels_path))
    needs_vectors = any(m != "keyword" for m in modes)
    with ExitStack() as stack:
        if workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="dp-eval-")))
        encoder, notice = None, None
        if needs_vectors:
            loader = encoder_loader or _default_encoder_loader()
            try:
                encoder = loader()
            except Exception as exc:  # noqa: BLE001 - reported per mode below, like the service does
                notice = f"semantic search unavailable: {exc}"
        indexes = EvalIndexes(papers, Path(workdir), encoder, progress)
        stack.callback(indexes.close)
        service = SearchService(indexes.keyword, indexes.vectors,
                                (lambda: encoder) if encoder is not None else _raiser(notice),
                                indexes.store)
        table: dict[str, dict[str, float | str]] = {}
        for mode in modes:
            rankings = rank_all(service, queries, mode, **search_kw)
            table[mode] = dict(score_rankings(rankings, qrels))
            fallback = service.semantic_status() if mode != "keyword" else None
            if fallback:
                table[mode]["notice"] = fallback
            if progress:
                progress(f"mode {mode}", len(rankings))
        return table


def _raiser(message: str | None) -> Callable:
    def load():
        raise RuntimeError(message or "no encoder")
    return load


def mode_lines(table: Mapping[str, Mapping[str, float | str]]) -> list[str]:
    """One line per mode, `key=value` fields separated by spaces (what `dailypapers eval` prints):

        keyword ndcg@10=0.4100 mrr@10=0.5655 recall@100=0.9831 queries=35

    A mode that fell back to keyword search ends with `fallback=keyword`."""
    lines = []
    for mode, m in table.items():
        fields = [f"{name}={float(m[name]):.4f}" for name in METRICS] + [f"queries={m['queries']}"]
        lines.append(" ".join([mode, *fields] + (["fallback=keyword"] if m.get("notice") else [])))
    return lines


def table_rows(table: Mapping[str, Mapping[str, float | str]]) -> list[list[str]]:
    """Rows for printing: a header, then one row per mode."""
    rows = [["mode", "nDCG@10", "MRR@10", "Recall@100", "queries"]]
    for mode, m in table.items():
        rows.append([mode + (" (fell back to keyword)" if m.get("notice") else ""),
                     f"{m['ndcg@10']:.4f}", f"{m['mrr@10']:.4f}", f"{m['recall@100']:.4f}", str(m["queries"])])
    return rows
