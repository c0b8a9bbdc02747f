"""The `titles` and `misremembered` dev sets: half-remembered titles (deterministic; rerun freely).

    python bench/devsets/make_titles.py

Known-item queries over this folder's corpus: for the papers whose id hashes (sha1 of "t"+id)
to 0 mod 25, the title without a coined name before a colon ("Z-Magic: ..."), without
stopwords and punctuation, lower-cased, then without every third remaining word, at most six
words ("curriculum reinforcement learning quadruped" for "Learning Quadruped Locomotion with a
Curriculum of ..."): the words a reader remembers of a title, some missing, none invented.
Relevant: that paper. Keyword search is strong here.

`misremembered`: the same queries with one word added that the paper does not use (the first of
EXTRA, in order, absent from its title and abstract): a title remembered with a wrong word, so
no paper has every word and the any-word keyword list has to be weighed against meaning.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
STOP = {
    "a", "an", "the", "of", "for", "and", "or", "in", "on", "to", "with", "by", "from", "via", "is", "are", "be",
    "as", "at", "its", "it", "this", "that", "we", "our", "into", "using", "use", "based", "towards", "toward", "how",
    "what", "when", "can", "do", "does", "not", "vs",
}


EXTRA = ["framework", "efficient", "novel", "robust", "deep", "scalable", "approach", "analysis", "improved",
         "towards", "adaptive", "generalized", "unified", "simple"]


def misremembered(query: str, doc: dict) -> str:
    used = set(re.findall(r"[a-z0-9'-]+", (doc["title"] + " " + doc["text"]).lower()))
    extra = next(w for w in EXTRA if w not in used and w not in query.split())
    return f"{query} {extra}"


def half_remembered(title: str) -> str | None:
    head, sep, rest = title.partition(":")
    body = rest if sep and len(head.split()) <= 3 else title
    words = [w.lower() for w in re.findall(r"[A-Za-z][A-Za-z0-9'-]*", body) if w.lower() not in STOP]
    kept = [w for i, w in enumerate(words) if i % 3 != 2][:6]
    return " ".join(kept) if len(kept) >= 3 else None


def main() -> None:
    with gzip.open(HERE / "corpus.jsonl.gz", "rt") as fh:
        docs = [json.loads(line) for line in fh]
    queries, qrels = [], []
    for d in docs:
        if int(hashlib.sha1(("t" + d["_id"]).encode()).hexdigest(), 16) % 25:
            continue
        text = half_remembered(d["title"])
        if text:
            qid = f"h{len(queries) + 1:03d}"
            queries.append({"_id": qid, "text": text})
            qrels.append((qid, d["_id"]))
    write(HERE / "titles", queries, qrels)
    by_id = {d["_id"]: d for d in docs}
    wrong = [{"_id": "w" + q["_id"][1:], "text": misremembered(q["text"], by_id[d])}
             for q, (_, d) in zip(queries, qrels, strict=True)]
    write(HERE / "misremembered", wrong, [("w" + q[1:], d) for q, d in qrels])


def write(folder: Path, queries: list[dict], qrels: list[tuple[str, str]]) -> None:
    folder.mkdir(exist_ok=True)
    (folder / "queries.jsonl").write_text("".join(json.dumps(q) + "\n" for q in queries))
    (folder / "qrels.tsv").write_text("query-id\tcorpus-id\tscore\n" + "".join(f"{q}\t{d}\t1\n" for q, d in qrels))
    print(f"{folder.name}: {len(queries)} queries")


if __name__ == "__main__":
    main()
