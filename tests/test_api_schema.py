"""The JSON API held to its own OpenAPI document (issue 7, part 1).

schemathesis reads the served /openapi.json and sends generated requests to every operation,
valid ones and invalid ones (wrong types, out-of-range numbers, hostile strings: NUL bytes,
control characters, astral-plane text, very long values), without credentials, with a real
member's API token, and with a forged token. Every response must be no 5xx, a status code the
document declares for that operation, the declared content type, and a body that matches the
declared schema.

The API surface is `/api/*` (the Hugging Face-compatible papers routes and the community
routes); HTML pages, forms, feeds and static files are `include_in_schema=False` and are not
part of it (test_openapi_lists_only_the_api checks that).
"""

from __future__ import annotations

import datetime as dt
import socket
from urllib.parse import parse_qsl, urlsplit

import pytest
import schemathesis
from hypothesis import given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sources_helpers import ReplayServer, Reply
from support import hypothesis_profile
from support.community import copy_data_dir, make_app, member

from dailypapers.community import accounts

pytestmark = pytest.mark.slow
EXAMPLES = hypothesis_profile.scaled(20)
TIMEOUT = 60  # seconds per request: generous for 2 busy cores; no assertion is about time
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance, negative_data_rejection]


EMPTY_FEED = (b'<?xml version="1.0" encoding="UTF-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom" '
              b'xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/"><title>arXiv Query</title>'
              b"<opensearch:totalResults>0</opensearch:totalResults></feed>\n")
ARXIV_DOWN = "2609.99999"  # the loopback arXiv answers 503 for this id: the API's 502
FRESH = "2611.00042"  # ... and knows this one, first published yesterday: a submission that succeeds
FRESH_FEED = """<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:arxiv="http://arxiv.org/schemas/atom">
  <title>arXiv Query</title>
  <entry>
    <id>http://arxiv.org/abs/{id}v1</id>
    <updated>{when}</updated>
    <published>{when}</published>
    <title>A <b>fresh</b> paper &amp; its "claims"</title>
    <summary>Submitted through the API while schemathesis watched.</summary>
    <author><name>Ada Lovelace</name></author>
    <arxiv:primary_category term="cs.LG" scheme="http://arxiv.org/schemas/atom"/>
    <category term="cs.LG" scheme="http://arxiv.org/schemas/atom"/>
  </entry>
</feed>
"""


def _arxiv(path: str) -> Reply:
    """The arXiv API on loopback (never the network): it knows FRESH only, and is down for ARXIV_DOWN."""
    wanted = dict(parse_qsl(urlsplit(path).query)).get("id_list", "")
    if wanted == ARXIV_DOWN:
        return Reply(503, b"Service Unavailable", content_type="text/plain")
    if wanted == FRESH:
        when = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        return Reply(200, FRESH_FEED.format(id=FRESH, when=when).encode(), content_type="application/atom+xml")
    return Reply(200, EMPTY_FEED, content_type="application/atom+xml")


@pytest.fixture(scope="module")
def api_app(web_data_dir, tmp_path_factory):
    """The app on a private copy of the web test data (votes and comments stay out of the shared
    fixtures), a member with an API token, the search service warmed up (the first hybrid query
    loads the encoder)."""
    from fastapi.testclient import TestClient

    data_dir = copy_data_dir(web_data_dir, tmp_path_factory.mktemp("schema") / "data")
    with ReplayServer(route=_arxiv) as arxiv:
        app, store = make_app(data_dir, arxiv_api_url=arxiv.url + "/api/query")
        user = member(store, "fuzzer")
        app.state.test_token = accounts.create_token(store, user, "schemathesis")
        # the real-paper cases get a member of their own: the fuzzer spends its daily submissions
        app.state.real_token = accounts.create_token(store, member(store, "reader"), "real cases")
        warm = TestClient(app).get("/api/papers/search", params={"q": "warm up", "mode": "hybrid"})
        assert warm.status_code == 200, warm.text[:300]
        yield app
        store.close()


