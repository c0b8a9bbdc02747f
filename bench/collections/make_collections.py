"""Convert the classic test collections (SMART / Glasgow formats) to BEIR files.

    python bench/collections/make_collections.py RAW_DIR [--only cran,cisi]

RAW_DIR holds the original files, unpacked from the tarballs named in each SOURCE.md:
`cran/{cran.all.1400,cran.qry,cranqrel}`, `cisi/CISI.{ALL,QRY,REL}`, `med/MED.{ALL,QRY,REL}`,
`adi/ADI.{ALL,QRY,REL}` (and `lisa/{LISA*.0*,LISA.QUE,LISA.REL}`, not shipped: see README.md),
and `scifact/scifact.zip` as copied (not unpacked; see scifact/SOURCE.md).
Each collection becomes
`bench/collections/<name>/{corpus.jsonl[.gz],queries.jsonl,qrels/test.tsv}`: `_id` is the
collection's own number, `title` its .T field (the first paragraph in LISA; none in MED),
`text` the abstract (.W; Cranfield's, which repeats the title, without it). Queries are the .W
text with whitespace collapsed. Relevance: binary 1, except Cranfield, graded 4 (a complete
answer, Cleverdon's code 1) down to 1 (minimum interest, code 4); its -1 (no interest) is left out.
Cranfield's qrels number the queries 1-225 in file order (the .I numbers skip), as do these files.
SciFact (a CSV export of the release, abstracts as lists of sentences) becomes BEIR's own
`scifact` test set: every abstract (`_id` its S2ORC id, `text` its sentences joined by spaces),
the 300 claims of the dev split as queries, each relevant to every document its source citation
cited (binary 1), which reproduces BEIR's qrels/test.tsv pair for pair.
Deterministic: rerun it and nothing changes (the gzip header carries no time stamp).
"""

from __future__ import annotations

import argparse
import ast
import csv
import gzip
import io
import json
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

OUT = Path(__file__).resolve().parent
GZIP_ABOVE = 1_000_000  # bytes: a larger corpus file is stored gzip-compressed


def squash(text: str) -> str:
    return " ".join(text.split())


def smart_records(path: Path) -> Iterator[dict[str, str]]:
    """Records of a SMART-format file: {'I': id, 'T': ..., 'W': ..., ...} (fields joined by newlines)."""
    record: dict[str, str] | None = None
    field = None
    for line in path.read_text(encoding="latin-1").splitlines():
        m = re.match(r"^\.([A-Z])(?:\s+(.*))?$", line)
        if m and m.group(1) == "I":
            if record is not None:
                yield record
            record, field = {"I": (m.group(2) or "").strip()}, None
        elif m and record is not None:
            field = m.group(1)
            record.setdefault(field, "")
            if m.group(2) and field != "I":
                record[field] += m.group(2) + "\n"
        elif record is not None and field is not None:
            record[field] += line + "\n"
    if record is not None:
        yield record


def strip_repeated_title(title: str, text: str) -> str:
    """Cranfield's abstracts open with their title: drop it when it is there word for word."""
    t, w = squash(title), squash(text)
    return w[len(t):].strip() if t and w.startswith(t) else w


def smart_corpus(path: Path, drop_title_echo: bool = False) -> list[dict]:
    docs = []
    for r in smart_records(path):
        title, text = squash(r.get("T", "")), squash(r.get("W", ""))
        if drop_title_echo:
            text = strip_repeated_title(title, r.get("W", ""))
        docs.append({"_id": r["I"], "title": title, "text": text})
    return docs


def smart_queries(path: Path, renumber: bool = False) -> list[dict]:
    queries = [squash(r.get("W", "")) for r in smart_records(path)]
    ids = [r["I"] for r in smart_records(path)]
    return [{"_id": str(n) if renumber else str(int(i)), "text": q}
            for n, (i, q) in enumerate(zip(ids, queries, strict=True), 1)]


def pairs_qrels(path: Path, q_col: int, d_col: int) -> list[tuple[str, str, int]]:
    out = []
    for line in path.read_text(encoding="latin-1").splitlines():
        parts = line.split()
        if len(parts) > max(q_col, d_col):
            out.append((str(int(parts[q_col])), str(int(parts[d_col])), 1))
    return out


def cran_qrels(path: Path) -> list[tuple[str, str, int]]:
    out = []
    for line in path.read_text(encoding="latin-1").splitlines():
        parts = line.split()
        if len(parts) == 3 and 1 <= int(parts[2]) <= 4:
            out.append((str(int(parts[0])), str(int(parts[1])), 5 - int(parts[2])))
    return out


def lisa_corpus(folder: Path) -> list[dict]:
    files = sorted(p for p in folder.iterdir() if re.fullmatch(r"LISA\d\.\d{3}", p.name))
    text = "\n".join(p.read_text(encoding="latin-1") for p in files)
    docs = []
    for chunk in re.split(r"^\*{10,}\s*$", text, flags=re.M):
        m = re.match(r"\s*Document\s+(\d+)\s*\n(.*)", chunk, flags=re.S)
        if not m:
            continue
        head, _, body = m.group(2).partition("\n\n")
        docs.append({"_id": str(int(m.group(1))), "title": squash(head), "text": squash(body)})
    return docs


