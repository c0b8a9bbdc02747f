"""`dailypapers embed`: keep every paper's vector current, resumably.

`embed_missing` embeds the papers that have no vector of the encoder's model (new papers, or all
of them after a model change) and those whose title or abstract changed since they were embedded
(their content hash differs). Each batch is committed on its own, so a run that is killed loses at
most one batch, and the next run carries on with what is still missing.

Finding changed papers needs the text's hash, which SQL cannot compute: the first run (per model)
checks every stored vector; at its end it records the store's change sequence in a checkpoint
(`embed:<model>`), and later runs check only the papers changed since then.

Each batch stores the papers' key phrases with their vectors (`search.phrases.key_phrases_batch`:
the candidate phrases of the batch's abstracts, encoded once each, ranked against the vectors just
made), so a page view runs no model. `fill_phrases` is the backfill for vectors stored without
them (before migration 0009, or from a vectors file without phrases): resumable, chunked.

Shipping vectors as a file (the demo's) is ingest/vectors.py.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from dailypapers.search.encoder.embeddings import Encoder, document_vectors
from dailypapers.search.phrases import key_phrases_batch
from dailypapers.store import vectors as V

if TYPE_CHECKING:
    from dailypapers.store import Store

CHANGES_PAGE = 10_000


@dataclass
class EmbedReport:
    model_id: str
    encoder: str
    embedded: int = 0          # vectors written by this run
    stale: int = 0             # of which for papers whose text had changed
    batches: int = 0
    seconds: float = 0.0
    total: int = 0             # vectors of this model in the store afterwards
    complete: bool = False     # False when stopped early by `limit`
    phrase_seconds: float = 0.0  # of `seconds`, spent computing key phrases

    @property
    def rate(self) -> float:
        return self.embedded / self.seconds if self.seconds > 0 else 0.0


def checkpoint_name(model_id: str) -> str:
    return f"embed:{model_id}"


def count_pending(store: Store, model_id: str, dim: int | None = None) -> int:
    """Papers without a vector of this model: what a run will at least embed (changed ones add)."""
    return V.count_missing(store, model_id, dim=dim)


def embed_missing(store: Store, encoder: Encoder, batch_size: int = 256,
                  progress: Callable[[int, int], None] | None = None, *,
                  encode_batch_size: int | None = None, limit: int | None = None) -> EmbedReport:
    """Embed what is missing or stale for `encoder.model_id`; commit every `batch_size` papers.

    `progress(done, total)` is called after each committed batch (`total` grows when changed
    papers are found). `limit` stops after about that many papers (for a worker's time slice).
    `encode_batch_size`: texts per forward pass; None leaves it to the encoder (64 on the CPU,
    512 on a GPU). With `--device cuda`, pass a large `batch_size` (e.g. 50,000) so that each
    commit gives the GPU pipeline enough texts to keep its workers and the GPU busy.
    """
    model_id, dim = encoder.model_id, encoder.dim
    report = EmbedReport(model_id=model_id, encoder=getattr(encoder, "name", model_id))
    started = time.monotonic()
    seq_now = store.max_seq()
    state = store.load_checkpoint(checkpoint_name(model_id)) or {}
    total = V.count_missing(store, model_id, dim=dim)
    batch_size = max(1, int(batch_size))

    scheduled = 0  # papers handed to the writer (committed or about to be)
    writer = ThreadPoolExecutor(1, thread_name_prefix="embed-writer")
    in_flight: Future | None = None

    def budget() -> int:
        return batch_size if limit is None else max(0, min(batch_size, limit - scheduled))

    def committed(n: int, stale: bool) -> None:
        report.embedded += n
        report.stale += n if stale else 0
        report.batches += 1
        if progress:
            progress(report.embedded, max(total, report.embedded))

    def wait_for_writer() -> None:
        nonlocal in_flight
        if in_flight is not None:
            done, in_flight = in_flight, None
            done.result()  # re-raises a failed commit

    def save(rows, stale: bool, phrases) -> None:
        V.save_vectors(store, model_id, rows, phrases=phrases)
        committed(len(rows), stale)

    def run(items: Sequence[V.Pending], stale: bool) -> None:
        # The next batch is encoded while the writer thread commits the previous one; at most one
        # commit is in flight, so a killed run loses at most the batches not yet committed.
        nonlocal total, scheduled, in_flight
        if stale:
            total += len(items)
        for start in range(0, len(items), batch_size):
            part = items[start:start + batch_size]
            vecs = document_vectors(encoder, [p.text for p in part], [p.title for p in part],
                                    batch_size=encode_batch_size)
            rows = [(p.paper_id, V.content_hash(p.text), vec) for p, vec in zip(part, vecs, strict=True)]
            t0 = time.monotonic()
            found = key_phrases_batch([V.abstract_of(p) for p in part], vecs, encoder, batch_size=encode_batch_size)
            report.phrase_seconds += time.monotonic() - t0
            phrases = {p.paper_id: ph for p, ph in zip(part, found, strict=True)}
            wait_for_writer()
            in_flight = writer.submit(save, rows, stale, phrases)
            scheduled += len(part)

    def phases() -> bool:
        """Run both phases; True when stopped early by `limit`."""
        # 1. Papers whose text changed since their vector was made.
        if state.get("seq") is not None and state.get("dim") == dim:
            seq = int(state["seq"])
            while seq < seq_now:
                changes = [(s, pid) for s, pid in store.changes_since(seq, limit=CHANGES_PAGE) if s <= seq_now]
                if not changes:
                    break
                items = V.pending_among(store, model_id, [pid for _, pid in changes], dim=dim, stale_only=True)
                if limit is not None:
                    items = items[:max(0, limit - scheduled)]
                run(items, stale=True)
                seq = changes[-1][0]
                if limit is not None and scheduled >= limit:
                    return True
        else:
            cursor = None
            while True:
                n = budget()
                if n == 0:
                    return True
                items = V.stale(store, model_id, n, dim=dim, after=cursor)
                if items:
                    run(items, stale=True)
                    cursor = items[-1][0]
                if len(items) < n:
                    break
        # 2. Papers with no vector of this model (the cursor skips rows still being committed).
        cursor = None
        while True:
            n = budget()
            if n == 0:
                return True
            items = V.missing(store, model_id, n, dim=dim, after=cursor)
            if not items:
                return False
            run(items, stale=False)
            cursor = items[-1][0]

    try:
        stopped = phases()
        wait_for_writer()
    finally:
        writer.shutdown(wait=True)
    report.complete = not stopped
    if report.complete:
        store.save_checkpoint(checkpoint_name(model_id), {
            "seq": seq_now, "dim": dim, "encoder": report.encoder,
            "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")})
    report.seconds = time.monotonic() - started
    report.total = V.vector_count(store, model_id)
    return report


@dataclass
class PhraseReport:
    model_id: str
    stored: int = 0          # vectors given their key phrases by this run
    seconds: float = 0.0
    remaining: int = 0       # vectors of this model still without phrases (stale ones included)
    complete: bool = False   # False when stopped early by `limit`


def fill_phrases(store: Store, encoder: Encoder, batch_size: int = 256,
                 progress: Callable[[int], None] | None = None, *,
                 limit: int | None = None) -> PhraseReport:
    """Compute and store the key phrases of stored vectors of `encoder.model_id` that have none.

    Each batch is committed on its own; a killed run loses at most one batch and the next run
    carries on (what it looks for is exactly what is still missing). `progress(n)` is called with
    each committed batch's size; `limit` stops after about that many papers."""
    report = PhraseReport(model_id=encoder.model_id)
    started = time.monotonic()
    batch_size = max(1, int(batch_size))
    cursor: str | None = None
    stopped = False
    while True:
        n = batch_size if limit is None else min(batch_size, limit - report.stored)
        if n <= 0:
            stopped = True
            break
        work, cursor = V.without_phrases(store, encoder.model_id, n, after=cursor)
        if work:
            vecs = np.stack([w.vector for w in work])
            found = key_phrases_batch([w.abstract for w in work], vecs, encoder)
            report.stored += V.save_phrases(store, [(w.paper_id, w.content_hash, ph)
                                                    for w, ph in zip(work, found, strict=True)])
            if progress:
                progress(len(work))
        if cursor is None:
            break
    report.complete = not stopped
    report.seconds = time.monotonic() - started
    report.remaining = V.count_without_phrases(store, encoder.model_id)
    return report
