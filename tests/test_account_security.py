"""Accounts and sessions against an attacker (issue 14): the production secret, sessions that end
on the server, mail links that never come from the request's Host, answers that do not tell
whether an address has an account, API tokens on a password reset, an emailed sign-in link past a
targeted lockout, and user names that pose as imported submitters.

Everything runs for real: the app on a private copy of the test data and database, mail through
the outbox to an aiosmtpd server on loopback (tests/support/delivery.py), cookies replayed as an
attacker who copied them would.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import random
import re
import threading
import time
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from support.community import PASSWORD, copy_data_dir, csrf_of, make_app, member
from support.delivery import SMTPServer
from support.ports import closed_port

from dailypapers import config
from dailypapers.community import accounts
from dailypapers.community import sessions as session_rules
from dailypapers.community.ratelimit import Limits
from dailypapers.errors import ConfigError, Conflict
from dailypapers.store import Store
from dailypapers.store.schema import daily_entries
from dailypapers.web import sessions

ROOT = Path(__file__).resolve().parents[1]
PUBLIC = "https://papers.example.org"
NOW = dt.datetime(2026, 8, 22, 9, tzinfo=dt.timezone.utc)


# -- item 2: the production secret ---------------------------------------------------------------


def _production(secret: str) -> config.Settings:
    return config.load(environ={}, env="production", secret_key=secret, public_url=PUBLIC)


@pytest.mark.parametrize("secret", ["", "x", "change-me-to-64-random-characters", config.DEFAULT_SECRET,
                                    "a" * 100, "abcdefghij" * 8, "0123456789abcdef" * 2,
                                    "my-example-signing-key-" + "k3y" * 10, "short-but-random-Zq81"])
def test_production_refuses_placeholder_and_weak_secrets(secret):
    with pytest.raises(ConfigError, match="DAILYPAPERS_SECRET_KEY"):
        _production(secret).check_production()
    config.load(environ={}, secret_key=secret).check_production()  # development takes anything


def test_production_takes_32_random_bytes_however_encoded():
    rng = random.Random(14)
    for _ in range(200):
        raw = rng.randbytes(32)
        for secret in (raw.hex(), base64.urlsafe_b64encode(raw).decode().rstrip("="), base64.b64encode(raw).decode()):
            _production(secret).check_production()


def test_the_shipped_env_example_leaves_the_secret_empty():
    lines = (ROOT / "deploy" / "env.example").read_text().splitlines()
    environ = dict(line.split("=", 1) for line in lines if line.strip() and not line.startswith("#"))
    assert environ["DAILYPAPERS_SECRET_KEY"] == ""
    with pytest.raises(ConfigError, match="is not set"):
        config.load(environ={k: v.strip('"') for k, v in environ.items()}).check_production()


# -- the site: a private copy of the data, mail to a real SMTP server ------------------------------


@pytest.fixture(scope="module")
def smtp():
    server = SMTPServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def site(web_data_dir, tmp_path_factory, smtp):
    data = copy_data_dir(web_data_dir, tmp_path_factory.mktemp("accounts") / "data")
    app, store = make_app(data, smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_starttls=False, public_url=PUBLIC,
                          mail_from="dailypapers <noreply@papers.example.org>")
    app.state.inbox = smtp.inbox
    yield app
    store.close()


@pytest.fixture(autouse=True)
def fresh_limits(request):
    if "site" in request.fixturenames:
        request.getfixturevalue("site").state.limits = Limits()


def browser(app, base: str = PUBLIC) -> TestClient:
    return TestClient(app, base_url=base, raise_server_exceptions=False)


def form(client: TestClient, page: str, path: str, **fields) -> httpx.Response:
    """GET the page, POST its form with the page's CSRF token."""
    token = csrf_of(client.get(page).text)
    return client.post(path, data={**fields, "csrf_token": token}, follow_redirects=False)


# -- item 13: posing as an imported submitter ------------------------------------------------------


def _capitalised_submitter(store: Store) -> str:
    query = select(daily_entries.c.submitted_by).where(
        daily_entries.c.submitted_by != func.lower(daily_entries.c.submitted_by),
        daily_entries.c.submitted_by.regexp_match("^[A-Za-z0-9][A-Za-z0-9_-]{1,31}$")).limit(1)
    with store.engine.connect() as conn:
        name = conn.execute(query).scalar()
    assert name, "the test data has imported submitters with capitals"
    return name


