"""The bulk import's fast paths (issue 16 item 3) parse and store exactly what the code before them did.

The expected digests were computed with the parser and store code before the fast paths (commit
2a11e34): every field of every parsed paper (`repr` of the Paper) for the snapshot fixtures and
4,000 arXiv listings turned into snapshot lines the way bench/make_snapshot.py turns them, with
RFC 2822 version dates; and every stored row of the imported fixtures read back. Each fast path is
also checked against the general code it stands in for, value by value."""

from __future__ import annotations

import datetime as dt
import email.utils
import gzip
import hashlib
import importlib.util
import json
import re
import unicodedata
from pathlib import Path

import pytest
from sources_helpers import FIXTURES, needs_data
from sqlalchemy import select
from support.paths import LISTINGS

from dailypapers.ingest import importer
from dailypapers.models import Author
from dailypapers.names import author_key
from dailypapers.sources import common, links, snapshot
from dailypapers.store import Store
from dailypapers.store.schema import paper_authors, paper_categories, paper_links, paper_versions, papers

pytestmark = needs_data
ROOT = Path(__file__).resolve().parents[1]
SNAPSHOTS = [FIXTURES / "kaggle-snapshot" / "kaggle_snapshot_first200.jsonl",
             FIXTURES / "kaggle-snapshot" / "unarxive_2212_metadata49.jsonl"]
LISTING_LINES = 4000

EXPECTED_FIXTURES = "665810afc0da5499c1a58c2bd077cf6703100a96aff330f3737e00752cedc65f"
EXPECTED_LISTINGS = "0579aa3a325f138148c0a713bb9ed5bf3088b489f187433b068a48447c014339"
EXPECTED_STORED = "7334e29db1c39cb0be5756e8258cae73959ed07c01f03857e75100a2c8bc33de"


