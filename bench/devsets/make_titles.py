"""The `titles` dev set: half-remembered titles (deterministic; rerun freely).

    python bench/devsets/make_titles.py

Known-item queries over this folder's corpus: for the papers whose id hashes (sha1 of "t"+id)
to 0 mod 25, the title without a coined name before a colon ("Z-Magic: ..."), without
stopwords and punctuation, lower-cased, then without every third remaining word, at most six
words ("curriculum reinforcement learning quadruped" for "Learning Quadruped Locomotion with a
Curriculum of ..."): the words a reader remembers of a title, some missing, none invented.
Relevant: that paper. Keyword search is strong here, meaning helps when a word is misremembered.
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
    folder = HERE / "titles"
    folder.mkdir(exist_ok=True)
    (folder / "queries.jsonl").write_text("".join(json.dumps(q) + "\n" for q in queries))
    (folder / "qrels.tsv").write_text("query-id\tcorpus-id\tscore\n" + "".join(f"{q}\t{d}\t1\n" for q, d in qrels))
    print(f"titles: {len(queries)} queries")


if __name__ == "__main__":
    main()