def test_a_user_name_equal_to_an_imported_submitter_in_any_case_is_refused(site):
    store = site.state.store
    imported = _capitalised_submitter(store)
    assert store.accounts.by_username(imported.lower()) is None
    with pytest.raises(Conflict, match="taken"):
        accounts.create_user(store, "poser@example.org", PASSWORD, username=imported.lower())
    c = browser(site)
    refused = form(c, "/signup", "/signup", email="poser@example.org", username=imported.lower(), password=PASSWORD)
    assert refused.status_code == 409 and "is taken" in refused.text
    assert store.accounts.by_email("poser@example.org") is None
    assert accounts.suggest_username(store, f"{imported.upper()}@example.org") != imported.lower()


def test_member_user_names_are_unique_whatever_their_case(site):
    store = site.state.store
    member(store, "casey")
    with pytest.raises(Conflict):
        store.accounts.create_user(email="casey2@example.org", username="Casey", display_name="",
                                   password_hash="x", role="member", now=NOW)
    with pytest.raises(Conflict, match="taken"):
        accounts.create_user(store, "casey3@example.org", PASSWORD, username="CASEY")


# -- item 3: sessions end on the server ------------------------------------------------------------


def signed_in(app, email: str, password: str = PASSWORD, base: str = PUBLIC) -> TestClient:
    c = browser(app, base)
    done = form(c, "/signin", "/signin", email=email, password=password)
    assert done.status_code == 303, done.text[:300]
    return c


def replay(app, source: TestClient, base: str = PUBLIC) -> TestClient:
    """Another client holding a copy of `source`'s session cookie, as an attacker who copied it."""
    copy = browser(app, base)
    copy.cookies.set(sessions.COOKIE, source.cookies.get(sessions.COOKIE), domain=httpx.URL(base).host)
    return copy


def _name_of(store: Store, user) -> str:
    return store.accounts.get(user.id).display_name


def test_a_copied_cookie_stops_working_after_sign_out(site, web_data_dir):
    store = site.state.store
    dana = member(store, "dana")
    owner = signed_in(site, "dana@example.org")
    thief = replay(site, owner)
    assert thief.get("/account").status_code == 200  # a copied cookie works while the session lives
    stolen_csrf = csrf_of(thief.get("/account").text)
    assert form(owner, "/account", "/signout").status_code == 303
    assert thief.get("/account", follow_redirects=False).status_code == 303  # to the sign-in page
    posted = thief.post("/account/profile", data={"display_name": "Owned", "csrf_token": stolen_csrf},
                        follow_redirects=False)
    assert posted.status_code == 303 and posted.headers["location"].startswith("/signin")
    assert _name_of(store, dana) == "Dana"
    # the same on another node of the cluster (its own app and store on the same database)
    other, other_store = make_app(Path(site.state.settings.data_dir), public_url=PUBLIC)
    owner = signed_in(site, "dana@example.org")
    thief = replay(other, owner)
    assert thief.get("/account").status_code == 200
    form(owner, "/account", "/signout")
    assert thief.get("/account", follow_redirects=False).status_code == 303
    other_store.close()


def test_sign_out_everywhere_ends_every_session(site):
    store = site.state.store
    member(store, "evan")
    laptop, phone = signed_in(site, "evan@example.org"), signed_in(site, "evan@example.org")
    page = laptop.get("/account")
    assert "in 2 browsers or devices" in page.text and 'action="/account/signout-everywhere"' in page.text
    assert laptop.post("/account/signout-everywhere", data={}).status_code == 403  # CSRF
    done = form(laptop, "/account", "/account/signout-everywhere")
    assert done.status_code == 303 and done.headers["location"] == "/signin?done=everywhere"
    assert "signed out on every device" in laptop.get("/signin?done=everywhere").text
    for client in (laptop, phone):
        assert client.get("/account", follow_redirects=False).status_code == 303


@pytest.fixture
def clock(site):
    """Moves the site's clock (app.state.clock) for one test."""
    now = {"t": NOW}
    site.state.clock = lambda: now["t"]
    yield now
    del site.state.clock


def test_a_session_lasts_14_days_from_its_last_use_and_30_at_most(site, clock):
    store = site.state.store
    member(store, "fay")
    days = dt.timedelta(days=1)
    steady = signed_in(site, "fay@example.org")
    idle = signed_in(site, "fay@example.org")
    for day in (13, 26):  # used every 13 days: it slides
        clock["t"] = NOW + day * days
        assert steady.get("/account").status_code == 200
    assert idle.get("/account", follow_redirects=False).status_code == 303  # 26 days unused
    clock["t"] = NOW + 30 * days + dt.timedelta(seconds=1)
    assert steady.get("/account", follow_redirects=False).status_code == 303  # 30 days since signing in
    assert sessions.MAX_AGE == 14 * 24 * 3600  # the cookie itself expires with the idle limit