def lisa_queries(path: Path) -> list[dict]:
    out = []
    for m in re.finditer(r"^\s*(\d+)\s*\n(.*?)#", path.read_text(encoding="latin-1"), flags=re.S | re.M):
        out.append({"_id": str(int(m.group(1))), "text": squash(m.group(2))})
    return out


def lisa_qrels(path: Path) -> list[tuple[str, str, int]]:
    out = []
    text = path.read_text(encoding="latin-1")
    for m in re.finditer(r"Query\s+(\d+)\s+\d+\s+Relevant Refs:\s*([\d\s]*)-1", text):
        out += [(str(int(m.group(1))), str(int(d)), 1) for d in m.group(2).split()]
    return out


PY_STRING = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"", re.S)


def numpy_strings(cell: str) -> list[str]:
    """The strings of a numpy array as pandas writes it to CSV: `['a' "b's" ...]`, newline-separated."""
    inner = cell.strip().removeprefix("[").removesuffix("]")
    if PY_STRING.sub("", inner).strip():
        raise ValueError(f"not a list of string literals: {cell[:80]!r}")
    return [ast.literal_eval(lit) for lit in PY_STRING.findall(inner)]


def zip_csv(archive: zipfile.ZipFile, name: str) -> list[dict[str, str]]:
    csv.field_size_limit(1 << 30)
    with archive.open(name) as raw:
        return list(csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8", newline="")))


def scifact(path: Path) -> tuple[list[dict], list[dict], list[tuple[str, str, int]]]:
    with zipfile.ZipFile(path) as archive:
        rows, claims = zip_csv(archive, "corpus_train.csv"), zip_csv(archive, "claims_validation.csv")
    docs = [{"_id": r["doc_id"], "title": squash(r["title"]), "text": squash(" ".join(numpy_strings(r["abstract"])))}
            for r in rows]
    texts: dict[str, str] = {}
    qrels = []
    for c in claims:  # one row per (claim, evidence document); the cited ids repeat on each
        texts.setdefault(c["id"], squash(c["claim"]))
        qrels += [(c["id"], doc, 1) for doc in re.findall(r"\d+", c["cited_doc_ids"])]
    queries = [{"_id": i, "text": t} for i, t in sorted(texts.items(), key=lambda kv: int(kv[0]))]
    return docs, queries, qrels


def build(name: str, raw: Path) -> tuple[list[dict], list[dict], list[tuple[str, str, int]]]:
    d = raw / name
    if name == "cran":
        return (smart_corpus(d / "cran.all.1400", drop_title_echo=True),
                smart_queries(d / "cran.qry", renumber=True), cran_qrels(d / "cranqrel"))
    if name == "scifact":
        return scifact(d / "scifact.zip")
    if name == "lisa":
        return lisa_corpus(d), lisa_queries(d / "LISA.QUE"), lisa_qrels(d / "LISA.REL")
    upper = name.upper()
    cols = {"med": (0, 2), "cisi": (0, 1), "adi": (0, 1)}[name]
    return (smart_corpus(d / f"{upper}.ALL"), smart_queries(d / f"{upper}.QRY"),
            pairs_qrels(d / f"{upper}.REL", *cols))


def write(name: str, docs: list[dict], queries: list[dict], qrels: list[tuple[str, str, int]]) -> None:
    folder = OUT / name
    (folder / "qrels").mkdir(parents=True, exist_ok=True)
    doc_ids = {d["_id"] for d in docs}
    query_ids = {q["_id"] for q in queries}
    kept = sorted({(q, d): s for q, d, s in qrels if q in query_ids and d in doc_ids}.items(),
                  key=lambda kv: (int(kv[0][0]), int(kv[0][1])))
    corpus = "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs).encode()
    for old in (folder / "corpus.jsonl", folder / "corpus.jsonl.gz"):
        old.unlink(missing_ok=True)
    if len(corpus) > GZIP_ABOVE:
        buf = io.BytesIO()
        with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, filename="") as gz:
            gz.write(corpus)
        (folder / "corpus.jsonl.gz").write_bytes(buf.getvalue())
    else:
        (folder / "corpus.jsonl").write_bytes(corpus)
    (folder / "queries.jsonl").write_text("".join(json.dumps(q) + "\n" for q in queries))
    (folder / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "".join(f"{q}\t{d}\t{s}\n" for (q, d), s in kept))
    judged = len({q for (q, _), _ in kept})
    print(f"{name}: {len(docs)} documents, {len(queries)} queries ({judged} judged), {len(kept)} judgements")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("raw", type=Path)
    ap.add_argument("--only", default="cran,cisi,med,adi,scifact")
    args = ap.parse_args()
    for name in args.only.split(","):
        write(name, *build(name, args.raw))


if __name__ == "__main__":
    main()
