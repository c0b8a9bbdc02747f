"""The HTML pages, forms and feeds fuzzed like the JSON API (issue 14, "close the classes"; the
API's own run is tests/test_api_schema.py).

The pages are `include_in_schema=False`, so the served /openapi.json does not list them: an
OpenAPI document of their own is built here from the same routes (each handler's path, query
and form parameters, as FastAPI reads them). schemathesis then sends generated requests, valid
and invalid, to every operation as a signed-in member (session cookie and CSRF token), and a
second test sends hostile *ranges* drawn per parameter type: dates of years 1 to 9999 in every
slug form (day, ISO week, month, search filters), integers around 2^31 and past 2^63, NUL,
control characters and the noncharacters U+FFFE/U+FFFF, and 64 KB values. No answer may be a
5xx (nor a 2xx/3xx to a value that cannot be right: that is left to the focused tests in
tests/test_hostile_input.py).

Operations that end the fuzzing member's session (signing out, changing the password) are left
out; everything else, moderation and administration included, is called.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI, routing
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from support import hypothesis_profile
from support.community import copy_data_dir, make_app, member, signed_in_client

from dailypapers.web import routes as route_modules

pytestmark = pytest.mark.slow
EXAMPLES = hypothesis_profile.scaled(8)
TIMEOUT = 60  # seconds per request: generous for 2 busy cores; no assertion is about time
SESSION_ENDING = {("POST", "/signout"), ("POST", "/account/signout-everywhere"), ("POST", "/account/password")}
FORM = "application/x-www-form-urlencoded"


def pages_document() -> dict[str, Any]:
    """An OpenAPI document of every route outside /api (pages, forms, feeds): the routes of every
    module in web/routes/, so a new page or form is fuzzed without being listed here."""
    doc_app = FastAPI(title="dailypapers pages", version="1", openapi_url=None)
    for info in pkgutil.iter_modules(route_modules.__path__, route_modules.__name__ + "."):
        router = getattr(importlib.import_module(info.name), "router", None)
        for route in getattr(router, "routes", []):
            if isinstance(route, routing.APIRoute) and not route.path.startswith("/api"):
                doc_app.add_api_route(route.path, route.endpoint, methods=sorted(route.methods),
                                      include_in_schema=True)
    return doc_app.openapi()


@pytest.fixture(scope="module")
def pages_app(web_data_dir, tmp_path_factory):
    """The app on a private copy of the site, limits off, with a member signed in (its session
    cookie and CSRF token sent with every request)."""
    data_dir = copy_data_dir(web_data_dir, tmp_path_factory.mktemp("pages") / "data")
    app, store = make_app(data_dir, rate_limit_search=0, rate_limit_api=0, rate_limit_forms=0,
                          rate_limit_store="memory", index_follow_interval=0)
    member(store, "fuzzer")
    client = signed_in_client(app, "fuzzer@example.org")
    cookies = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
    app.state.fuzz_headers = {"Cookie": cookies, "X-CSRF-Token": client.csrf}
    warm = TestClient(app).get("/search", params={"q": "warm up"})
    assert warm.status_code == 200, warm.text[:300]
    yield app
    store.close()


@pytest.fixture(scope="module")
def pages_schema(pages_app):
    schema = schemathesis.openapi.from_dict(pages_document())
    schema.app = pages_app
    return schema


DOCUMENT = pages_document()
OPERATIONS = sorted((method.upper(), path) for path, ops in DOCUMENT["paths"].items() for method in ops
                    if (method.upper(), path) not in SESSION_ENDING)


def _constrained(schema: dict) -> bool:
    """Whether a value can break this schema (a type other than free text, a length, a choice)."""
    schema = DOCUMENT["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]] if "$ref" in schema else schema
    if "properties" in schema:
        return any(_constrained(s) for s in schema["properties"].values())
    loose = {"title", "description", "default", "type"}
    return schema.get("type", "string") != "string" or bool(set(schema) - loose)


def _has_invalid_input(method: str, path: str) -> bool:
    raw = DOCUMENT["paths"][path][method.lower()]
    body = raw.get("requestBody", {}).get("content", {}).get(FORM, {}).get("schema")
    params = raw.get("parameters", [])
    return any(_constrained(p.get("schema", {})) for p in params) or bool(body and _constrained(body))


# an operation whose inputs are all free text (or none) has no invalid input to generate
CASES = [(m, p, mode) for m, p in OPERATIONS for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
         if mode is GenerationMode.POSITIVE or _has_invalid_input(m, p)]


def test_every_page_and_form_is_in_the_document():
    paths = {path for _, path in OPERATIONS}
    for path in ("/", "/search", "/papers/date/{slug}", "/papers/week/{slug}", "/collections/{cid}",
                 "/collections", "/papers/{arxiv_id}/comments", "/searches/{search_id}/delete",
                 "/account/tokens/{token_id}/revoke", "/admin/users/{user_id}/role", "/feeds/{kind}/{slug}.{fmt}",
                 "/signin", "/signup", "/account/profile"):
        assert path in paths, path
    assert len(OPERATIONS) > 60


def test_the_fuzzing_member_is_signed_in_and_its_forms_pass_the_csrf_check(pages_app):
    """Otherwise every form would stop at 403 and its handler would never be fuzzed."""
    client = TestClient(pages_app, raise_server_exceptions=False)
    headers = pages_app.state.fuzz_headers
    assert client.get("/account", headers=headers).status_code == 200
    made = client.post("/collections", data={"name": "fuzzed"}, headers=headers, follow_redirects=False)
    assert made.status_code == 303, made.text[:300]


@pytest.mark.parametrize(("method", "path", "mode"), CASES, ids=[f"{m} {p} {mode}" for m, p, mode in CASES])
def test_every_page_and_form_answers_without_a_server_error(pages_schema, pages_app, method, path, mode):
    operation = pages_schema[path][method]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES)
    def check(case):
        case.call_and_validate(headers=pages_app.state.fuzz_headers, checks=[not_a_server_error], timeout=TIMEOUT)

    check()


# -- hostile ranges ----------------------------------------------------------------------------

YEARS = st.integers(min_value=1, max_value=9999)
TWO = st.integers(min_value=0, max_value=99)
SLUGS = st.one_of(
    st.builds(lambda y, m, d: f"{y:04d}-{m:02d}-{d:02d}", YEARS, TWO, TWO),
    st.builds(lambda y, w: f"{y:04d}-W{w:02d}", YEARS, TWO),
    st.builds(lambda y, m: f"{y:04d}-{m:02d}", YEARS, TWO),
    st.builds(lambda key, y: f"agents {key}:{y:04d}-12-31", st.sampled_from(["from", "to"]), YEARS),
)
EDGE_INTEGERS = [0, -1, 2**31 - 1, 2**31, 2**32, 2**63 - 1, 2**63, 2**64, 10**40, -(2**63) - 1]
INTEGERS = st.one_of(st.sampled_from(EDGE_INTEGERS), st.integers(min_value=-(2**70), max_value=2**70))
KILOBYTES_64 = 64 * 1024
SPECIAL = ["\x00", "a\x00b", "\x01\x1b[31m", "\x7f\x85\x9f", "\ufffe", "\uffff", "x\ufffey\uffffz",
           "\u202e\u200b", "x" * KILOBYTES_64, "\x00" * KILOBYTES_64, "\ufffe" * (KILOBYTES_64 // 3)]
TEXT = st.one_of(st.sampled_from(SPECIAL), SLUGS, INTEGERS.map(str),
                 st.text(st.characters(exclude_categories=("Cs",)), max_size=40))


def _form_fields(raw: dict[str, Any], doc: dict[str, Any]) -> dict[str, dict]:
    """The form fields of an operation: name -> JSON schema (through its $ref)."""
    schema = raw.get("requestBody", {}).get("content", {}).get(FORM, {}).get("schema", {})
    if "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema.get("properties", {})


def _is_integer(schema: dict) -> bool:
    kinds = [schema.get("type")] + [s.get("type") for s in schema.get("anyOf", [])]
    return "integer" in kinds


def _hostile(data, name: str, schema: dict) -> Any:
    return data.draw(INTEGERS if _is_integer(schema) else TEXT, label=name)


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_hostile_ranges_in_every_page_and_form_parameter(pages_schema, pages_app, method, path):
    operation = pages_schema[path][method]
    raw, doc = operation.definition.raw, pages_schema.raw_schema
    fields = _form_fields(raw, doc)

    @given(data=st.data())
    @settings(max_examples=EXAMPLES)
    def check(data):
        parts: dict[str, dict] = {"path": {}, "query": {}}
        for param in raw.get("parameters", []):
            if param["in"] in parts and (param.get("required") or data.draw(st.booleans(), label="send")):
                parts[param["in"]][param["name"]] = _hostile(data, param["name"], param.get("schema", {}))
        form = {"body": {name: _hostile(data, name, schema) for name, schema in fields.items()},
                "media_type": FORM} if fields else {}
        case = operation.Case(path_parameters=parts["path"], query=parts["query"], **form)
        case.call_and_validate(headers=pages_app.state.fuzz_headers, checks=[not_a_server_error], timeout=TIMEOUT)

    check()
