"""Keeps a node's search index current by following the store's change sequence."""

from __future__ import annotations

from collections.abc import Callable

from ..store import Store


def sync_keyword_index(store: Store, index, *, batch: int = 5000,
                       progress: Callable[[int], None] | None = None) -> int:
    """Index every paper changed since the index's last sequence number; return how many."""
    done = 0
    while True:
        changes = store.changes_since(index.last_seq, limit=batch)
        if not changes:
            return done
        ids = list(dict.fromkeys(pid for _, pid in changes))
        papers = list(store.iter_papers(ids))
        index.add(papers)
        index.set_last_seq(changes[-1][0])
        done += len(ids)
        if progress:
            progress(len(ids))


def rebuild_keyword_index(store: Store, index, progress: Callable[[int], None] | None = None) -> int:
    """Rebuild from scratch; the sequence is read first so nothing written meanwhile is missed."""
    seq = store.max_seq()

    def papers():
        for n, paper in enumerate(store.iter_papers(), 1):
            if progress and n % 1000 == 0:
                progress(1000)
            yield paper

    count = index.rebuild(papers())
    index.set_last_seq(seq)
    return count