OPERATIONS = [
    ("GET", "/api/daily_papers"), ("GET", "/api/papers"), ("GET", "/api/papers/search"),
    ("GET", "/api/papers/{arxiv_id}"), ("GET", "/api/papers/{arxiv_id}/similar"),
    ("GET", "/api/papers/{arxiv_id}/comments"), ("POST", "/api/papers/{arxiv_id}/comments"),
    ("POST", "/api/papers/{arxiv_id}/vote"), ("POST", "/api/papers/submit"), ("GET", "/api/whoami"),
    ("GET", "/api/arxiv/{arxiv_id}/repos"),
]
# strings an attacker or a broken client sends: markup, SQL, traversal, NUL and control bytes,
# right-to-left marks, astral characters, huge and empty values, ids that are almost ids
HOSTILE = [
    "", " ", "\x00", "a\x00b", "\r\n\r\n", "\t", "<script>alert(1)</script>", "\"'><img src=x onerror=alert(1)>",
    "' OR 1=1 --", "'; DROP TABLE papers; --", "../../etc/passwd", "%00", "%2e%2e%2f", "\\", "/", "//evil.example",
    "\u202eevil", "\U0001f600" * 50, "\ud7ff", "x" * 5000, "2405.15738", "2405.15738v2", "2405.15738v0",
    "hep-th/9901001", "hep-th/9901001v3", "9999.99999", "0000.0000", "arxiv:2405.15738", "1e308", "-1", "NaN",
    "null", "[]", "{}", "author:", "cat:", "from:2025-99-99", "to:", '"', '""', "(((", "***", "?", "#", "&",
    # hostile ranges (issue 14): years 1 and 9999 in every date form, numbers past 2^31 and 2^63,
    # noncharacters, a 64 KB value
    "9999-12-31", "0001-01-01", "9999-W52", "0001-W01", "9999-12", "0001-01", "x from:9999-12-31", "x to:0001-01-01",
    str(2**31), str(2**63), str(2**64), "\ufffe", "\uffff", "a\ufffeb\uffffc", "x" * 65536,
]
EDGE_INTEGERS = [0, -1, 2**31 - 1, 2**31, 2**32, 2**63 - 1, 2**63, 2**64, -(2**63) - 1, 10**40]
AUTH = {"none": None, "member": "member", "forged": "Bearer dp_forged-token-0123456789"}


@pytest.fixture(scope="module")
def api_schema(api_app):
    return schemathesis.openapi.from_asgi("/openapi.json", api_app)


def _headers(api_app, auth: str) -> dict[str, str]:
    value = AUTH.get(auth)
    if value == "member":
        value = f"Bearer {api_app.state.test_token}"
    elif auth == "reader":
        value = f"Bearer {api_app.state.real_token}"
    return {"Authorization": value} if value else {}


def _string_parameters(operation) -> list[tuple[str, str]]:
    return [(p.location.value, p.name) for p in operation.iter_parameters()
            if p.definition.get("schema", {}).get("type", "string") == "string"
            or any(s.get("type") == "string" for s in p.definition.get("schema", {}).get("anyOf", []))]


def _integer_parameters(operation) -> list[str]:
    return [p.name for p in operation.iter_parameters() if p.location.value == "query"
            and p.definition.get("schema", {}).get("type") == "integer"]


# operations whose only input is a free-form string (or nothing) have no invalid input to generate
NOTHING_NEGATIVE = {("GET", "/api/whoami"), ("GET", "/api/papers/{arxiv_id}"),
                    ("GET", "/api/papers/{arxiv_id}/comments"), ("GET", "/api/arxiv/{arxiv_id}/repos")}
CASES = [(m, p, mode) for m, p in OPERATIONS for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
         if mode is GenerationMode.POSITIVE or (m, p) not in NOTHING_NEGATIVE]
# a path value with a slash or dot segments addresses another route (or none), not this operation
# (nor can a raw # or ? travel inside a path)
PATH_HOSTILE = [v for v in HOSTILE if v.strip() and not set(v) & set("/#?") and not v.startswith("%2e")]
# what an Authorization header can carry on the wire (no control characters, latin-1)
HEADER_HOSTILE = ["Bearer", "bearer ", "Basic YWxhZGRpbjpvcGVuc2VzYW1l", "Bearer dp_", "Bearer " + "dp_" + "x" * 4000,
                  *(f"Bearer {v}" for v in HOSTILE if v.isprintable() and v.isascii())]