def _make_snapshot():
    spec = importlib.util.spec_from_file_location("make_snapshot", ROOT / "bench" / "make_snapshot.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _listing_lines() -> list[bytes]:
    make = _make_snapshot()
    out = []
    with gzip.open(LISTINGS, "rt") as f:
        for i, line in enumerate(f):
            if i >= LISTING_LINES:
                break
            rec = make.listing_to_snapshot(json.loads(line))
            day = dt.datetime(2007 + i % 19, 1 + i % 12, 1 + i % 28, i % 24, (i * 7) % 60, (i * 13) % 60)
            rec["versions"] = [{"version": f"v{n}", "created": make.rfc2822(day + dt.timedelta(days=40 * n))}
                               for n in range(1, 2 + i % 3)]
            out.append(json.dumps(rec).encode())
    return out


def _fixture_lines() -> list[bytes]:
    return [line for path in SNAPSHOTS for line in path.read_bytes().splitlines() if line.strip()]


def _parsed_digest(lines: list[bytes]) -> str:
    h = hashlib.sha256()
    for n, line in enumerate(lines, 1):
        item = common.paper_line(line, "x", n, snapshot.paper)
        h.update(repr(item).encode() + b"\n")
    return h.hexdigest()


def test_parsed_fixtures_are_what_the_code_before_gave():
    assert _parsed_digest(_fixture_lines()) == EXPECTED_FIXTURES


def test_parsed_listings_are_what_the_code_before_gave():
    assert _parsed_digest(_listing_lines()) == EXPECTED_LISTINGS


@pytest.fixture
def store(database_url):
    s = Store.open(database_url)
    yield s
    s.close()


def _stored_digest(store: Store) -> str:
    h = hashlib.sha256()
    with store.engine.connect() as conn:
        for table, order in ((papers, ("id",)), (paper_authors, ("paper_id", "position")),
                             (paper_categories, ("paper_id", "position")), (paper_versions, ("paper_id", "version")),
                             (paper_links, ("paper_id", "url"))):
            cols = [c for c in table.c if c.name != "imported_at" and not (table is not papers and c.name == "id")]
            for row in conn.execute(select(*cols).order_by(*(table.c[o] for o in order))):
                values = [v.astimezone(dt.UTC).isoformat() if isinstance(v, dt.datetime) else v for v in row]
                h.update(repr((table.name, values)).encode() + b"\n")
    return h.hexdigest()


@pytest.mark.parametrize("bulk", [False, True], ids=["indexes-kept", "bulk-load"])
def test_stored_rows_are_what_the_code_before_wrote(store, bulk):
    for path in SNAPSHOTS:
        assert importer.import_paths(store, "snapshot", [path], workers=0, bulk=bulk).ok
    assert _stored_digest(store) == EXPECTED_STORED


def _all_dates(lines: list[bytes]) -> list[str]:
    return [v["created"] for line in lines for v in json.loads(line).get("versions") or []]


def test_fast_rfc2822_dates_equal_the_general_parser():
    dates = _all_dates(_fixture_lines() + _listing_lines())
    dates += ["Mon, 2 Apr 2007 19:18:42 GMT", "Tue, 29 Feb 2000 00:00:00 GMT", "Mon, 02 Apr 2007 19:18:42 +0200",
              "2 Apr 2007 19:18:42 GMT", "Mon,  2 Apr 2007 19:18:42 GMT", "Mon, 31 Apr 2007 19:18:42 GMT",
              "Mon, 2 Apr 2007 24:00:00 GMT", "Mon, 2 Apr 2007 19:18 GMT", "Mon, 2 apr 2007 19:18:42 GMT",
              "Mon, 2 Apr 07 19:18:42 GMT", "Mon, 2 Apr 2007 19:18:42 UT", "Mon, 2 Apr 2007 19:18:60 GMT"]
    assert len(dates) > 4000
    for text in dates:
        try:
            general = email.utils.parsedate_to_datetime(text).astimezone(dt.UTC)
        except (TypeError, ValueError):
            general = None
        try:
            fast = common.parse_datetime(text)
        except common.FieldError:
            fast = None
        assert fast == general, text


def _parsed_author_before(parts: list, enumerated: dict[str, str]) -> Author:
    """common.parsed_author as it was before its fast path."""
    names = common.str_items(parts, "authors_parsed entries")
    last, first, suffix = (names + ["", "", ""])[:3]
    name = common.tex_to_unicode(common.clean(" ".join(p for p in (first, last, suffix) if p and p.strip())))
    if not name:
        raise common.FieldError("empty author name in authors_parsed")
    affiliations = (common.resolve_affiliation(a, enumerated) for a in names[3:])
    return Author(name, "; ".join(a for a in affiliations if a) or None)


def _author_key_before(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:255] or "unknown"


def _outcome(f, *args):
    try:
        return f(*args)
    except common.FieldError as exc:
        return str(exc)


def test_fast_author_names_and_keys_equal_the_general_path():
    rows = [row for line in _fixture_lines() + _listing_lines() for row in json.loads(line).get("authors_parsed") or []]
    rows += [["Smith", "John", "Jr"], ["Bal\\'azs", "A.", ""], ["  Lee ", " Ann\n", ""], ["Ng", "", "", "MIT", " 1 "],
             ["Ørsted", "Hans Christian", ""], ["O'Neil", "Mary-Kate", "III"], ["van der Berg", "J. {K}.", ""],
             ["\u00a0", " ", ""], ["Solo"], [], ["A", 3, ""], ["{}", "", ""], ["Gödel", "Kurt\u2003", "\u3000"]]
    assert len(rows) > 10000
    table = {"1": "MIT", "2": "ETH"}
    for row in rows:
        fast = _outcome(common.parsed_author, row, table)
        assert fast == _outcome(_parsed_author_before, row, table), row
        if isinstance(fast, Author):
            assert author_key(fast.name) == _author_key_before(fast.name), row


def test_link_hints_keep_every_text_the_regex_kept():
    texts = [json.loads(line).get(field) or "" for line in _fixture_lines() + _listing_lines()
             for field in ("abstract", "comments")]
    texts += ["see HTTPS://X.ORG/a", "GitHub.COM/a/b", "WWW.example.org", "HF.co/x", "Hugging\nFace"]
    hint = re.compile(r"http|www\.|github|gitlab|bitbucket|huggingface|hf\.co")
    kept = 0
    for text in texts:
        lowered = text.lower()
        assert any(h in lowered for h in links._HINTS) == (hint.search(lowered) is not None), text
        kept += hint.search(lowered) is not None
    assert kept > 100


def test_link_repairs_give_what_every_repair_gave():
    texts = [json.loads(line).get(field) or "" for line in _fixture_lines() + _listing_lines()
             for field in ("abstract", "comments")]
    texts += ["code: GitHub. com/a/b", "gıthub. com/x", "github.\ncom/a", "HuggingFace.  co/x", "see github.com/a",
              "https://x.org/very-\n  long", "my\\_repo at github.com/a/my\\_repo", "BITBUCKET.\torg/a",
              "github.\\_ com", "git-\nhub. com", "github.", "\u212aGitHub. com"]
    for text in texts:
        untexed = links._TEX_ESCAPES.sub(r"\1", text)
        before = links._WRAPPED_HOST.sub(r"\1.\2", links._WRAPPED_HYPHEN.sub(r"\1", untexed))
        assert links._repair(text, text.lower()) == before, text
