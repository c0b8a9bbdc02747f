"""Request limits: body, URL and query sizes (413/414/400), and rate limits on search, the API and
forms (429 with Retry-After) per client address and per API token, counted in the database so
every web process on one database shares them. Each test's app sets its own low limits and its own
secret key, so its counters are its own (keys are stored as an HMAC under the secret)."""

from __future__ import annotations

import dataclasses
import secrets
import threading
import time

import httpx
import pytest
from fastapi.testclient import TestClient
from support.community import copy_data_dir, make_app, member

from dailypapers.community import accounts
from dailypapers.community.ratelimit import DatabaseCounter, MemoryCounter, RateLimiter, sliding_wait
from dailypapers.errors import ConfigError, RateLimited
from dailypapers.store import Store
from dailypapers.web import create_app

LOW = dict(rate_limit_search=3, rate_limit_api=4, rate_limit_forms=2)


def app_with(web_settings, web_store, **overrides):
    settings = dataclasses.replace(web_settings, secret_key="limits-" + secrets.token_hex(16), **overrides)
    return create_app(settings, store=web_store)


def client(app, address: str = "127.0.0.2") -> TestClient:
    return TestClient(app, raise_server_exceptions=False, client=(address, 40000))


def assert_429(response, *, json_body: bool) -> int:
    assert response.status_code == 429, response.text[:300]
    wait = int(response.headers["Retry-After"])
    assert 1 <= wait <= 120  # the sliding estimate may wait into the next window
    if json_body:
        body = response.json()
        assert body["status"] == 429 and "too many" in body["error"]
    else:
        assert response.headers["content-type"].startswith("text/html")
        assert "Slow down" in response.text and "too many searches" in response.text
    return wait


# -- sizes -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def small(web_settings, web_store):
    return app_with(web_settings, web_store, max_body_bytes=1000, max_url_bytes=300, max_query_params=5)


def test_a_body_over_the_limit_is_413_before_the_form_is_read(small):
    c = client(small)
    form = {"content-type": "application/x-www-form-urlencoded"}
    page = c.post("/signin", content=b"email=" + b"a" * 2000, headers=form)
    assert page.status_code == 413 and page.headers["content-type"].startswith("text/html")
    assert "larger than 1000 bytes" in page.text
    api = c.post("/api/papers/2401.00001/vote", json={"upvoted": True, "pad": "x" * 2000})
    assert api.status_code == 413 and api.json() == {"error": "The request body is larger than 1000 bytes.",
                                                     "status": 413}


def test_a_chunked_body_is_counted_as_it_arrives(small):
    def chunks():
        for _ in range(20):
            yield b"x" * 100

    response = client(small).post("/api/papers/2401.00001/vote", content=chunks(),
                                  headers={"content-type": "application/json"})
    assert response.status_code == 413 and response.json()["status"] == 413


def test_a_body_within_the_limit_goes_through(small):
    response = client(small).post("/api/papers/2401.00001/vote", json={"upvoted": True})
    assert response.status_code == 401  # reaches the route: it wants a token


def test_a_long_url_is_414_and_too_many_parameters_400(small):
    c = client(small)
    long_page = c.get("/search", params={"q": "x" * 400})
    assert long_page.status_code == 414 and "longer than 300 bytes" in long_page.text
    long_api = c.get("/api/papers/search", params={"q": "x" * 400})
    assert long_api.status_code == 414 and long_api.json()["status"] == 414
    many = c.get("/api/daily_papers?" + "&".join(f"p{i}=1" for i in range(6)))
    assert many.status_code == 400 and "6 query parameters" in many.json()["error"]
    assert c.get("/api/daily_papers?" + "&".join(f"p{i}=1" for i in range(5))).status_code != 400


# -- rates -------------------------------------------------------------------------------------

def test_searches_are_limited_per_address_with_retry_after(web_settings, web_store):
    app = app_with(web_settings, web_store, **LOW)
    first, second = client(app, "127.0.0.2"), client(app, "127.0.0.3")
    for _ in range(3):
        assert first.get("/search", params={"q": "attention"}).status_code == 200
    assert_429(first.get("/search", params={"q": "attention"}), json_body=False)
    # the API's search shares the budget, and answers in JSON
    assert_429(first.get("/api/papers/search", params={"q": "attention"}), json_body=True)
    # another address has its own budget; pages that are not searches are not counted
    assert second.get("/search", params={"q": "attention"}).status_code == 200
    assert all(first.get("/").status_code == 200 for _ in range(6))