# -- item 4: mail links never come from the request's Host -------------------------------------------


def _link(message, path: str) -> str:
    body = message.get_body(("plain",)).get_content()
    found = re.search(r"(\S+)" + re.escape(path) + r"\?token=(\S+)", body)
    assert found, body
    return found.group(0)


def test_a_forged_host_gets_400_and_mail_links_use_the_public_url(site, smtp):
    member(site.state.store, "gus")
    c = browser(site)
    token = csrf_of(c.get("/password/forgot").text)
    before = len(smtp.inbox.messages)
    forged = c.post("/password/forgot", data={"email": "gus@example.org", "csrf_token": token},
                    headers={"host": "evil.example"})
    assert forged.status_code == 400
    assert c.get("/about", headers={"host": "127.0.0.1:8000"}).status_code == 200  # a health check on the node
    honest = c.post("/password/forgot", data={"email": "gus@example.org", "csrf_token": token})
    assert honest.status_code == 200
    smtp.inbox.wait_for(before + 1)
    assert len(smtp.inbox.messages) == before + 1  # the forged request mailed nothing
    assert _link(smtp.inbox.to("gus@example.org")[-1], "/password/reset").startswith(f"{PUBLIC}/password/reset?")


def test_without_a_public_url_links_use_the_configured_address_not_the_host(site, smtp, tmp_path):
    dev, store = make_app(Path(site.state.settings.data_dir), smtp_host="127.0.0.1", smtp_port=smtp.port,
                          smtp_starttls=False, port=8123)
    dev.state.limits = Limits()
    member(store, "hal")
    c = browser(dev, "http://evil.example")
    before = len(smtp.inbox.messages)
    answer = form(c, "/password/forgot", "/password/forgot", email="hal@example.org")
    assert answer.status_code == 200
    smtp.inbox.wait_for(before + 1)
    (message,) = smtp.inbox.to("hal@example.org")
    assert "evil.example" not in message.as_string()
    assert _link(message, "/password/reset").startswith("http://127.0.0.1:8123/password/reset?token=")
    store.close()


def test_production_needs_a_public_url():
    strong = base64.urlsafe_b64encode(random.Random(4).randbytes(32)).decode()
    for url in ("", "papers.example.org", "ftp://papers.example.org", "https://"):
        settings = config.load(environ={}, env="production", secret_key=strong, public_url=url)
        with pytest.raises(ConfigError, match="DAILYPAPERS_PUBLIC_URL"):
            settings.check_production()
    config.load(environ={}, env="production", secret_key=strong, public_url=PUBLIC).check_production()


def test_extra_trusted_hosts(site):
    app, store = make_app(Path(site.state.settings.data_dir), public_url=PUBLIC, trusted_hosts=("health.internal",))
    c = browser(app)
    assert c.get("/about", headers={"host": "health.internal"}).status_code == 200
    assert c.get("/about", headers={"host": "papers.example.org.evil.example"}).status_code == 400
    store.close()


# -- item 5: no answer tells whether an address has an account ------------------------------------



@pytest.fixture(scope="module")
def smtp_down(site):
    """The same site and database with the SMTP server down (a real connection refused)."""
    app, store = make_app(Path(site.state.settings.data_dir), smtp_host="127.0.0.1", smtp_port=closed_port(),
                          smtp_starttls=False, public_url=PUBLIC)
    yield app
    store.close()


def _answer(response: httpx.Response, email: str) -> tuple[int, str]:
    """The status and the visible text of an answer, with the address typed in blanked out."""
    main = re.search(r"<main.*?</main>", response.text, re.S)
    text = re.sub(r"<[^>]+>", " ", main.group(0) if main else response.text)
    return response.status_code, " ".join(text.replace(email, "ADDRESS").split())


