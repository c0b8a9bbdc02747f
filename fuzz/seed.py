"""Build the seeds of each fuzzer (fuzz/seeds/<target>/) from the recorded fixtures in tests/data
(small files only: a few kilobytes each), and redact's from the log lines below. Run once;
`make fuzz` keeps what it learns beyond them in fuzz/corpus/<target>/.

    python fuzz/seed.py [--force]
"""

from __future__ import annotations

import gzip
import hashlib
import itertools
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
FIXTURES = DATA / "fixtures"
SEEDS = ROOT / "fuzz" / "seeds"
MAX_SEED = 16384


def _lines(path: Path, n: int) -> list[bytes]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        return [line for line in itertools.islice(fh, n)]


def seeds() -> dict[str, list[bytes]]:
    atom = [p.read_bytes() for p in sorted((FIXTURES / "arxiv-api-atom").glob("*.xml"))]
    oai = [p.read_bytes() for p in sorted((FIXTURES / "arxiv-oai-pmh").glob("*.xml"))]
    abs_files = sorted((FIXTURES / "arxiv-abs").rglob("*.abs"))
    # one file per archive directory, so the seeds cover old-style and new-style ids
    by_archive = {}
    for path in abs_files:
        by_archive.setdefault(path.relative_to(FIXTURES / "arxiv-abs").parts[1], path)
    abs_seeds = [p.read_bytes() for p in by_archive.values()]
    snapshot = _lines(FIXTURES / "kaggle-snapshot" / "kaggle_snapshot_first200.jsonl", 12)
    snapshot += _lines(FIXTURES / "kaggle-snapshot" / "unarxive_2212_metadata49.jsonl", 4)
    listings = _lines(DATA / "arxiv_cs_listings.jsonl.gz", 8)
    hf = []
    for raw in _lines(DATA / "hf_daily_papers.jsonl.gz", 2) + _lines_tail(DATA / "hf_daily_papers.jsonl.gz", 1):
        day = json.loads(raw)
        entries = day["daily_papers"][:2]
        for entry in entries:  # the abstract is long; the fuzzer needs its shape, not its words
            entry["paper"]["summary"] = entry["paper"].get("summary", "")[:200]
            entry.pop("summary", None)
        hf.append(json.dumps({"date": day["date"], "daily_papers": entries}).encode() + b"\n")
        hf.append(json.dumps(entries).encode())  # the raw API response form
    return {"atom": atom, "oai": oai, "abs": abs_seeds, "snapshot": snapshot, "listings": listings, "hf": hf,
            "redact": REDACT}


# log lines redact sees: uvicorn's access log (with a long or hostile path), a library error quoting
# an address, a secret, an address at the cut, percent-encoding, non-ASCII and control characters
REDACT = [
    b'127.0.0.1:53412 - "GET /search?q=ada%40example.org&mode=hybrid HTTP/1.1" 200',
    b'127.0.0.1:53412 - "GET /' + b"a" * 2000 + b' HTTP/1.1" 414',
    b'127.0.0.1:53412 - "GET /?to=' + b"x.y+z" * 400 + b'@ HTTP/1.1" 404',
    b"SMTPRecipientsRefused: {'bob.smith+news@mail.example.co.uk': (550, b'5.1.1 unknown user')}",
    b"IntegrityError: duplicate key (email)=(Eve@Example.ORG) at users; secret fuzz-secret-0123456789",
    b"mailto:a@b.co, x@@y..z, @@@, a@-b.c, a@b., a.@b.c, \"quoted\"@example.org, 1@2.3",
    b"caf\xc3\xa9@exemple.fr \xe2\x80\xae\x00\x1b[31m@red.example\r\n\tcontinued",
]


def _lines_tail(path: Path, n: int) -> list[bytes]:
    with gzip.open(path, "rb") as fh:
        return fh.read().splitlines(keepends=True)[-n:]


def main(argv: list[str]) -> int:
    force = "--force" in argv
    for parser, items in seeds().items():
        target = SEEDS / parser
        if target.exists() and any(target.iterdir()) and not force:
            print(f"{parser}: seeds exist, left as they are")
            continue
        target.mkdir(parents=True, exist_ok=True)
        kept = [item for item in items if len(item) <= MAX_SEED]
        for item in kept:
            (target / hashlib.sha1(item).hexdigest()).write_bytes(item)
        print(f"{parser}: {len(kept)} seeds")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
