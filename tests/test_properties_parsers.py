"""Every source parser against any input (hypothesis): bytes in, storable Records or typed
ParseErrors out, never another exception (the contract of fuzz/harness.py, which the atheris
fuzzers check byte by byte).

These tests are structure-aware where the fuzzers are not: they take small real documents of
each format and change their fields - a value of another JSON type, a huge integer, text with NUL,
lone surrogates, control characters or XML character references, a missing or repeated element, a
truncated or gzipped stream - so the parser is pushed past its syntax checks into its field logic.
"""

from __future__ import annotations

import copy
import gzip
import itertools
import json
import sys
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from lxml import etree
from support import hypothesis_profile  # noqa: F401  (loads the profile)
from support.paths import DATA

FUZZ = Path(__file__).resolve().parents[1] / "fuzz"
sys.path.insert(0, str(FUZZ))
import harness  # noqa: E402

from dailypapers.errors import ParseError  # noqa: E402
from dailypapers.models import Record  # noqa: E402

FIXTURES = DATA / "fixtures"


def _lines(path: Path, n: int) -> list[bytes]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        return list(itertools.islice(fh, n))


def _hf_seeds() -> list[bytes]:
    out = []
    for raw in _lines(DATA / "hf_daily_papers.jsonl.gz", 1):
        day = json.loads(raw)
        entries = day["daily_papers"][:2]
        for entry in entries:
            entry["paper"]["summary"] = entry["paper"].get("summary", "")[:200]
        out.append(json.dumps({"date": day["date"], "daily_papers": entries}).encode() + b"\n")
        out.append(json.dumps(entries).encode())
    return out


SEEDS: dict[str, list[bytes]] = {
    "atom": [p.read_bytes() for p in sorted((FIXTURES / "arxiv-api-atom").glob("*.xml"))
             if p.stat().st_size < 20_000][:4],
    "oai": [(FIXTURES / "arxiv-oai-pmh" / "getrecord_0.xml").read_bytes(),
            (FIXTURES / "arxiv-oai-pmh" / "listrecords_0.xml").read_bytes()[:60_000]],
    "abs": [(FIXTURES / "arxiv-abs/ftp/hep-th/papers/9709/9709111.abs").read_bytes(),
            (FIXTURES / "arxiv-abs/ftp/funct-an/papers/9301/9301001.abs").read_bytes()],
    "snapshot": _lines(FIXTURES / "kaggle-snapshot" / "kaggle_snapshot_first200.jsonl", 2)
    + _lines(FIXTURES / "kaggle-snapshot" / "unarxive_2212_metadata49.jsonl", 1),
    "listings": _lines(DATA / "arxiv_cs_listings.jsonl.gz", 2),
    "hf": _hf_seeds(),
}
JSON_FORMATS = ("hf", "snapshot", "listings")
XML_FORMATS = ("atom", "oai")


def check(fmt: str, data: bytes) -> list[Record | ParseError]:
    """The contract; also: every ParseError names where it happened."""
    items = harness.check(fmt, data)
    for item in items:
        if isinstance(item, ParseError):
            assert item.source == "<fuzz>", item
    return items


def test_every_parser_has_seeds_that_parse():
    assert set(SEEDS) == set(harness.FORMATS)
    for fmt, seeds in SEEDS.items():
        assert seeds, fmt
        records = [r for seed in seeds for r in check(fmt, seed) if isinstance(r, Record)]
        assert records, f"{fmt}: the unchanged seeds give no record"


# -- text and values an attacker or a broken exporter produces ---------------------------

surrogates = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
nasty_chars = st.sampled_from(["\x00", "\x01", "\x1b", "\x7f", "\u202e", "\ufeff", "\ufffe", "\uffff", "\u2028",
                               "\r", "\n", "\t", "\\", "\"", "<", "&", "𝕏", "\u0301"]) | surrogates
nasty_text = st.text(st.characters() | nasty_chars, max_size=40) | st.sampled_from(
    ["", " ", "]]>", "null", "0", "-1", "1e999", "NaN", "v0", "v-1", "v99999999999999999999", "0000.0000",
     "2405.15738v0", "hep-th/99", "9999-99-99", "2024-02-30", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59+25:00",
     "Mon, 32 Dec 1997 25:61:61 GMT", "x" * 3000])