def test_reset_and_sign_up_answer_alike_for_members_and_strangers_even_with_smtp_down(smtp_down):
    smtp_down.state.limits = Limits()
    store = smtp_down.state.store
    member(store, "ida")
    c = browser(smtp_down)
    queued = store.outbox.counts().get("queued", 0)
    answers = {}
    for who, address in (("member", "ida@example.org"), ("stranger", "nobody-here@example.org")):
        reset = form(c, "/password/forgot", "/password/forgot", email=address)
        signup = form(c, "/signup", "/signup", email=address, password=PASSWORD)
        answers[who] = (_answer(reset, address), _answer(signup, address))
        for response in (reset, signup):
            assert response.status_code == 200
            for leak in ("127.0.0.1", str(smtp_down.state.settings.smtp_port), "SMTP", "could not send",
                         "already exists", "Connection refused"):
                assert leak not in response.text, (who, leak)
    assert answers["member"] == answers["stranger"]
    # the member's two messages (the reset, the notice) and the stranger's sign-up link wait in the outbox
    assert store.outbox.counts().get("queued", 0) == queued + 3
    assert store.accounts.by_email("nobody-here@example.org") is None  # nothing made before the link is opened


@contextlib.contextmanager
def serve(app):
    """The app under a real uvicorn server on 127.0.0.1 (a background thread)."""
    port = closed_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off",
                                           timeout_keep_alive=600))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive(), "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


def test_reset_mail_goes_out_after_the_answer(site, smtp):
    """No SMTP inside the request: the answer arrives while the SMTP server holds the message."""
    # the same site over plain http (its cookie is then not Secure, as the test client needs)
    app, store = make_app(Path(site.state.settings.data_dir), smtp_host="127.0.0.1", smtp_port=smtp.port,
                          smtp_starttls=False, public_url="http://papers.test")
    member(store, "jon")
    before = len(smtp.inbox.messages)
    smtp.inbox.hold()
    try:
        with serve(app) as base, httpx.Client(base_url=base, timeout=60) as http:
            token = csrf_of(http.get("/password/forgot").text)
            answer = http.post("/password/forgot", data={"email": "jon@example.org", "csrf_token": token})
            assert answer.status_code == 200  # answered...
            smtp.inbox.wait_held(1)  # ...while its message is still stopped at RCPT TO
            assert len(smtp.inbox.messages) == before
            smtp.inbox.release()
            smtp.inbox.wait_for(before + 1)
    finally:
        smtp.inbox.release()
        store.close()
    assert smtp.inbox.messages[-1]["To"] == "jon@example.org"


