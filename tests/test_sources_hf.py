import datetime as dt
import gzip
import io
import json

import pytest
from sources_helpers import DATA, assert_total, mutations, needs_data, split

from dailypapers.models import Author, Link, Submitter
from dailypapers.sources import hf
from dailypapers.sources.common import open_path

UTC = dt.UTC
HF = DATA / "hf_daily_papers.jsonl.gz"
pytestmark = needs_data


@pytest.fixture(scope="module")
def lines() -> list[bytes]:
    with gzip.open(HF) as f:
        return f.read().splitlines()


@pytest.fixture(scope="module")
def parsed():
    with open_path(HF) as stream:
        return split(hf.parse(stream, "hf_daily_papers.jsonl.gz"))


@pytest.fixture(scope="module")
def by_id(parsed):
    return {r.paper.arxiv_id: r for r in parsed[0]}


def test_whole_archive(parsed, lines):
    records, errors = parsed
    assert errors == []
    assert len(lines) == 580
    assert len(records) == 9881
    assert len({r.paper.arxiv_id for r in records}) == 9877  # four papers were listed on two days
    assert min(r.daily.date for r in records) == dt.date(2024, 5, 27)
    assert max(r.daily.date for r in records) == dt.date(2026, 8, 21)
    for r in records:  # each entry carries its line's date
        assert json.loads(lines[r.line - 1])["date"] == r.daily.date.isoformat()
        assert r.daily.arxiv_id == r.paper.arxiv_id
        assert r.paper.published.tzinfo is UTC


def test_first_entry_exactly(by_id):
    r = by_id["2405.15738"]
    p, d = r.paper, r.daily
    assert r.line == 1
    assert p.title == "ConvLLaVA: Hierarchical Backbones as Visual Encoder for Large Multimodal Models"
    assert p.abstract.startswith("High-resolution Large Multimodal Models (LMMs) encounter the challenges of "
                                 "excessive visual tokens")
    assert p.abstract.endswith("publicly available at https://github.com/alibaba/conv-llava.")
    assert [a.name for a in p.authors] == ["Chunjiang Ge", "Sijie Cheng", "Ziming Wang", "Jiale Yuan", "Yuan Gao",
                                           "Jun Song", "Shiji Song", "Gao Huang", "Bo Zheng"]
    assert p.published == dt.datetime(2024, 5, 24, 17, 34, 15, tzinfo=UTC)
    assert p.links == [Link("github", "https://github.com/alibaba/conv-llava", "abstract")]
    assert d.date == dt.date(2024, 5, 27)
    assert (d.upvotes, d.num_comments, d.github_stars, d.submitted_by) == (32, 3, None, None)
    assert d.submitted_at == dt.datetime(2024, 5, 27, 3, 50, 58, 348000, tzinfo=UTC)
    assert d.media_url == "https://cdn-thumbnails.huggingface.co/social-thumbnails/papers/2405.15738.png"


def test_older_entry_submitted_by(by_id):
    d = by_id["2406.06523"].daily
    assert d.submitted_by == Submitter("yulunliu", "Yu-Lun Liu", "/avatars/57430d1bbde3a2fe5586e5fbcafb0e74.svg")
    assert d.date == dt.date(2024, 6, 13)


def test_newer_entry_submitted_on_daily(by_id):
    r = by_id["2503.07677"]
    assert r.line == 209
    assert r.paper.title.startswith("PLADIS: Pushing the Limits of Attention in Diffusion Models")
    assert r.paper.authors == [Author("Kwanyoung Kim"), Author("Byeongsu Sim")]
    assert r.paper.published == dt.datetime(2025, 3, 10, 7, 23, 19, tzinfo=UTC)
    assert r.daily.submitted_by == Submitter("kwanyoung", "Kwanyoung", "/avatars/2e166fee60844729479bfa4291796c8a.svg")
    assert r.daily.submitted_at == dt.datetime(2025, 3, 17, 0, 44, 5, 364000, tzinfo=UTC)
    assert (r.daily.date, r.daily.upvotes, r.daily.num_comments) == (dt.date(2025, 3, 17), 46, 1)


def test_explicit_links_and_stars(by_id):
    r = by_id["2506.19851"]
    assert r.daily.github_stars == 20
    assert r.paper.links == [Link("github", "https://github.com/anima-x/anima-x", "hf", stars=20),
                             Link("project", "https://anima-x.github.io", "hf")]


def test_title_keeps_latex(by_id):
    assert any("$" in r.paper.title for r in by_id.values())
    assert all("\n" not in r.paper.title and r.paper.title == r.paper.title.strip() for r in by_id.values())


