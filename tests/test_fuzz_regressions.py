"""Replays every seed (fuzz/seeds/TARGET/), every input the fuzzers kept (fuzz/corpus/TARGET/)
and every crash they found (fuzz/crashes/TARGET/) through its target: for a parser each item out
must be a storable Record or a typed ParseError, for `redact` the text out bounded, with nothing
left to mask, in linear steps (the contracts in fuzz/harness.py). Runs without atheris; `make
fuzz` grows the files."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from dailypapers.errors import ParseError
from dailypapers.models import Record

FUZZ = Path(__file__).resolve().parents[1] / "fuzz"
sys.path.insert(0, str(FUZZ))
import harness  # noqa: E402


def inputs(fmt: str, kind: str) -> list[Path]:
    folder = FUZZ / kind / fmt
    return sorted(p for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []


@pytest.mark.parametrize("fmt", harness.TARGETS)
def test_corpus_and_crashes_keep_the_contract(fmt):
    files = inputs(fmt, "seeds") + inputs(fmt, "corpus") + inputs(fmt, "crashes")
    assert inputs(fmt, "seeds"), f"no seeds for {fmt}: run python fuzz/seed.py"
    failures = []
    for path in files:
        try:
            harness.check_target(fmt, path.read_bytes())
        except Exception as exc:  # noqa: BLE001 - any exception breaks the contract; say which input
            failures.append(f"{path.relative_to(FUZZ)}: {type(exc).__name__}: {str(exc)[:200]}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("fmt", harness.FORMATS)
def test_the_seeds_still_parse_to_records(fmt):
    """The seeds are real fixtures (some are error responses or other OAI verbs): the record-bearing
    ones must still give records, or the parser broke."""
    results = [item for path in inputs(fmt, "seeds") for item in harness.check(fmt, path.read_bytes())]
    records = [item for item in results if isinstance(item, Record)]
    assert len(records) >= len(inputs(fmt, "seeds")) // 8 + 1, [r for r in results if isinstance(r, ParseError)][:3]


def test_the_contract_catches_what_the_store_cannot_keep():
    import datetime as dt

    from dailypapers.models import Paper

    good = Record(Paper("2401.00001", "A title", published=dt.datetime(2024, 1, 1, tzinfo=dt.UTC)))
    harness.check_record(good)
    for bad in (Record(Paper("2401.00001", "A \x00 title")), Record(Paper("2401.00001v2", "t")),
                Record(Paper("2401.00001", "t", abstract="\ud800")), Record(Paper("2401.00001", "t", version=0)),
                Record(Paper("2401.00001", "t", published=dt.datetime(2024, 1, 1)))):
        with pytest.raises(harness.ContractViolation):
            harness.check_record(bad)


@pytest.mark.parametrize("fmt, data, words", [
    # found by fuzzing (fuzz/crashes holds the inputs themselves); each now gives a ParseError
    ("abs", b"\\\\\narXiv:cond-mat/9805021\nDate: Thu, 14 Jan 1999 14:47:4444444444 GMT (8kb)\nTitle: T\n"
            b"\\\\\nA\n\\\\\n", "unreadable date"),
    ("abs", b"\\\\\narXiv:cond-mat/9805021\nDate: 0001-01-01T00:00:00+05:00\nTitle: T\n\\\\\nA\n\\\\\n",
     "out of range"),
    ("abs", b"\\\\\narXiv:cond-mat/9805021\nTitle: T\x00\n\\\\\nA\n\\\\\n", "NUL"),
    ("snapshot", b'{"id": "2401.00001", "title": "t", "abstract": "\\ud800"}\n', "surrogate"),
    ("hf", b'[{"paper": {"id": "2401.00001", "title": "t", "upvotes": 99999999999999999999}, '
           b'"publishedAt": "2024-01-02T00:00:00Z"}]', "out of range"),
])
def test_fuzz_findings_are_parse_errors(fmt, data, words):
    (item,) = harness.check(fmt, data)
    assert isinstance(item, ParseError) and words in item.message, item


@pytest.mark.parametrize("text", [
    "a" * 70_000 + "@example.org",  # one long run before an @: 11 s once (issue 14, item 1)
    "x" * 40_000, "@" * 40_000, "a@" * 20_000, "a.b@" * 10_000 + "c.d", ("a@b.c " * 8_000),
    "fuzz-secret-0123456789" * 100, "\udce9@example.org", "a@b.c\x00d@e.f",
])
def test_redact_keeps_its_contract_on_hostile_lines(text):
    harness.check_target("redact", text.encode("utf-8", "surrogateescape"))


@pytest.mark.parametrize("address", ["josé@example.org", "Zoë.Smith@example.org", "user@exämple.org", "用户@例子.广告",
                                     "o'brien@example.org"])
def test_addresses_in_any_script_are_masked(address):
    """Found by the redact fuzz target's contract: letters outside ASCII and the apostrophe ended
    the local part, so these were logged whole (or with what came before: `o'`, `Zoë`)."""
    out, _ = harness.check_target("redact", f"sign-in failed for {address}".encode())
    assert out == f"sign-in failed for [redacted]@{address.split('@')[1]}"