def test_sign_up_is_finished_by_the_mailed_link_and_an_existing_address_gets_a_notice(site, smtp):
    store = site.state.store
    member(store, "kim")
    c = browser(site)
    before = len(smtp.inbox.messages)
    taken = form(c, "/signup", "/signup", email="kim@example.org", username="kim-again", password=PASSWORD)
    new = form(c, "/signup", "/signup", email="lee@example.org", username="lee", password=PASSWORD)
    assert _answer(taken, "kim@example.org") == _answer(new, "lee@example.org")
    smtp.inbox.wait_for(before + 2)
    (notice,) = smtp.inbox.to("kim@example.org")
    assert notice["Subject"] == "Someone tried to sign up with your address"
    assert f"{PUBLIC}/password/forgot" in notice.get_body(("plain",)).get_content()
    assert store.accounts.by_username("kim-again") is None
    link = _link(smtp.inbox.to("lee@example.org")[-1], "/signup/confirm")
    assert link.startswith(f"{PUBLIC}/signup/confirm?token=") and store.accounts.by_email("lee@example.org") is None
    page = c.get(link)  # opening the link (a mail scanner may) creates nothing
    assert page.status_code == 200 and store.accounts.by_email("lee@example.org") is None
    token = re.search(r'name="token" value="([^"]+)"', page.text).group(1)
    done = c.post("/signup/confirm", data={"token": token, "csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert done.status_code == 303 and store.accounts.by_email("lee@example.org").username == "lee"
    assert c.get("/account").status_code == 200  # signed in
    again = browser(site)
    used = again.post("/signup/confirm", data={"token": token, "csrf_token": csrf_of(again.get("/signup").text)})
    assert used.status_code == 400  # the link works once


# -- item 11: API tokens and a new password ----------------------------------------------------------


def _whoami(app, token: str) -> int:
    return browser(app).get("/api/whoami", headers={"authorization": f"Bearer {token}"}).status_code


def _reset_by_mail(site, smtp, address: str, password: str) -> httpx.Response:
    c = browser(site)
    before = len(smtp.inbox.messages)
    form(c, "/password/forgot", "/password/forgot", email=address)
    smtp.inbox.wait_for(before + 1)
    link = _link(smtp.inbox.to(address)[-1], "/password/reset")
    page = c.get(link)
    token = re.search(r'name="token" value="([^"]+)"', page.text).group(1)
    done = c.post("/password/reset", data={"token": token, "password": password, "csrf_token": csrf_of(page.text)},
                  follow_redirects=False)
    assert done.status_code == 303, done.text[:300]
    return c.get(done.headers["location"])


def test_a_password_reset_revokes_every_api_token(site, smtp):
    store = site.state.store
    mae = member(store, "mae")
    tokens = [accounts.create_token(store, mae, name) for name in ("laptop script", "ci")]
    assert [_whoami(site, t) for t in tokens] == [200, 200]
    page = _reset_by_mail(site, smtp, "mae@example.org", "mae's brand new password")
    assert "API tokens were revoked" in page.text
    assert [_whoami(site, t) for t in tokens] == [401, 401]
    assert store.accounts.tokens(mae.id) == []


def test_changing_the_password_says_whether_api_tokens_were_kept(site):
    store = site.state.store
    ned = member(store, "ned")
    token = accounts.create_token(store, ned, "script")
    c = signed_in(site, "ned@example.org")
    assert "Also revoke my 1 API token" in c.get("/account").text
    kept = form(c, "/account", "/account/password", current=PASSWORD, password="ned's second password")
    assert kept.headers["location"] == "/account?done=password-kept"
    assert "Your API tokens were kept and still work" in c.get(kept.headers["location"]).text
    assert _whoami(site, token) == 200
    revoked = form(c, "/account", "/account/password", current="ned's second password",
                   password="ned's third password", revoke_tokens="1")
    assert revoked.headers["location"] == "/account?done=password-revoked"
    assert "your API tokens were revoked" in c.get(revoked.headers["location"]).text
    assert _whoami(site, token) == 401


# -- item 12: a targeted lockout keeps the limit but lets the owner in ------------------------------


def test_a_member_locked_out_by_wrong_passwords_gets_in_with_an_emailed_link(site, smtp):
    store = site.state.store
    member(store, "owen")
    attacker = browser(site)
    codes = [form(attacker, "/signin", "/signin", email="owen@example.org", password="guess").status_code
             for _ in range(10)]
    locked = form(browser(site), "/signin", "/signin", email="owen@example.org", password=PASSWORD)
    assert codes == [401] * 10 and locked.status_code == 429  # the limit holds, even for the right password
    assert int(locked.headers["retry-after"]) > 0 and 'href="/signin/link"' in locked.text
    owner = browser(site)
    before = len(smtp.inbox.messages)
    asked = form(owner, "/signin/link", "/signin/link", email="owen@example.org")
    stranger = form(browser(site), "/signin/link", "/signin/link", email="nobody-owen@example.org")
    assert _answer(asked, "owen@example.org") == _answer(stranger, "nobody-owen@example.org")
    smtp.inbox.wait_for(before + 1)
    link = _link(smtp.inbox.to("owen@example.org")[-1], "/signin/link")
    assert link.startswith(f"{PUBLIC}/signin/link?token=")
    page = owner.get(link)  # opening it signs nobody in
    assert page.status_code == 200 and owner.get("/account", follow_redirects=False).status_code == 303
    token = re.search(r'name="token" value="([^"]+)"', page.text).group(1)
    used = owner.post("/signin/link/use", data={"token": token, "csrf_token": csrf_of(page.text)},
                      follow_redirects=False)
    assert used.status_code == 303 and owner.get("/account").status_code == 200  # in, past the limit
    again = browser(site)
    assert again.post("/signin/link/use", data={"token": token, "csrf_token": csrf_of(again.get("/signin").text)}
                      ).status_code == 400  # once only
    # and the password works again for the owner
    assert form(browser(site), "/signin", "/signin", email="owen@example.org", password=PASSWORD).status_code == 303


def test_sign_in_links_expire(site, smtp, clock):
    store = site.state.store
    pia = member(store, "pia")
    _user, token = session_rules.start_link(store, "pia@example.org", NOW)
    clock["t"] = NOW + session_rules.LINK_TTL + dt.timedelta(seconds=1)
    c = browser(site)
    assert c.get(f"/signin/link?token={token}").status_code == 400
    assert c.post("/signin/link/use", data={"token": token, "csrf_token": csrf_of(c.get("/signin").text)}
                  ).status_code == 400
    assert store.sessions.count(pia.id, NOW - dt.timedelta(days=1), NOW - dt.timedelta(days=1)) == 0