def test_api_requests_are_limited_per_token_and_made_up_tokens_count_against_the_address(tmp_path, web_data_dir):
    app, store = make_app(copy_data_dir(web_data_dir, tmp_path / "data"), secret_key="t" * 40, **LOW)
    try:
        ada, bob = member(store, "ada"), member(store, "bob")
        ada_token, bob_token = accounts.create_token(store, ada, "a"), accounts.create_token(store, bob, "b")
        c = client(app)

        def get(token: str | None = None):
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            return c.get("/api/daily_papers", headers=headers)

        assert [get(ada_token).status_code for _ in range(4)] == [200] * 4
        assert_429(get(ada_token), json_body=True)
        assert get(bob_token).status_code == 200  # another token: its own budget
        assert get().status_code == 200  # the address's own budget is untouched by token requests
        made_up = ["dp_" + secrets.token_urlsafe(32) for _ in range(3)]
        assert [get(t).status_code for t in made_up] == [401, 401, 401]  # each counted against the address
        assert_429(get(made_up[0]), json_body=True)
        assert_429(get(), json_body=True)
        assert get(bob_token).status_code == 200
    finally:
        store.close()


def test_form_posts_are_limited_before_csrf_and_gets_are_not(web_settings, web_store):
    app = app_with(web_settings, web_store, **LOW)
    c = client(app, "127.0.0.4")
    form = {"email": "nobody@example.org", "password": "x"}
    assert [c.post("/signin", data=form).status_code for _ in range(2)] == [403, 403]  # no CSRF token
    refused = c.post("/signin", data=form)
    assert refused.status_code == 429 and "too many form submissions" in refused.text
    assert 1 <= int(refused.headers["Retry-After"]) <= 120
    assert c.get("/signin").status_code == 200


def test_limits_are_shared_by_every_process_on_one_database(web_settings):
    """Two apps on two separate engines (as two web processes would be) share one budget."""
    settings = dataclasses.replace(web_settings, secret_key="shared-" + secrets.token_hex(16), **LOW)
    stores = [Store.open(settings.resolved_database_url) for _ in range(2)]
    try:
        one, two = (client(create_app(settings, store=s)) for s in stores)
        assert one.get("/search", params={"q": "graph"}).status_code == 200
        assert two.get("/search", params={"q": "graph"}).status_code == 200
        assert one.get("/search", params={"q": "graph"}).status_code == 200
        assert_429(two.get("/search", params={"q": "graph"}), json_body=False)
        assert_429(one.get("/search", params={"q": "graph"}), json_body=False)
    finally:
        for s in stores:
            s.close()


