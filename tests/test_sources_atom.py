import datetime as dt

import pytest
from sources_helpers import FIXTURES, assert_total, mutations, needs_data, split

from dailypapers.errors import ParseError
from dailypapers.models import Author, Version
from dailypapers.sources import atom

UTC = dt.UTC
DIR = FIXTURES / "arxiv-api-atom"
pytestmark = needs_data

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>http://arxiv.org/abs/1234.5678v1</id>
<title>&lol9;</title></entry></feed>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE feed [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>http://arxiv.org/abs/1234.5678v1</id>
<title>x &xxe;</title></entry></feed>"""


def entries_in(path) -> int:
    return path.read_bytes().count(b"<entry>")


@pytest.mark.parametrize("path", sorted(DIR.glob("*.xml")), ids=lambda p: p.name)
def test_every_fixture(path):
    data = path.read_bytes()
    records, errors = split(atom.parse(data, path.name))
    if path.name.startswith("id_abc"):
        assert records == [] and len(errors) == 1
    else:
        assert errors == [] and len(records) == entries_in(path)
    for r in records:
        p = r.paper
        assert "v" not in p.arxiv_id.split("/")[-1] and p.version >= 1
        assert p.published.tzinfo is UTC and p.versions[0] == Version(1, p.published)
        assert p.primary_category == p.categories[0] and len(set(p.categories)) == len(p.categories)
        assert p.title == " ".join(p.title.split()) and p.authors and r.line > 0
    assert atom.total_results(data) >= len(records)


def test_error_response():
    data = (DIR / "id_abc_s0_m100_b79c8dcf6bc3.xml").read_bytes()
    [error] = list(atom.parse(data, "abc.xml"))
    assert isinstance(error, ParseError)
    assert error.message == "arXiv API error: incorrect id format for abc"
    assert (error.source, error.line) == ("abc.xml", 9)
    assert atom.api_error(data) == "incorrect id format for abc"


def test_empty_result():
    data = (DIR / "id_0000.0000_s0_m100_8b51d9633a68.xml").read_bytes()
    assert list(atom.parse(data)) == []
    assert atom.total_results(data) == 0
    assert atom.api_error(data) is None


def test_paging_totals():
    assert atom.total_results((DIR / "q_testing_s10_m10_34e56e15aaac.xml").read_bytes()) == 214881
    assert atom.total_results((DIR / "2021_search_query_au_del_maestro.xml").read_bytes()) == 31


def test_record_with_two_versions_exactly():
    [r] = list(atom.parse((DIR / "2021_id_list_1111.2011v2.xml").read_bytes()))
    p = r.paper
    assert p.arxiv_id == "1111.2011" and p.version == 2
    assert p.title == ("Quantum Criticality for Extended Nodes on a Bethe Lattice in the Large Connectivity Limit")
    assert p.authors == [Author("James M. Murray"), Author("Adrian Del Maestro"), Author("Zlatko Tesanovic")]
    assert p.published == dt.datetime(2011, 11, 8, 18, 48, 36, tzinfo=UTC)
    assert p.updated == dt.datetime(2012, 4, 2, 12, 38, 54, tzinfo=UTC)
    assert p.versions == [Version(1, p.published), Version(2, p.updated)]
    assert (p.primary_category, p.categories) == ("cond-mat.str-el", ["cond-mat.str-el", "cond-mat.stat-mech"])
    assert p.doi == "10.1103/PhysRevB.85.115117"
    assert p.journal_ref == "Phys. Rev. B 85, 115117 (2012)"
    assert p.comments == "8 pages, 3 figures. Published version"
    assert p.abstract.startswith("Theoretical description of anisotropic systems, such as layered superconductors")


def test_affiliations_and_comment_links():
    [r] = list(atom.parse((DIR / "id_astro-ph_0601001_s0_m100_3150dca9dc76.xml").read_bytes()))
    p = r.paper
    assert p.arxiv_id == "astro-ph/0601001" and p.version == 1
    assert p.authors == [Author("Andrew Gould", "Ohio State"), Author("Susan Dorsher", "Ohio State"),
                         Author("B. Scott Gaudi", "CfA"), Author("Andrzej Udalski", "Warsaw University Observatory")]
    assert p.journal_ref == "ActaAstron.56:1-50,2006"
    assert [link.url for link in p.links] == ["http://www.astronomy.ohio-state.edu/~gould/ogle_hot_jupiters.ps.gz"]


def test_bad_entry_among_good_ones():
    data = (DIR / "q_testing_s0_m10_bc5a6c384fe9.xml").read_bytes()
    first_id = data.split(b"<entry>")[1].split(b"<id>")[1].split(b"</id>")[0]
    records, errors = split(atom.parse(data.replace(first_id, b"http://arxiv.org/abs/garbage", 1)))
    assert len(records) == 9 and len(errors) == 1 and "garbage" in errors[0].message


@pytest.mark.parametrize("data", [
    b"", b"<feed", b"not xml at all", b"<?xml version='1.0'?><feed xmlns='http://www.w3.org/2005/Atom'>",
    b"<html><body><h1>Retry after 10 seconds</h1></body></html>",
    "<feed xmlns='http://www.w3.org/2005/Atom'><title>caf\u00e9</title></feed>".encode("latin-1"),
])
def test_malformed_documents_are_one_error(data):
    results = list(atom.parse(data, "bad.xml"))
    assert len(results) == 1 and isinstance(results[0], ParseError) and results[0].source == "bad.xml"
    with pytest.raises(ParseError):
        atom.total_results(data)


def test_truncated_real_response_is_one_error():
    data = (DIR / "q_testing_s0_m100_cfe7536492ca.xml").read_bytes()
    results = list(atom.parse(data[: len(data) // 2]))
    assert len(results) == 1 and isinstance(results[0], ParseError)


@pytest.mark.parametrize("data, refusal", [
    (BILLION_LAUGHS, "amplification"),  # libxml2 stops expanding: no gigabytes of "lol"
    (EXTERNAL_ENTITY, "with a DTD are not accepted"),  # nothing read from the disk or the network
])
def test_entity_bomb_and_external_entities_are_refused_unexpanded(data, refusal):
    results = list(atom.parse(data))
    assert len(results) == 1 and isinstance(results[0], ParseError)
    assert refusal in str(results[0]) and "root:" not in str(results[0])


def test_damaged_copies_never_raise():
    data = (DIR / "q_testing_s0_m10_bc5a6c384fe9.xml").read_bytes()
    assert_total(atom.parse, mutations(data, count=300))
