"""Build a large arXiv metadata snapshot (`arxiv-metadata-oai-snapshot.json` format) from real records.

    python bench/make_snapshot.py --lines 2700000 --out /work/scale/snapshot_2700000.jsonl

Seeds are the real records in ../shared/data: the 75k cs listings (turned into snapshot lines) and
the 249 snapshot fixture lines. Each output line is a copy of a seed with a new, valid new-style id
(YYMM.NNNNN, months 1501 onwards, numbers from 60001 so that no real id is reused, in id order
as in the real file), a first version dated in that
id's month, and its text varied so the keyword index is not 36 copies of one corpus: sentences of
the abstract are reordered, about one word in twelve of the abstract and one word of the title are
swapped for words drawn from the whole corpus (so frequencies stay Zipf-like), and authors are
partly replaced by authors of other papers. Deterministic for a given --seed.
"""

from __future__ import annotations

import argparse
import calendar
import datetime as dt
import gzip
import json
import random
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
FIRST_NUMBER = 60001  # above any real monthly count, so real ids (the Hugging Face papers) never collide
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def listing_to_snapshot(row: dict) -> dict:
    authors = [a for a in row.get("authors") or [] if isinstance(a, str) and a.strip()]
    return {
        "id": row["id"], "submitter": authors[0] if authors else None, "authors": ", ".join(authors),
        "title": row["title"], "comments": row.get("comment"), "journal-ref": None, "doi": None,
        "report-no": None, "categories": " ".join(row.get("categories") or []), "license": None,
        "abstract": row.get("summary") or "", "versions": [], "update_date": row.get("announced"),
        "authors_parsed": [_split_name(a) for a in authors],
    }


def _split_name(name: str) -> list[str]:
    parts = name.split()
    return [parts[-1], " ".join(parts[:-1]), ""] if len(parts) > 1 else [name, "", ""]


def load_seeds() -> list[dict]:
    seeds: list[dict] = []
    for name in ("kaggle_snapshot_first200.jsonl", "unarxive_2212_metadata49.jsonl"):
        with open(SHARED / "fixtures" / "kaggle-snapshot" / name) as f:
            seeds += [json.loads(line) for line in f if line.strip()]
    with gzip.open(SHARED / "arxiv_cs_listings.jsonl.gz", "rt") as f:
        seeds += [listing_to_snapshot(json.loads(line)) for line in f if line.strip()]
    return seeds


def rfc2822(day: dt.datetime) -> str:
    return (f"{_DAYS[day.weekday()]}, {day.day} {_MONTHS[day.month - 1]} {day.year} "
            f"{day.hour:02d}:{day.minute:02d}:{day.second:02d} GMT")


class Generator:
    def __init__(self, seeds: list[dict], lines: int, rng: random.Random) -> None:
        self.seeds, self.rng = seeds, rng
        self.words = [w for s in seeds[:20000] for w in (s["abstract"] or "").split()]
        self.title_words = [w for s in seeds for w in s["title"].split() if len(w) > 3]
        self.authors = [a for s in seeds[:30000] for a in s.get("authors_parsed") or [] if isinstance(a, list)]
        self.months = [(y, m) for y in range(15, 27) for m in range(1, 13)]
        self.per_month = -(-lines // len(self.months))
        if self.per_month + FIRST_NUMBER > 99999:
            raise SystemExit(f"{lines:,} lines do not fit five-digit ids in {len(self.months)} months")

    def line(self, n: int) -> dict:
        rng = self.rng
        seed = self.seeds[rng.randrange(len(self.seeds))]
        year, month = self.months[n // self.per_month]
        rec = dict(seed)
        rec["id"] = f"{year:02d}{month:02d}.{n % self.per_month + FIRST_NUMBER:05d}"
        rec["title"] = self._vary_title(seed["title"])
        rec["abstract"] = self._vary_abstract(seed["abstract"] or "")
        parsed = [list(a) for a in seed.get("authors_parsed") or [] if isinstance(a, list)]
        for i in range(len(parsed)):
            if rng.random() < 0.3:
                parsed[i] = list(self.authors[rng.randrange(len(self.authors))])
        if parsed:
            rec["authors_parsed"] = parsed
            rec["authors"] = ", ".join(" ".join(p for p in (a[1], a[0]) if p) for a in parsed)
        last = calendar.monthrange(2000 + year, month)[1]
        first = dt.datetime(2000 + year, month, rng.randint(1, last), rng.randrange(24), rng.randrange(60),
                            rng.randrange(60))
        versions = [{"version": "v1", "created": rfc2822(first)}]
        for v in range(2, 2 + (rng.random() < 0.35) + (rng.random() < 0.1)):
            first = first + dt.timedelta(days=rng.randint(1, 200), seconds=rng.randrange(86400))
            versions.append({"version": f"v{v}", "created": rfc2822(first)})
        rec["versions"] = versions
        rec["update_date"] = first.date().isoformat()
        return rec

    def _vary_title(self, title: str) -> str:
        words = title.split()
        if words:
            words[self.rng.randrange(len(words))] = self.title_words[self.rng.randrange(len(self.title_words))]
        return " ".join(words)

    def _vary_abstract(self, text: str) -> str:
        rng = self.rng
        sentences = _SENTENCE.split(" ".join(text.split()))
        if len(sentences) > 2 and rng.random() < 0.7:
            head, rest = sentences[0], sentences[1:]
            rng.shuffle(rest)
            sentences = [head] + rest
        words = " ".join(sentences).split(" ")
        for _ in range(len(words) // 12):
            words[rng.randrange(len(words))] = self.words[rng.randrange(len(self.words))]
        return " ".join(words)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=2_700_000)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=6)
    args = parser.parse_args()
    started = time.monotonic()
    gen = Generator(load_seeds(), args.lines, random.Random(args.seed))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(args.out.suffix + ".part")
    with open(tmp, "w", buffering=1 << 20) as f:
        for n in range(args.lines):
            f.write(json.dumps(gen.line(n), ensure_ascii=False) + "\n")
            if n and n % 200_000 == 0:
                print(f"{n:,} lines, {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
    tmp.rename(args.out)
    print(f"{args.lines:,} lines -> {args.out} ({args.out.stat().st_size / 1e9:.2f} GB) in "
          f"{time.monotonic() - started:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
