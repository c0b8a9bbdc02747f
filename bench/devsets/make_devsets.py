"""Build the development sets in this folder from ../shared/data (deterministic; rerun freely).

    python bench/devsets/make_devsets.py

Corpus: the papers of arxiv_cs_listings.jsonl.gz whose id hashes (sha1) to 0 mod 19 — about
3,900 of the 74,728, spread over the whole period — as BEIR lines {_id, title, text}.

Query sets (each a folder with queries.jsonl and qrels.tsv, all over the same corpus):

- `sentence`: 200 known-item queries. For a sample of papers (sha1 of "q"+id mod 20 == 0), the
  abstract's second sentence (the first if there is no second) without stopwords and without
  any word of the title, then every other remaining word, at most 7. Keyword-style: the words
  are the abstract's own, but several papers share some of them.
- `paraphrase`: known-item queries written by hand (handwritten.json) for papers of the corpus:
  the title said another way, avoiding its distinctive words, the way a person who half
  remembers a paper would search for it.
- `topics`: topic descriptions written by hand (handwritten.json) that avoid the topic's usual
  name; a paper is relevant (score 1) when its title or abstract matches the topic's regular
  expression (its usual names), e.g. "making 3D scenes out of many small blurry ellipsoids"
  -> /gaussian splatting|3dgs/.
- `mixed`: each `paraphrase` query plus one word of its paper's abstract that is not in the title
  and that between 2 and 20 papers of the corpus use (the rarest such word, ties by the word):
  a half-remembered paper with one exact term, where both lists carry part of the answer.
- `categories`: the names of arXiv categories ("information theory", "robotics", …) with every
  paper listed in that category relevant.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE.parents[2] / "shared" / "data" / "arxiv_cs_listings.jsonl.gz"
if not SOURCE.exists():
    SOURCE = HERE.parents[1].parent / "shared" / "data" / "arxiv_cs_listings.jsonl.gz"

CATEGORY_NAMES = {
    "cs.RO": "robotics", "cs.IT": "information theory", "cs.GR": "computer graphics",
    "cs.GT": "computer science and game theory", "cs.CE": "computational engineering, finance, and science",
    "eess.IV": "image and video processing", "cs.HC": "human-computer interaction",
    "cs.IR": "information retrieval", "cs.SD": "sound", "cs.CR": "cryptography and security",
    "eess.SY": "systems and control", "cs.CY": "computers and society", "cs.SE": "software engineering",
    "eess.AS": "audio and speech processing", "cs.MM": "multimedia", "cs.NE": "neural and evolutionary computing",
    "cs.MA": "multiagent systems", "cs.LG": "machine learning", "cs.DB": "databases",
    "cs.DL": "digital libraries", "cs.SI": "social and information networks",
}
STOP = {
    "a", "an", "the", "of", "for", "and", "or", "in", "on", "to", "with", "by", "from", "via", "is", "are", "be",
    "as", "at", "its", "it", "this", "that", "we", "our", "into", "using", "use", "based", "towards", "toward", "how",
    "what", "when", "can", "do", "does", "not", "vs",
}


def h(text: str) -> int:
    return int(hashlib.sha1(text.encode()).hexdigest(), 16)


def clean(text: str) -> str:
    return " ".join((text or "").split())


def load_corpus() -> list[dict]:
    docs = []
    with gzip.open(SOURCE, "rt") as fh:
        for line in fh:
            d = json.loads(line)
            if h(d["id"]) % 19 == 0:
                docs.append({"_id": d["id"], "title": clean(d["title"]), "text": clean(d["summary"]),
                             "categories": d.get("categories") or []})
    docs.sort(key=lambda d: d["_id"])
    return docs


def sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+(?=[A-Z])", text) if len(s.split()) >= 6]


def sentence_query(doc: dict) -> str | None:
    title_words = {w.lower() for w in re.findall(r"\w+", doc["title"])}
    sents = sentences(doc["text"])
    if not sents:
        return None
    sent = sents[1] if len(sents) > 1 else sents[0]
    words = [w for w in re.findall(r"[\w'-]+", sent) if w.lower() not in title_words and w.lower() not in STOP]
    words = words[::2][:7]  # every other content word: several papers share some of them
    return " ".join(words) if len(words) >= 4 else None


def words(text: str) -> set[str]:
    return {w.lower() for w in re.findall(r"[A-Za-z][A-Za-z-]{4,}", text)}


def mixed_queries(docs: list[dict], by_id: dict, paraphrases: list[dict]) -> tuple[list[dict], list]:
    df: dict[str, int] = {}
    for d in docs:
        for w in words(d["title"] + " " + d["text"]):
            df[w] = df.get(w, 0) + 1
    queries, qrels = [], []
    for n, item in enumerate(paraphrases, 1):
        doc = by_id[item["id"]]
        said = words(doc["title"]) | words(item["query"]) | STOP
        pool = sorted((df[w], w) for w in words(doc["text"]) - said if 2 <= df[w] <= 20)
        if not pool:
            continue
        qid = f"m{n:03d}"
        queries.append({"_id": qid, "text": f"{item['query']} {pool[0][1]}"})
        qrels.append((qid, item["id"], 1))
    return queries, qrels


def write_set(name: str, queries: list[dict], qrels: list[tuple[str, str, int]]) -> None:
    folder = HERE / name
    folder.mkdir(exist_ok=True)
    with open(folder / "queries.jsonl", "w") as fh:
        fh.writelines(json.dumps({"_id": q["_id"], "text": q["text"]}, ensure_ascii=False) + "\n" for q in queries)
    with open(folder / "qrels.tsv", "w") as fh:
        fh.write("query-id\tcorpus-id\tscore\n")
        fh.writelines(f"{qid}\t{did}\t{score}\n" for qid, did, score in qrels)
    print(f"{name}: {len(queries)} queries, {len(qrels)} judgements")


def main() -> None:
    docs = load_corpus()
    lines = "".join(json.dumps({"_id": d["_id"], "title": d["title"], "text": d["text"]}, ensure_ascii=False) + "\n"
                    for d in docs)
    corpus = HERE / "corpus.jsonl.gz"
    if not corpus.exists() or gzip.decompress(corpus.read_bytes()).decode() != lines:  # same text: keep the file
        with gzip.GzipFile(corpus, "wb", compresslevel=9, mtime=0) as fh:
            fh.write(lines.encode())
    print(f"corpus: {len(docs)} papers")
    by_id = {d["_id"]: d for d in docs}

    queries, qrels = [], []
    for d in docs:
        if h("q" + d["_id"]) % 20 == 0 and len(queries) < 200:
            text = sentence_query(d)
            if text:
                qid = f"s{len(queries) + 1:03d}"
                queries.append({"_id": qid, "text": text})
                qrels.append((qid, d["_id"], 1))
    write_set("sentence", queries, qrels)

    hand = json.loads((HERE / "handwritten.json").read_text())
    queries, qrels = [], []
    for n, item in enumerate(hand["paraphrase"], 1):
        assert item["id"] in by_id, item["id"]
        queries.append({"_id": f"p{n:03d}", "text": item["query"]})
        qrels.append((f"p{n:03d}", item["id"], 1))
    write_set("paraphrase", queries, qrels)
    write_set("mixed", *mixed_queries(docs, by_id, hand["paraphrase"]))

    queries, qrels = [], []
    for n, item in enumerate(hand["topics"], 1):
        rx = re.compile(item["relevant_if"], re.IGNORECASE)
        rel = [d["_id"] for d in docs if rx.search(d["title"] + " " + d["text"])]
        if len(rel) < 3:
            print(f"  topic {item['query']!r}: only {len(rel)} relevant, skipped")
            continue
        qid = f"t{n:03d}"
        queries.append({"_id": qid, "text": item["query"]})
        qrels += [(qid, r, 1) for r in rel]
    write_set("topics", queries, qrels)

    queries, qrels = [], []
    for n, (cat, name) in enumerate(sorted(CATEGORY_NAMES.items()), 1):
        rel = [d["_id"] for d in docs if cat in d["categories"]]
        if len(rel) < 3:
            continue
        qid = f"c{n:03d}"
        queries.append({"_id": qid, "text": name})
        qrels += [(qid, r, 1) for r in rel]
    write_set("categories", queries, qrels)


if __name__ == "__main__":
    main()
