import datetime as dt
import gzip
import io
import json

import pytest
from sources_helpers import FIXTURES, assert_total, mutations, needs_data, split

from dailypapers.models import Author, Link, Version
from dailypapers.sources import snapshot

UTC = dt.UTC
DIR = FIXTURES / "kaggle-snapshot"
pytestmark = needs_data


@pytest.fixture(scope="module")
def first200():
    with open(DIR / "kaggle_snapshot_first200.jsonl", "rb") as f:
        return split(snapshot.parse(f, "kaggle_snapshot_first200.jsonl"))


@pytest.fixture(scope="module")
def dec2022():
    with open(DIR / "unarxive_2212_metadata49.jsonl", "rb") as f:
        return split(snapshot.parse(f, "unarxive_2212_metadata49.jsonl"))


def test_all_fixture_lines_parse(first200, dec2022):
    assert (len(first200[0]), first200[1]) == (200, [])
    assert (len(dec2022[0]), dec2022[1]) == (49, [])
    assert [r.line for r in first200[0]] == list(range(1, 201))
    for r in first200[0] + dec2022[0]:
        p = r.paper
        assert p.versions and p.version == p.versions[-1].version
        assert p.published == p.versions[0].submitted and p.updated == p.versions[-1].submitted
        assert p.primary_category == p.categories[0]
        assert r.daily is None


def test_first_record_exactly(first200):
    p = first200[0][0].paper
    assert p.arxiv_id == "0704.0001"
    assert p.title == "Calculation of prompt diphoton production cross sections at Tevatron and LHC energies"
    assert p.authors == [Author("C. Balázs"), Author("E. L. Berger"), Author("P. M. Nadolsky"), Author("C. -P. Yuan")]
    assert p.versions == [Version(1, dt.datetime(2007, 4, 2, 19, 18, 42, tzinfo=UTC)),
                          Version(2, dt.datetime(2007, 7, 24, 20, 10, 27, tzinfo=UTC))]
    assert p.version == 2
    assert p.published == dt.datetime(2007, 4, 2, 19, 18, 42, tzinfo=UTC)
    assert p.updated == dt.datetime(2007, 7, 24, 20, 10, 27, tzinfo=UTC)
    assert (p.primary_category, p.categories) == ("hep-ph", ["hep-ph"])
    assert p.comments == "37 pages, 15 figures; published version"
    assert p.journal_ref == "Phys.Rev.D76:013009,2007"
    assert p.doi == "10.1103/PhysRevD.76.013009"
    assert p.license is None
    assert p.abstract.startswith("A fully differential calculation in perturbative quantum chromodynamics is "
                                 "presented for the production of massive photon pairs at hadron colliders.")
    assert p.abstract.endswith("can be obtained with judicious selection of events.")


def test_categories_license_and_affiliations(first200):
    by_id = {r.paper.arxiv_id: r.paper for r in first200[0]}
    assert by_id["0704.0002"].categories == ["math.CO", "cs.CG"]
    assert by_id["0704.0002"].license == "http://arxiv.org/licenses/nonexclusive-distrib/1.0/"
    assert by_id["0704.0044"].authors[0] == Author("A. A. Schekochihin", "Oxford")
    assert len(by_id["0704.0044"].versions) == 4
    # numbered affiliations are resolved through the ((1) ..., (2) ...) block of the authors line
    assert by_id["0704.0025"].authors == [
        Author("A. S. Mishchenko", "CREST, Japan Science and Technology Agency; "
               "Russian Research Centre ``Kurchatov Institute''"),
        Author("N. Nagaosa", "CREST, Japan Science and Technology Agency; The University of Tokyo")]


def test_december_2022_record_and_links(dec2022):
    by_id = {r.paper.arxiv_id: r.paper for r in dec2022[0]}
    p = by_id["2212.11867"]
    assert p.title == "Zeros of a growing number of derivatives of random polynomials with independent roots"
    assert p.authors == [Author("Marcus Michelen"), Author("Xuan-Truong Vu")]
    assert p.categories == ["math.PR", "math.CA", "math.CV"]
    assert p.license == "http://creativecommons.org/licenses/by/4.0/"
    assert p.versions == [Version(1, dt.datetime(2022, 12, 22, 17, 1, 56, tzinfo=UTC))]
    assert "$$ P_n(z)=(z-X_1)\\ldots(z-X_n)\\,. $$" in p.abstract  # LaTeX kept as is
    assert by_id["2212.11839"].links == [Link("github", "https://github.com/SumitBanikGit/MBConicHulls", "comments")]


def test_authors_string_used_without_authors_parsed():
    line = {"id": "hep-th/9901001", "title": "T", "authors": "C. Bal\\'azs, D. Jones (CERN) and B. Smith",
            "categories": "hep-th", "versions": []}
    records, errors = split(snapshot.parse(json.dumps(line).encode()))
    assert errors == []
    assert records[0].paper.authors == [Author("C. Balázs", "CERN"), Author("D. Jones", "CERN"), Author("B. Smith")]


def _line(**changes) -> bytes:
    base = {"id": "0704.0001v2", "title": "A title", "authors": "A. B", "categories": "hep-ph",
            "versions": [{"version": "v1", "created": "Mon, 2 Apr 2007 19:18:42 GMT"}],
            "update_date": "2008-11-26", "authors_parsed": [["B", "A.", ""]], "abstract": "x"}
    base.update(changes)
    return json.dumps(base).encode()


def test_bad_lines_are_errors_with_line_numbers_and_good_lines_survive():
    lines = [
        _line(),                                         # 1 good
        b'{"id": "0704.0002", "title": ',                # 2 truncated JSON
        _line(id="not an id"),                           # 3
        _line(versions="v1"),                            # 4 string instead of list
        _line(authors_parsed=[["B", 5, ""]]),            # 5 number instead of a name
        _line(title=None),                               # 6 missing title
        _line(versions=[{"version": "v1", "created": "yesterday"}]),  # 7 unreadable date
        _line(id=704.0001),                              # 8 number instead of a string
        _line(title="caf\u00e9").replace(b"caf\\u00e9", b"caf\xe9"),  # 9 latin-1 byte: invalid UTF-8
        b"null",                                         # 10
        _line(id="0704.0003", versions=[]),              # 11 good, no versions
    ]
    records, errors = split(snapshot.parse(io.BytesIO(b"\n".join(lines)), "s.jsonl"))
    assert [r.line for r in records] == [1, 11]
    assert [e.line for e in errors] == list(range(2, 11))
    assert records[1].paper.updated == dt.datetime(2008, 11, 26, tzinfo=UTC)
    assert records[0].paper.arxiv_id == "0704.0001" and records[0].paper.version == 1


def test_streams_gzip_lazily():
    data = gzip.compress(b"\n".join(_line(id=f"0704.{n:04d}") for n in range(1, 3001)))
    results = snapshot.parse(io.BytesIO(data))
    first = next(results)
    assert first.paper.arxiv_id == "0704.0001"
    assert sum(1 for _ in results) == 2999


def test_damaged_copies_never_raise():
    data = (DIR / "kaggle_snapshot_first200.jsonl").read_bytes()[:6000]
    assert_total(snapshot.parse, mutations(data, count=300))
    assert_total(snapshot.parse, [b"", b"\n\n", b"[]", b"{}", b'{"id": []}', b'{"id": "0704.0001", "title": {}}',
                                  b'"string"', b"1e999999", b"9" * 5000, b"\x1f\x8b\x08\x00garbage"])
