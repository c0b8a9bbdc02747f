"""200 concurrent clients upvote the same papers against a real uvicorn server on loopback
(bounded in time): the final counts equal the votes cast and no request fails, on the backend
under test. bench/bench_votes.py runs the same code and records its figures in BENCHMARKS.md."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

from bench_votes import fresh_app, run_load, seed  # noqa: E402

pytestmark = pytest.mark.slow
CLIENTS, PAPERS = 200, 3


def test_concurrent_votes_count_exactly(backend):
    with fresh_app(backend) as (app, store):
        ids, tokens = seed(store, CLIENTS, PAPERS)
        result = run_load(app, store, ids, tokens, timeout_s=90)
        assert result.errors == []
        assert result.requests == CLIENTS * (PAPERS + 1)
        assert result.counted == result.expected == {pid: CLIENTS for pid in ids}
        # the pages show the imported baseline plus exactly the local votes
        from fastapi.testclient import TestClient

        paper = TestClient(app).get(f"/api/papers/{ids[0]}").json()
        assert (paper["importedUpvotes"], paper["localUpvotes"], paper["upvotes"]) == (7, CLIENTS, 7 + CLIENTS)