big_ints = st.integers() | st.sampled_from([2**63, -(2**63) - 1, 2**64, 10**30, -1, 0])
json_scalars = st.none() | st.booleans() | big_ints | st.floats() | nasty_text
json_values = st.recursive(json_scalars, lambda kids: st.lists(kids, max_size=4)
                           | st.dictionaries(nasty_text, kids, max_size=4), max_leaves=12)


def _paths(value, prefix=()):
    """Every path into a JSON value (dict keys and list indices)."""
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for n, item in enumerate(value):
            yield from _paths(item, (*prefix, n))


def _mutate_json(data, obj):
    obj = copy.deepcopy(obj)
    for _ in range(data.draw(st.integers(1, 4), label="mutations")):
        paths = [p for p in _paths(obj) if p]
        if not paths:
            return data.draw(json_values, label="whole")
        path = data.draw(st.sampled_from(paths), label="path")
        parent = obj
        for step in path[:-1]:
            parent = parent[step]
        action = data.draw(st.sampled_from(["replace", "replace", "delete", "null", "stringify", "wrap"]))
        key = path[-1]
        if action == "delete":
            del parent[key]
        elif action == "null":
            parent[key] = None
        elif action == "stringify":
            parent[key] = json.dumps(parent[key])
        elif action == "wrap":
            parent[key] = [parent[key]]
        else:
            parent[key] = data.draw(json_values, label="value")
    return obj


def _dumps(obj) -> bytes:
    # allow_nan writes NaN/Infinity, which Python's json reads back; ensure_ascii writes lone
    # surrogates as \ud800 escapes, which json decodes into unencodable str
    return json.dumps(obj, allow_nan=True).encode()


# -- the properties ----------------------------------------------------------------------