def test_raw_response_sniffed_and_dated_by_listing_time(lines):
    day = json.loads(lines[208])  # 2025-03-17, entries with submittedOnDailyAt
    raw = json.dumps(day["daily_papers"]).encode()
    records, errors = split(hf.parse(io.BytesIO(b"  \n" + raw), "response.json"))
    assert errors == []
    assert len(records) == len(day["daily_papers"])
    assert {r.daily.date for r in records} == {dt.date(2025, 3, 17)}
    assert all(r.line is None for r in records)


def test_parse_response_with_explicit_date(lines):
    day = json.loads(lines[0])
    records, errors = split(hf.parse_response(json.dumps(day["daily_papers"]).encode(), dt.date(2024, 5, 27)))
    assert errors == [] and len(records) == 13
    assert {r.daily.date for r in records} == {dt.date(2024, 5, 27)}


def test_gzip_bytes_and_plain_stream_agree(lines):
    head = b"\n".join(lines[:3]) + b"\n"
    from_plain = split(hf.parse(io.BytesIO(head)))[0]
    from_gzip = split(hf.parse(gzip.compress(head)))[0]
    assert [r.paper.arxiv_id for r in from_plain] == [r.paper.arxiv_id for r in from_gzip]
    assert len(from_plain) > 20


def test_bad_lines_and_bad_entries(lines):
    day = json.loads(lines[0])
    entries = day["daily_papers"]
    broken = [dict(entries[0]), entries[1], "not an entry", dict(entries[2])]
    broken[0]["paper"] = dict(entries[0]["paper"], id="not-an-id")
    broken[3]["numComments"] = "three"
    text = b"\n".join([
        lines[0],                                                     # 1: 13 good entries
        b'{"date": "2024-05-28", "daily_papers": [',                  # 2: broken JSON
        json.dumps({"date": "2024-05-29", "daily_papers": broken}).encode(),  # 3: 1 good of 4
        b'{"date": "2024-05-30", "daily_papers": 5}',                 # 4: wrong type
        b'{"daily_papers": []}',                                      # 5: no date
        b'["a list"]',                                                # 6: not an object
        b'{"date": "2024-05-31", "daily_papers": []}\xff',            # 7: invalid UTF-8
        b"",                                                          # 8: blank, skipped
        lines[1],                                                     # 9: good
    ])
    records, errors = split(hf.parse(text, "t.jsonl"))
    assert len(records) == 13 + 1 + len(json.loads(lines[1])["daily_papers"])
    assert [r.line for r in records if r.line == 3] == [3]
    assert [(e.line, e.source) for e in errors] == [(2, "t.jsonl"), (3, "t.jsonl"), (3, "t.jsonl"), (3, "t.jsonl"),
                                                    (4, "t.jsonl"), (5, "t.jsonl"), (6, "t.jsonl"), (7, "t.jsonl")]
    messages = " | ".join(e.message for e in errors)
    assert "invalid JSON" in messages and "not an arXiv identifier" in messages
    assert "numComments" in messages and "invalid UTF-8" in messages


def test_truncated_gzip_yields_records_then_an_error(lines):
    data = gzip.compress(b"\n".join(lines[:40]))
    records, errors = split(hf.parse(data[: len(data) // 2]))
    assert records and len(errors) == 1 and "unreadable" in errors[0].message


@pytest.mark.parametrize("data", [b"", b"   ", b"[", b"[1, 2]", b'{"a": 1}', b"[" * 100_000, b"\x1f\x8b",
                                  b'[{"paper": {"id": "2405.15738"}}]'])
def test_odd_inputs_never_raise(data):
    split(hf.parse(data))


def test_damaged_copies_never_raise(lines):
    assert_total(hf.parse, mutations(b"\n".join(lines[:2]), count=150))
    assert_total(hf.parse, mutations(json.dumps(json.loads(lines[0])["daily_papers"]).encode(), count=150))


def test_corrupt_gzip_is_an_error(lines):
    data = gzip.compress(b"\n".join(lines[:5]))
    corrupt = data[:10] + bytes(b ^ 0x55 for b in data[10:40]) + data[40:]
    assert [type(x).__name__ for x in hf.parse(corrupt)] == ["ParseError"]
    raw = gzip.compress(json.dumps(json.loads(lines[0])["daily_papers"]).encode())
    records, errors = split(hf.parse(raw[: len(raw) // 2]))
    assert records == [] and len(errors) == 1
