import datetime as dt

import pytest
from sources_helpers import FIXTURES, assert_total, mutations, needs_data, split

from dailypapers.errors import ParseError
from dailypapers.models import Author, Link, Version
from dailypapers.sources import abs as abs_format

UTC = dt.UTC
DIR = FIXTURES / "arxiv-abs"
pytestmark = needs_data


@pytest.fixture(scope="module")
def parsed():
    return split(abs_format.parse_paths([DIR]))


@pytest.fixture(scope="module")
def by_source(parsed):
    return {str(r.paper.arxiv_id): r for r in parsed[0]}


def one(relative: str):
    [result] = list(abs_format.parse((DIR / relative).read_bytes(), relative))
    return result.paper


def test_every_file(parsed):
    records, errors = parsed
    assert len(records) + len(errors) == 1192
    assert len(records) == 1191
    assert [e.source.split("arxiv-abs/")[1] for e in errors] == ["ftp/math-ph/papers/0509/0509037.abs"]  # empty
    assert len({r.paper.arxiv_id for r in records}) == 1130  # orig/ holds earlier versions of some papers
    assert sum("/" in r.paper.arxiv_id for r in records) == 96
    assert sum(len(r.paper.versions) > 1 for r in records) == 463
    for r in records:
        p = r.paper
        assert p.title and p.abstract and p.authors and p.categories
        assert p.versions and [v.version for v in p.versions] == list(range(1, len(p.versions) + 1))
        assert p.published == p.versions[0].submitted and p.updated == p.versions[-1].submitted
        assert all(v.submitted.tzinfo is UTC and v.size.endswith("kb") for v in p.versions)
        assert p.version == p.versions[-1].version
        assert "\n" not in p.abstract and "\n" not in p.title


def test_funct_an_9301001_exactly():
    p = one("ftp/funct-an/papers/9301/9301001.abs")
    assert p.arxiv_id == "funct-an/9301001"
    assert p.title == "Lie-algebras and linear operators with invariant subspaces"
    assert p.authors == [Author("Alexander Turbiner")]
    assert p.versions == [Version(1, dt.datetime(1993, 1, 16, 11, 49, 26, tzinfo=UTC), "0kb"),
                          Version(2, dt.datetime(1998, 9, 8, 18, 1, 31, tzinfo=UTC), "38kb")]
    assert p.version == 2
    assert (p.primary_category, p.categories) == ("funct-an", ["funct-an", "math.OA"])
    assert p.comments == "47pp, AMS-LaTeX"
    assert p.journal_ref == ("in {\\em Lie algebras, cohomologies and new findings in quantum mechanics} "
                             "(N. Kamran and P. J. Olver, eds.), AMS {\\it Contemporary Mathematics}, vol. 160, "
                             "pp. 263--310, 1994")
    assert p.doi is None and p.license is None
    assert p.abstract.startswith("A general classification of linear differential and finite-difference operators")
    assert "$sl_2({\\bold R})$" in p.abstract
    assert p.abstract.endswith("spectral problems is discussed.")


def test_old_file_without_categories_and_with_affiliations():
    v1, v2 = one("orig/hep-th/papers/9709/9709111v1.abs"), one("orig/hep-th/papers/9709/9709111v2.abs")
    assert v1.arxiv_id == v2.arxiv_id == "hep-th/9709111"
    assert (v1.version, v2.version) == (1, 2)
    assert v2.versions[1] == Version(2, dt.datetime(1997, 9, 23, 17, 34, 41, tzinfo=UTC), "11kb")
    assert v1.categories == ["hep-th"]  # no Categories line: the archive of the old-style id
    assert v2.authors == [Author("Andrea Brignole", "CERN-TH"), Author("Ferruccio Feruglio", "Padua Univ."),
                          Author("Fabio Zwirner", "INFN-Padua")]
    assert v2.comments.endswith("a harmless sign change in eqs.(17)-(20)")


def test_withdrawn_with_many_versions():
    p = one("ftp/arxiv/papers/2101/2101.10016.abs")
    assert p.version == 8 and len(p.versions) == 8
    assert p.versions[-1] == Version(8, dt.datetime(2023, 1, 17, 19, 27, 37, tzinfo=UTC), "0kb")
    assert p.comments.startswith("This has been withdrawn by arXiv administrators")
    assert p.categories == ["math.QA", "hep-th", "math-ph", "math.MP", "math.OA"]
    assert p.license == "http://arxiv.org/licenses/nonexclusive-distrib/1.0/"


def test_latin1_file():
    p = one("ftp/arxiv/papers/1607/1607.08199.abs")
    assert p.journal_ref == "Épijournal de Géométrie Algébrique, Volume 1 (September 1, 2017) epiga:3255"
    assert p.authors[1] == Author("Emanuele Macrì")
    assert p.version == 5 and p.license == "http://creativecommons.org/licenses/by-sa/4.0/"


def test_latex_line_breaks_inside_the_abstract():
    p = one("ftp/arxiv/papers/2004/2004.02153.abs")
    assert "\\lambda(x) u - \\mu(x) u^\\kappa, \\\\ v_t = \\Delta v - v + u" in p.abstract
    assert p.abstract.endswith("collapse into a persistent Dirac distribution.")
    assert p.authors == [Author("Jianlu Yan"), Author("Mario Fuest")]


def test_collaboration_and_comment_link():
    p = one("ftp/arxiv/papers/2103/2103.11058.abs")
    assert p.authors[:3] == [Author("LHCb collaboration"), Author("R. Aaij"), Author("C. Abellán Beteta")]
    assert len(p.authors) == 969
    assert p.links == [Link("project", "https://cern.ch/lhcbproject/Publications/p/LHCb-PAPER-2021-001.html",
                            "comments")]


def test_parse_paths_takes_files_and_reports_missing(tmp_path):
    f = DIR / "ftp/funct-an/papers/9301/9301001.abs"
    records, errors = split(abs_format.parse_paths([f, tmp_path / "missing.abs"]))
    assert [r.paper.arxiv_id for r in records] == ["funct-an/9301001"]
    assert len(errors) == 1 and errors[0].source.endswith("missing.abs")


@pytest.mark.parametrize("data, message", [
    (b"", "not an .abs file"),
    (b"\\\\\nTitle: x\n\\\\\nabstract\n\\\\\n", "not an arXiv identifier"),
    (b"\\\\\narXiv:hep-th/9901001\nAuthors: A\n\\\\\nabstract\n\\\\\n", "no Title"),
    (b"\\\\\narXiv:2101.10016\nTitle: T\nDate: yesterday (1kb)\n\\\\\nx\n\\\\\n", "unreadable date"),
    (b"\\\\\narXiv:2101.10016\nTitle: T\nDate (revised v99999): Mon, 25 Jan 2021 11:32:05 GMT (1kb)\n\\\\\nx\n",
     "implausible"),
])
def test_bad_files_are_errors(data, message):
    [error] = list(abs_format.parse(data, "bad.abs"))
    assert isinstance(error, ParseError) and message in error.message and error.source == "bad.abs"


def test_damaged_copies_never_raise():
    for name in ("ftp/funct-an/papers/9301/9301001.abs", "ftp/arxiv/papers/2004/2004.02153.abs"):
        assert_total(abs_format.parse, mutations((DIR / name).read_bytes(), count=200))