@pytest.mark.parametrize("fmt", harness.FORMATS)
@given(data=st.binary(max_size=2000))
@example(data=b"")
@example(data=b"\x1f\x8b")  # a gzip magic and nothing else
@example(data=b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03")  # a truncated gzip header
@example(data=b"\xff\xfe<\x00")
@example(data=b"\n\n\n")
@example(data=b"{}\n[]\nnull\n1\n\"x\"\n")
def test_any_bytes(fmt, data):
    check(fmt, data)


@pytest.mark.parametrize("fmt", harness.FORMATS)
@given(data=st.data())
def test_damaged_real_documents(fmt, data):
    """A real document cut short, with bytes flipped, inserted or deleted, or gzipped and truncated."""
    seed = data.draw(st.sampled_from(SEEDS[fmt]), label="seed")
    doc = bytearray(seed)
    for _ in range(data.draw(st.integers(0, 6), label="edits")):
        if not doc:
            break
        at = data.draw(st.integers(0, len(doc) - 1), label="at")
        edit = data.draw(st.sampled_from(["flip", "insert", "delete", "cut"]), label="edit")
        if edit == "flip":
            doc[at] = data.draw(st.integers(0, 255))
        elif edit == "insert":
            doc[at:at] = data.draw(st.binary(min_size=1, max_size=16) | st.sampled_from(
                [b"\x00", b"\xed\xa0\x80", b"&#0;", b"&#xD800;", b"<x>", b"</entry>", b"\\\\\n", b'"', b"\n"]))
        elif edit == "delete":
            del doc[at:at + data.draw(st.integers(1, 64))]
        else:
            del doc[at:]
    out = bytes(doc)
    if data.draw(st.booleans(), label="gzip"):
        out = gzip.compress(out)
        if data.draw(st.booleans(), label="truncate gzip"):
            out = out[: data.draw(st.integers(0, len(out)))]
    check(fmt, out)


@pytest.mark.parametrize("fmt", JSON_FORMATS)
@given(data=st.data())
def test_json_records_with_wrong_fields(fmt, data):
    """Real JSON records whose fields get values of other types, NUL or surrogate text, huge numbers."""
    seed = data.draw(st.sampled_from(SEEDS[fmt]), label="seed")
    lines = [json.loads(line) for line in seed.splitlines() if line.strip()] or [json.loads(seed)]
    out = b"\n".join(_dumps(_mutate_json(data, obj)) for obj in lines) + b"\n"
    check(fmt, out)


def _xml_text(data) -> str:
    """Element text: mostly valid XML characters, sometimes raw markup or character references."""
    return data.draw(st.text(st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from(["\n", "\t"]),
                             max_size=40) | nasty_text.filter(lambda t: all(c in "\t\n\r" or 0x20 <= ord(c) < 0xD800
                                                                            or 0xE000 <= ord(c) < 0xFFFE for c in t)),
                     label="text")


@pytest.mark.parametrize("fmt", XML_FORMATS)
@given(data=st.data())
def test_xml_documents_with_wrong_elements(fmt, data):
    """Real Atom and OAI-PMH documents whose elements get other text, lose or repeat children,
    or carry raw character references (to NUL, to a surrogate)."""
    seed = data.draw(st.sampled_from(SEEDS[fmt]), label="seed")
    root = etree.fromstring(seed)
    elements = [e for e in root.iter() if isinstance(e.tag, str)]
    placeholders = {}
    for n in range(data.draw(st.integers(1, 6), label="mutations")):
        element = data.draw(st.sampled_from(elements), label="element")
        action = data.draw(st.sampled_from(["text", "text", "remove", "duplicate", "clear", "attribute", "charref"]))
        parent = element.getparent()
        if action == "remove" and parent is not None:
            parent.remove(element)
            elements = [e for e in root.iter() if isinstance(e.tag, str)]
        elif action == "duplicate" and parent is not None:
            parent.append(copy.deepcopy(element))
        elif action == "clear":
            element.clear()
        elif action == "attribute" and element.attrib:
            name = data.draw(st.sampled_from(sorted(element.attrib)))
            element.set(name, _xml_text(data))
        elif action == "charref":
            marker = f"CHARREF{n}X"
            element.text = marker
            placeholders[marker] = data.draw(st.sampled_from(["&#0;", "&#xD800;", "&#x1F;", "&#65535;", "&#x10FFFF;",
                                                              "&amp;#0;", "&undefined;", "]]>", "&#x110000;"]))
        else:
            element.text = _xml_text(data)
    out = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    for marker, raw in placeholders.items():
        out = out.replace(marker.encode(), raw.encode())
    check(fmt, out)


ABS_FIELDS = ["Title", "Authors", "Categories", "Comments", "Journal-ref", "DOI", "Date", "Date (revised v2)",
              "Date (revised v0)", "Date (revised v99999999999999999999)", "From", "Report-no", "License", "MSC-class"]


@given(data=st.data())
def test_abs_files_with_wrong_fields(data):
    """.abs headers with missing, repeated, empty or garbage fields, odd ids and line breaks."""
    seed = data.draw(st.sampled_from(SEEDS["abs"]), label="seed").decode("latin-1")
    lines = seed.split("\n")
    for _ in range(data.draw(st.integers(1, 6), label="mutations")):
        at = data.draw(st.integers(0, len(lines) - 1), label="line")
        action = data.draw(st.sampled_from(["field", "field", "delete", "duplicate", "id", "separator"]))
        if action == "delete":
            del lines[at]
        elif action == "duplicate":
            lines.insert(at, lines[at])
        elif action == "id":
            lines[at] = "arXiv:" + data.draw(nasty_text | st.from_regex(r"[a-z\-]{1,8}/\d{0,9}(v\d{0,3})?",
                                                                         fullmatch=True))
        elif action == "separator":
            lines.insert(at, data.draw(st.sampled_from(["\\\\", "-" * 78, "", "  "])))
        else:
            name = data.draw(st.sampled_from(ABS_FIELDS) | nasty_text, label="name")
            lines.insert(at, f"{name}: {data.draw(nasty_text, label='value')}")
        if not lines:
            lines = [""]
    text = "\n".join(lines)
    encoding = data.draw(st.sampled_from(["utf-8", "latin-1", "surrogatepass"]), label="encoding")
    raw = text.encode("utf-8", "surrogatepass") if encoding == "surrogatepass" else text.encode(encoding, "replace")
    check("abs", raw)


def test_each_parser_turns_garbage_into_a_parse_error():
    """Not only 'no exception': unreadable input is reported, not silently dropped."""
    for fmt, garbage in [("atom", b"<feed"), ("oai", b"<OAI-PMH"), ("abs", b"\x00\x01 not an abs file"),
                         ("snapshot", b"{not json\n"), ("listings", b"{not json\n"), ("hf", b"{not json\n")]:
        items = check(fmt, garbage)
        assert items and all(isinstance(i, ParseError) for i in items), (fmt, items)

