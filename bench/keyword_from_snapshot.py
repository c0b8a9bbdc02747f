"""A keyword index of a snapshot file without importing it first (for profiling search at scale).

    python bench/keyword_from_snapshot.py SNAPSHOT INDEX_DIR [--extra-db URL]

Each snapshot line becomes the Paper that `dailypapers import snapshot` would store for its
searchable fields (id, title, abstract, authors, categories, first-version date), and
KeywordIndex.rebuild indexes them as `dailypapers index rebuild` does. `--extra-db` adds the
papers of a database that are not in the file (the Hugging Face daily papers bench_scale imports
on top). Used when importing 2.7M lines and then rebuilding from the database does not fit the
time a session has; the index is the same index, the database behind it is not there.
"""

from __future__ import annotations

import argparse
import email.utils
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from dailypapers.models import Author, Paper  # noqa: E402
from dailypapers.search.keyword import KeywordIndex  # noqa: E402


def paper_of(line: str) -> Paper:
    rec = json.loads(line)
    cats = (rec.get("categories") or "").split()
    versions = rec.get("versions") or []
    published = email.utils.parsedate_to_datetime(versions[0]["created"]) if versions else None
    parsed = rec.get("authors_parsed") or []
    names = [" ".join(p for p in (a[1], a[0]) if p) for a in parsed if isinstance(a, list) and a]
    return Paper(arxiv_id=rec["id"], title=" ".join((rec.get("title") or "").split()),
                 abstract=" ".join((rec.get("abstract") or "").split()), authors=[Author(n) for n in names],
                 primary_category=cats[0] if cats else None, categories=cats, published=published,
                 version=len(versions) or None)


def papers(snapshot: Path, extra_db: str | None) -> Iterator[Paper]:
    seen = set()
    started, n = time.monotonic(), 0
    with open(snapshot) as f:
        for line in f:
            if line.strip():
                paper = paper_of(line)
                seen.add(paper.arxiv_id)
                n += 1
                if n % 100_000 == 0:
                    print(f"{n:,} papers, {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
                yield paper
    if extra_db:
        from dailypapers.store import Store

        store = Store.open(extra_db, migrate_schema=False)
        yield from (p for p in store.iter_papers() if p.arxiv_id not in seen)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("snapshot", type=Path)
    parser.add_argument("index", type=Path)
    parser.add_argument("--extra-db")
    args = parser.parse_args()
    wall, cpu = time.perf_counter(), time.process_time()
    n = KeywordIndex(args.index).rebuild(papers(args.snapshot, args.extra_db), last_seq=0)
    out = {"papers": n, "seconds": time.perf_counter() - wall, "cpu_seconds": time.process_time() - cpu}
    (args.index.parent / "keyword_build.json").write_text(json.dumps(out))
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
