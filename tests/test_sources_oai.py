import datetime as dt

import pytest
from sources_helpers import FIXTURES, assert_total, mutations, needs_data, split

from dailypapers.errors import ParseError
from dailypapers.models import Author, Version
from dailypapers.sources import oai

UTC = dt.UTC
DIR = FIXTURES / "arxiv-oai-pmh"
pytestmark = needs_data

EMPTY = b"""<?xml version="1.0" encoding="UTF-8"?>
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>2018-06-21T14:31:04Z</responseDate>
<request verb="ListRecords">http://export.arxiv.org/oai2</request>
<error code="%s">%s</error></OAI-PMH>"""

RECORDS = b"""<?xml version="1.0" encoding="UTF-8"?>
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><ListRecords>
<record><header status="deleted"><identifier>oai:arXiv.org:0704.0099</identifier></header></record>
<record><header><identifier>oai:arXiv.org:0704.0001</identifier></header><metadata>
 <arXiv xmlns="http://arxiv.org/OAI/arXiv/"><id>0704.0001</id><created>2007-04-02</created>
 <updated>2007-07-24</updated><authors><author><keyname>Bal\\'azs</keyname><forenames>C.</forenames></author>
 <author><keyname>Smith</keyname><forenames>John</forenames><suffix>Jr</suffix>
 <affiliation>MIT</affiliation><affiliation>CERN</affiliation></author></authors>
 <title>Calculation of prompt diphoton production cross sections at Tevatron and
  LHC energies</title><categories>hep-ph hep-ex hep-ph</categories>
 <comments>Code at https://github.com/a/b.</comments><abstract>  A fully differential
calculation.
</abstract></arXiv></metadata></record>
<record><header><identifier>oai:arXiv.org:0704.0002</identifier></header><metadata/></record>
<record><header><identifier>oai:arXiv.org:bad</identifier></header><metadata>
 <arXiv xmlns="http://arxiv.org/OAI/arXiv/"><id>bad</id><title>T</title></arXiv></metadata></record>
<resumptionToken cursor="0" completeListSize="3">  </resumptionToken>
</ListRecords></OAI-PMH>"""


def test_listrecords_exactly():
    records, errors = split(oai.parse((DIR / "listrecords_1.xml").read_bytes(), "listrecords_1.xml"))
    assert errors == [] and len(records) == 2
    first, second = records[0].paper, records[1].paper
    assert first.arxiv_id == "1412.8544"
    assert first.title == "A Kochen-Specker system has at least 22 vectors (extended abstract)"
    assert first.authors == [Author("Sander Uijlen", "Radboud Universiteit"),
                             Author("Bas Westerbaan", "Radboud Universiteit")]
    assert first.published == dt.datetime(2014, 12, 29, tzinfo=UTC)
    assert first.versions == [Version(1, dt.datetime(2014, 12, 29, tzinfo=UTC))] and first.version == 1
    assert (first.primary_category, first.categories) == ("cs.DM", ["cs.DM"])
    assert first.comments == "In Proceedings QPL 2014, arXiv:1412.8102"
    assert first.journal_ref == "EPTCS 172, 2014, pp. 154-164"
    assert first.doi == "10.4204/EPTCS.172.11"
    assert first.license == "http://arxiv.org/licenses/nonexclusive-distrib/1.0/"
    assert first.abstract.startswith("At the heart of the Conway-Kochen Free Will theorem")
    assert first.abstract.endswith("improve the lower bound to 22.")
    assert second.arxiv_id == "hep-th/9504118"
    assert second.authors == [Author("M. Requardt")]
    assert 'the "strength" of the bonds' in second.abstract and "'{\\it cellular network}'" in second.abstract
    assert second.primary_category == "hep-th" and second.doi is None and second.license is None
    assert oai.resumption_token((DIR / "listrecords_1.xml").read_bytes()) is None


def test_getrecord():
    [record] = list(oai.parse((DIR / "getrecord_0.xml").read_bytes()))
    assert record.paper.arxiv_id == "1412.8544" and record.line > 1


@pytest.mark.parametrize("name", ["identify_0.xml", "listsets_0.xml", "listidentifiers_0.xml",
                                  "listmetadataformats_0.xml", "listmetadataformats_id-1208.0264_0.xml"])
def test_responses_without_records(name):
    assert list(oai.parse((DIR / name).read_bytes())) == []


def test_503_html_body_is_one_error():
    [error] = list(oai.parse((DIR / "listrecords_0.xml").read_bytes(), "listrecords_0.xml"))
    assert isinstance(error, ParseError) and "not an OAI-PMH response" in error.message


def test_no_records_match_is_empty_not_an_error():
    data = EMPTY % (b"noRecordsMatch", b"No records match")
    assert list(oai.parse(data)) == []
    assert oai.resumption_token(data) is None


@pytest.mark.parametrize("code", [b"badArgument", b"badResumptionToken", b"cannotDisseminateFormat"])
def test_oai_errors(code):
    data = EMPTY % (code, b"Something is wrong")
    [error] = list(oai.parse(data, "e.xml"))
    assert error.message == f"OAI-PMH error: {code.decode()}: Something is wrong"
    with pytest.raises(ParseError):
        oai.resumption_token(data)


def test_deleted_missing_and_bad_records():
    page = oai.parse_page(RECORDS, "r.xml")
    records, errors = split(page.records)
    assert page.token is None and page.complete_list_size == 3
    [record] = records
    p = record.paper
    assert p.arxiv_id == "0704.0001"
    assert p.authors == [Author("C. Balázs"), Author("John Smith Jr", "MIT; CERN")]
    assert p.title == "Calculation of prompt diphoton production cross sections at Tevatron and LHC energies"
    assert p.categories == ["hep-ph", "hep-ex"]
    assert p.version is None and p.updated == dt.datetime(2007, 7, 24, tzinfo=UTC)
    assert p.abstract == "A fully differential calculation."
    assert [(link.kind, link.url, link.source) for link in p.links] == [
        ("github", "https://github.com/a/b", "comments")]
    assert len(errors) == 2 and all(e.source == "r.xml" and e.line for e in errors)


def test_resumption_token_present():
    data = (DIR / "listrecords_1.xml").read_bytes().replace(
        b"</ListRecords>", b'<resumptionToken cursor="0" completeListSize="1500">5512|1001</resumptionToken>'
                           b"</ListRecords>")
    page = oai.parse_page(data)
    assert page.token == "5512|1001" and page.complete_list_size == 1500 and len(page.records) == 2


def test_malformed_xml_is_one_error():
    data = (DIR / "listrecords_1.xml").read_bytes()
    for bad in (data[:3000], b"", b"\xff\xfe<x/>", data.replace(b"<ListRecords>", b"<ListRecords><")):
        results = list(oai.parse(bad))
        assert len(results) == 1 and isinstance(results[0], ParseError)


def test_damaged_copies_never_raise():
    assert_total(oai.parse, mutations((DIR / "listrecords_1.xml").read_bytes(), count=300))
    assert_total(oai.parse, mutations(RECORDS, count=300))
