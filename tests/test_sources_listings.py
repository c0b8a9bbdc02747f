import datetime as dt
import gzip
import json

import pytest
from sources_helpers import DATA, assert_total, mutations, needs_data, split

from dailypapers.models import Author, Link, Record
from dailypapers.sources import listings
from dailypapers.sources.common import open_path

UTC = dt.UTC
FILE = DATA / "arxiv_cs_listings.jsonl.gz"
pytestmark = needs_data


KEEP = {"2503.11731", "2503.11742", "2503.11792", "2503.13881", "2503.11892"}


@pytest.fixture(scope="module")
def whole_file():
    """Stream the whole file once, keeping a few records and aggregate figures (not 74k papers)."""
    stats = {"records": 0, "errors": [], "ids": set(), "with_links": 0, "first_published": None, "kept": {}}
    with open_path(FILE) as stream:
        for item in listings.parse(stream, FILE.name):
            if not isinstance(item, Record):
                stats["errors"].append(item)
                continue
            p = item.paper
            assert item.daily is None and p.published.tzinfo is UTC
            stats["records"] += 1
            stats["ids"].add(p.arxiv_id)
            stats["with_links"] += bool(p.links)
            stats["first_published"] = min(filter(None, [stats["first_published"], p.published]))
            if p.arxiv_id in KEEP:
                stats["kept"][p.arxiv_id] = item
    return stats


@pytest.mark.slow
def test_whole_file(whole_file):
    assert whole_file["errors"] == []
    with gzip.open(FILE) as f:
        lines = sum(1 for _ in f)
    assert lines >= 20_000  # the repository's sample; the full shared file has 74,728
    assert whole_file["records"] == len(whole_file["ids"]) == lines
    assert whole_file["first_published"] == dt.datetime(2025, 3, 18, tzinfo=UTC)
    assert whole_file["with_links"] > lines // 8


@pytest.mark.slow
def test_first_records_exactly(whole_file):
    first, second = whole_file["kept"]["2503.11731"], whole_file["kept"]["2503.11742"]
    p = first.paper
    assert first.line == 1 and second.line == 2
    assert p.arxiv_id == "2503.11731"
    assert p.title == ("Industrial-Grade Sensor Simulation via Gaussian Splatting: A Modular Framework for "
                       "Scalable Editing and Full-Stack Validation")
    assert len(p.authors) == 16 and p.authors[0] == Author("Xianming Zeng") and p.authors[-1] == Author("Qiang Li")
    assert (p.primary_category, p.categories) == ("cs.CV", ["cs.CV", "cs.RO"])
    assert p.comments is None and p.version is None and p.versions == []
    assert p.published == dt.datetime(2025, 3, 18, tzinfo=UTC)
    assert p.abstract.startswith("Sensor simulation is pivotal for scalable validation of autonomous driving "
                                 "systems, yet existing")
    assert "\n" not in p.abstract
    assert second.paper.authors[0] == Author("Moreno D'Incà")
    assert second.paper.comments == "Work in progress"


@pytest.mark.slow
def test_links_from_abstract_and_comment(whole_file):
    by_id = {k: r.paper for k, r in whole_file["kept"].items()}
    assert by_id["2503.11792"].links == [Link("github", "https://github.com/ubc-3d-vision-lab/StyleMorpheus",
                                              "abstract")]
    assert by_id["2503.13881"].links == [Link("github", "https://github.com/jdg900/MMR", "comments")]
    # the project page is in both the abstract and the comment: kept once, where first seen
    assert by_id["2503.11892"].links == [Link("project", "https://taco-group.github.io/DecAlign", "abstract"),
                                         Link("github", "https://github.com/taco-group/DecAlign", "abstract")]


def _row(**changes) -> bytes:
    row = {"id": "2503.11731", "title": "T", "summary": "S", "authors": ["A"], "categories": ["cs.CV"],
           "comment": None, "abs": "", "pdf": "", "announced": "2025-03-18"}
    row.update(changes)
    return json.dumps(row).encode()


def test_malformed_lines():
    lines = [_row(), b"{not json", _row(authors="A, B"), _row(categories=[1]), _row(announced="March"),
             _row(id=None), b"\xff\xfe", _row(id="2503.11732v3", authors=[], categories=[])]
    records, errors = split(listings.parse(gzip.compress(b"\n".join(lines)), "l.jsonl.gz"))
    assert [r.line for r in records] == [1, 8]
    assert [e.line for e in errors] == [2, 3, 4, 5, 6, 7]
    assert records[1].paper.version == 3 and records[1].paper.primary_category is None


def test_damaged_copies_never_raise():
    with gzip.open(FILE) as f:
        head = b"".join(f.readline() for _ in range(5))
    assert_total(listings.parse, mutations(head, count=300))