@pytest.mark.parametrize("auth", list(AUTH))
@pytest.mark.parametrize(("method", "path", "mode"), CASES, ids=[f"{m} {p} {mode}" for m, p, mode in CASES])
def test_every_operation_keeps_to_its_schema(api_schema, api_app, method, path, mode, auth):
    operation = api_schema[path][method]
    headers = _headers(api_app, auth)

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES if auth != "forged" else max(1, EXAMPLES // 4))
    def check(case):
        case.call_and_validate(headers=headers, checks=CHECKS, timeout=TIMEOUT)

    check()


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_hostile_strings_in_every_parameter(api_schema, api_app, method, path):
    operation = api_schema[path][method]
    targets = _string_parameters(operation)
    member = _headers(api_app, "member")["Authorization"]

    @given(case=operation.as_strategy(), data=st.data())
    @settings(max_examples=EXAMPLES)
    def check(case, data):
        headers = {"Authorization": data.draw(st.sampled_from([member, *HEADER_HOSTILE]), label="Authorization")}
        for location, name in targets:
            value = data.draw(st.sampled_from(PATH_HOSTILE if location == "path" else HOSTILE), label=name)
            container = {"query": "query", "path": "path_parameters", "header": "headers"}.get(location)
            if container and value:
                getattr(case, container)[name] = value
        for name in _integer_parameters(operation):  # page numbers and limits past 2^31 and 2^63
            case.query[name] = data.draw(st.sampled_from(EDGE_INTEGERS), label=name)
        if isinstance(case.body, dict):
            for key, current in list(case.body.items()):
                if isinstance(current, str):
                    case.body[key] = data.draw(st.sampled_from(HOSTILE), label=key)
                elif isinstance(current, int) and not isinstance(current, bool):
                    case.body[key] = data.draw(st.sampled_from(EDGE_INTEGERS), label=key)
        case.call_and_validate(headers=headers, checks=CHECKS, timeout=TIMEOUT)

    check()


# real papers, so the 200 responses of every operation are checked too (random ids are mostly 404s)
REAL_IDS = ["2608.19880", "2608.19880v1", "2501.00001", "hep-th/9709111", "hep-th/9709111v2", "funct-an/9301001"]
REAL_CASES = [
    ("GET", "/api/daily_papers", {"query": {"date": "2026-08-21", "sort": "trending"}}),
    ("GET", "/api/daily_papers", {"query": {"week": "2026-W34", "limit": 100}}),
    ("GET", "/api/daily_papers", {"query": {"month": "2026-07", "p": 1}}),
    ("GET", "/api/daily_papers", {"query": {"p": 2, "limit": 30}}),  # no period: the feed
    ("GET", "/api/daily_papers", {"query": {"submitter": "taesiri", "sort": "publishedAt"}}),
    ("GET", "/api/papers", {"query": {"limit": 100}}),
    ("GET", "/api/papers/search", {"query": {"q": "agent", "mode": "keyword"}}),
    ("GET", "/api/papers/search", {"query": {"q": '"language model" cat:cs.CL', "mode": "hybrid"}}),
    ("GET", "/api/papers/search", {"query": {"q": "<script>alert(1)</script>", "mode": "semantic"}}),
    ("GET", "/api/whoami", {}),
    ("POST", "/api/papers/submit", {"body": {"id": "https://arxiv.org/abs/2608.19880v1"}}),  # 409: listed
    ("POST", "/api/papers/submit", {"body": {"id": "2609.00001"}}),  # 404: arXiv does not know it
    ("POST", "/api/papers/submit", {"body": {"id": ARXIV_DOWN}}),  # 502: not stored, arXiv is down
    ("POST", "/api/papers/submit", {"body": {"id": f"arXiv:{FRESH}"}}),  # 200 (once), then 409
    *(("GET", "/api/papers/{arxiv_id}", {"path_parameters": {"arxiv_id": i}}) for i in REAL_IDS),
    *(("GET", "/api/papers/{arxiv_id}/similar", {"path_parameters": {"arxiv_id": i}}) for i in REAL_IDS[:3]),
    ("POST", "/api/papers/{arxiv_id}/vote", {"path_parameters": {"arxiv_id": "2608.19880"}, "body": {"upvoted": True}}),
    ("POST", "/api/papers/{arxiv_id}/vote", {"path_parameters": {"arxiv_id": "hep-th/9709111"}, "body": {}}),
    ("POST", "/api/papers/{arxiv_id}/comments", {"path_parameters": {"arxiv_id": "2501.00001"},
                                                 "body": {"body": "<script>alert(1)</script> **bold** $x^2$"}}),
    ("GET", "/api/papers/{arxiv_id}/comments", {"path_parameters": {"arxiv_id": "2501.00001"}}),
    *(("GET", "/api/arxiv/{arxiv_id}/repos", {"path_parameters": {"arxiv_id": i}})
      for i in ("2607.13639", "2401.99999")),
]


@pytest.mark.parametrize("auth", ["none", "reader"])
def test_real_papers_answer_in_their_schema(api_schema, api_app, auth):
    seen = set()
    for method, path, parts in REAL_CASES:
        case = api_schema[path][method].Case(**parts)
        upstream_down = parts.get("body", {}).get("id") == ARXIV_DOWN and auth == "reader"
        checks = [c for c in CHECKS if c is not not_a_server_error] if upstream_down else CHECKS
        response = case.call_and_validate(headers=_headers(api_app, auth), checks=checks, timeout=TIMEOUT)
        assert not upstream_down or response.status_code == 502, response.text
        seen.add((method, path, response.status_code))
    ok = {(m, p) for m, p, status in seen if status == 200}
    if auth == "reader":  # every operation answered 200 at least once, so every success schema was checked
        assert ok == set(OPERATIONS), set(OPERATIONS) - ok
    else:
        assert ok == {(m, p) for m, p in OPERATIONS if m == "GET" and p != "/api/whoami"}, seen


def test_rate_limited_answers_keep_to_the_schema(web_data_dir, tmp_path):
    """With a limit of one request a minute, the second call of every operation is a 429 with
    Retry-After, declared by the document and shaped like every other error."""
    data_dir = copy_data_dir(web_data_dir, tmp_path / "data")
    with socket.socket() as closed:  # an arXiv API nothing listens on: this test never reaches the network
        closed.bind(("127.0.0.1", 0))
        arxiv = f"http://127.0.0.1:{closed.getsockname()[1]}/api/query"
    app, store = make_app(data_dir, rate_limit_api=1, rate_limit_search=1, rate_limit_store="memory",
                          arxiv_api_url=arxiv)
    try:
        app.state.test_token = accounts.create_token(store, member(store, "hasty"), "limits")
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        statuses = {}
        for auth in ("none", "member"):
            for method, path, parts in REAL_CASES:
                case = schema[path][method].Case(**parts)
                response = case.call_and_validate(headers=_headers(app, auth), checks=CHECKS, timeout=TIMEOUT)
                statuses.setdefault((method, path), set()).add(response.status_code)
                if response.status_code == 429:
                    assert int(response.headers["retry-after"][0]) >= 1
        assert all(429 in codes for codes in statuses.values()), statuses
    finally:
        store.close()


def test_openapi_lists_only_the_api(api_app):
    from fastapi.testclient import TestClient

    doc = TestClient(api_app).get("/openapi.json").json()
    paths = set(doc["paths"])
    assert paths and all(p.startswith("/api/") for p in paths), sorted(paths)
    expected = {"/api/daily_papers", "/api/papers", "/api/papers/search", "/api/papers/{arxiv_id}",
                "/api/papers/{arxiv_id}/similar", "/api/papers/{arxiv_id}/comments",
                "/api/papers/{arxiv_id}/vote", "/api/papers/submit", "/api/whoami"}
    assert expected <= paths
    listed = {(method.upper(), path) for path, ops in doc["paths"].items() for method in ops}
    assert listed == set(OPERATIONS), "a new operation must be added to OPERATIONS so it is fuzzed"
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            declared = set(operation["responses"])
            assert {"200", "422"} <= declared, (method, path, declared)