def test_database_counter_never_counts_past_the_cap_under_concurrent_hits(web_settings):
    store = Store.open(web_settings.resolved_database_url)
    try:
        key, start = "test:" + secrets.token_hex(8), 3_000_000_060  # in the future: no prune removes it
        granted: list[int] = []
        lock = threading.Lock()

        def worker():
            for _ in range(15):
                got = store.rate_limits.hit(key, start, 60, cap=40)
                if got is not None:
                    with lock:
                        granted.append(got)

        threads = [threading.Thread(target=worker) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert sorted(granted) == list(range(1, 41))  # 90 attempts, exactly 40 counted, each count once
        assert store.rate_limits.hits(key, start) == 40
        assert store.rate_limits.hit(key, start, 60, cap=40) is None
        assert store.rate_limits.prune(start + 121) >= 1 and store.rate_limits.hits(key, start) == 0
    finally:
        store.close()


def test_database_counter_estimates_a_sliding_window(web_settings):
    store = Store.open(web_settings.resolved_database_url)
    now = [3_000_000_000.0]  # the start of a 60 s window, in the future
    counter = DatabaseCounter(store, secrets.token_hex(16), clock=lambda: now[0])
    limiter = RateLimiter(4, 60, "tries", counter=counter, name="slide")
    try:
        for _ in range(4):
            limiter.hit("k")
        with pytest.raises(RateLimited) as refused:
            limiter.hit("k")
        assert refused.value.retry_after == 75  # at 15 s into the next window 4·(45/60) = 3 leave room
        now[0] += 75  # 15 s into the next window: 4·(45/60) = 3 still count, room for 1
        limiter.hit("k")
        with pytest.raises(RateLimited) as refused:
            limiter.hit("k")
        assert refused.value.retry_after == 15  # at 30 s, 4·(30/60) + 1 = 3 leaves room for one more
        now[0] += 15
        limiter.hit("k")
        limiter.reset("k")
        for _ in range(4):
            limiter.hit("k")
    finally:
        store.close()


def test_the_counter_table_holds_no_address_or_email(web_settings):
    store = Store.open(web_settings.resolved_database_url)
    try:
        counter = DatabaseCounter(store, "hmac-secret-" + secrets.token_hex(8))
        RateLimiter(5, 60, counter=counter, name="signin-email").hit("leak-check@example.org")
        from sqlalchemy import select

        from dailypapers.store.schema import rate_limits
        with store.engine.connect() as conn:
            keys = [row.key for row in conn.execute(select(rate_limits.c.key))]
        assert keys and all("@" not in k and "leak-check" not in k for k in keys)
        assert any(k.startswith("signin-email:") for k in keys)
    finally:
        store.close()


def test_sliding_wait_and_memory_counter():
    assert sliding_wait(10, 60, elapsed=0.0, previous=0, current=10) == 6.0 + 60.0
    assert sliding_wait(10, 60, elapsed=30.0, previous=10, current=5) == pytest.approx(6.0)
    clock = [0.0]
    counter = MemoryCounter(lambda: clock[0])
    assert [counter.hit("a", 2, 10) for _ in range(2)] == [None, None]
    assert counter.hit("a", 2, 10) == 10.0
    clock[0] = 10.5
    assert counter.hit("a", 2, 10) is None


def test_zero_turns_a_limit_off_and_the_store_setting_is_checked(web_settings, web_store):
    app = app_with(web_settings, web_store, rate_limit_search=0, rate_limit_store="memory")
    c = client(app, "127.0.0.5")
    assert all(c.get("/api/papers/search", params={"q": "x"}).status_code == 200 for _ in range(5))
    with pytest.raises(ConfigError):
        app_with(web_settings, web_store, rate_limit_store="redis")


def test_the_default_limits_let_a_burst_through(web_settings, web_store):
    """The defaults (which the demo and the shared test app use) allow a burst of searches,
    API calls and form posts from one address."""
    app = app_with(web_settings, web_store)  # the default limits, counters of its own
    c = client(app, "127.0.0.8")
    assert all(c.get("/api/papers/search", params={"q": "language"}).status_code == 200 for _ in range(40))
    assert all(c.get("/api/daily_papers").status_code == 200 for _ in range(40))
    assert all(c.post("/signin", data={}).status_code == 403 for _ in range(40))  # CSRF, not 429
    limits = app.state.limits
    assert (limits.search.limit, limits.api.limit, limits.forms.limit) == (300, 3000, 300)


def test_concurrent_clients_of_two_processes_get_exactly_the_limit(web_settings):
    """Threads on two engines (two processes' worth of connection pools) hammer one key."""
    stores = [Store.open(web_settings.resolved_database_url) for _ in range(2)]
    try:
        secret = secrets.token_hex(16)
        now = 3_000_000_000.0 + 20 * 60  # a fixed moment in the future: one window, nothing pruned
        limiters = [RateLimiter(30, 60, counter=DatabaseCounter(s, secret, clock=lambda: now), name="race")
                    for s in stores]
        allowed, refused, failed = [], [], []
        lock = threading.Lock()

        def worker(limiter):
            for _ in range(12):
                try:
                    limiter.hit("one-client")
                    outcome = allowed
                except RateLimited as exc:
                    outcome = refused
                    assert exc.retry_after >= 1
                except Exception as exc:  # a database error (a lock, a conflict) would be a bug
                    outcome = failed
                    with lock:
                        failed.append(repr(exc))
                    continue
                with lock:
                    outcome.append(1)

        threads = [threading.Thread(target=worker, args=(limiters[i % 2],)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert failed == []
        assert len(allowed) == 30 and len(refused) == 72 - 30
    finally:
        for s in stores:
            s.close()


@pytest.mark.slow
@pytest.mark.parametrize("counters, allowed", [("database", 5), ("memory", 10)])
def test_two_real_server_processes_share_the_database_counters(tmp_path, web_data_dir, counters, allowed):
    """Two `dailypapers serve` processes on one database, searches alternating between them: with
    the database counters the two together allow the limit (5); with in-process counters each
    allows it, twice as many in all."""
    from support.databases import data_dir_env
    from support.processes import Server, running

    data = copy_data_dir(web_data_dir, tmp_path / "data")
    env = {**data_dir_env(data), "DAILYPAPERS_SECRET_KEY": "processes-" + secrets.token_hex(16),
           "DAILYPAPERS_RATE_LIMIT_SEARCH": "5", "DAILYPAPERS_RATE_LIMIT_STORE": counters,
           "DAILYPAPERS_INDEX_FOLLOW_INTERVAL": "0"}
    servers = [Server(env, tmp_path / f"serve-{n}.log") for n in range(2)]
    with running(*servers):
        for server in servers:
            server.wait_ready()
        for n in range(2, 8):  # a run that straddles a minute boundary is done again by a new client
            minute = int(time.time() // 60)
            codes = alternating_searches([s.url for s in servers], f"127.0.0.{n}")
            if int(time.time() // 60) == minute:  # one fixed window, and under 60 s: the limit is exact
                break
    assert codes.count(200) == allowed and codes.count(429) == 16 - allowed, codes


def alternating_searches(urls: list[str], source: str) -> list[int]:
    """16 searches from the loopback address `source` (its own rate-limit key), alternating servers."""
    codes = []
    with httpx.Client(transport=httpx.HTTPTransport(local_address=source), timeout=60) as http:
        for i in range(16):
            response = http.get(f"{urls[i % 2]}/api/papers/search", params={"q": "graph"})
            codes.append(response.status_code)
            if response.status_code == 429:
                assert 1 <= int(response.headers["Retry-After"]) <= 120
    return codes
