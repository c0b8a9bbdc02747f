"""No stack trace, secret or email address in any error page or log line.

Errors are provoked on purpose: a route that raises with the secrets in its message, a database
error that quotes a member's address as a parameter, made-up API tokens, a form without its CSRF
token, a bad reset link, and a password reset while the SMTP server is down (a real closed port on
loopback). Every response body and every captured log record is scanned, and so is the stderr of
a real uvicorn server (started as `dailypapers serve` starts it: a factory, after uvicorn set up its
logging)."""

from __future__ import annotations

import logging
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy.exc
from fastapi.testclient import TestClient
from support.community import copy_data_dir, csrf_of, make_app, member
from support.databases import data_dir_env
from support.failing import add_failing_routes
from support.ports import closed_port

from dailypapers import redact

SECRET = "leak-test-secret-" + secrets.token_hex(12)
SMTP_PASSWORD = "smtp-pw-" + secrets.token_hex(12)
EMAIL = "ada_leaky@example.org"
BOOM = f"failed for {EMAIL} with key {SECRET} and smtp {SMTP_PASSWORD}"
TESTS = Path(__file__).resolve().parent



def assert_clean(text: str, what: str) -> None:
    for needle in (SECRET, SMTP_PASSWORD, EMAIL, "Traceback", 'File "'):
        assert needle not in text, f"{what} contains {needle!r}: …{text[max(0, text.find(needle) - 200):][:400]}"


@pytest.fixture(scope="module")
def leaky(tmp_path_factory, web_data_dir):
    data = copy_data_dir(web_data_dir, tmp_path_factory.mktemp("leaks") / "data")
    overrides = dict(secret_key=SECRET, smtp_host="127.0.0.1", smtp_port=closed_port(), smtp_user="mailer",
                     smtp_password=SMTP_PASSWORD, smtp_starttls=False)
    app, store = make_app(data, **overrides)
    add_failing_routes(app, BOOM)
    member(store, "ada_leaky")  # the member whose address must never show
    assert store.accounts.by_email(EMAIL) is not None
    yield app, store, data, overrides
    store.close()


def provoke(app, store, monkeypatch) -> list[tuple[str, httpx.Response]]:
    client = TestClient(app, raise_server_exceptions=False)
    seen = []

    def keep(what, response, status):
        assert response.status_code == status, (what, response.status_code, response.text[:300])
        seen.append((what, response))

    keep("page 500", client.get("/test-boom"), 500)
    keep("api 500", client.get("/api/test-boom"), 500)
    token = "dp_" + secrets.token_urlsafe(32)
    keep("bad token", client.get("/api/whoami", headers={"Authorization": f"Bearer {token}"}), 401)
    assert token not in seen[-1][1].text
    keep("bad csrf", client.post("/account/profile", data={"display_name": EMAIL, "csrf_token": "forged"}), 403)
    keep("bad reset link", client.get("/password/reset", params={"token": "not-a-token"}), 400)
    # the SMTP server is down: the reset mail cannot go (a real connection refused on loopback); the
    # answer is the one any address gets, and the message waits in the outbox
    csrf = csrf_of(client.get("/password/forgot").text)
    keep("smtp down", client.post("/password/forgot", data={"email": EMAIL, "csrf_token": csrf}), 200)

    # subscribing while the SMTP server is down: the page confirms to the visitor what they typed
    # (their own address, so it is not scanned), the failed send is logged, masked (scanned below)
    csrf = csrf_of(client.get("/subscribe").text)
    sent = client.post("/subscribe", data={"email": EMAIL, "csrf_token": csrf, "frequency": "daily"})
    assert sent.status_code == 200, sent.text[:300]

    def failing_query(*_args, **_kwargs):
        raise sqlalchemy.exc.OperationalError("SELECT id FROM users WHERE email = ? AND secret = ?",
                                              (EMAIL, SECRET), Exception("disk I/O error"))

    monkeypatch.setattr(store, "get_paper", failing_query)
    keep("db error page", client.get("/papers/2501.00001"), 500)
    keep("db error api", client.get("/api/papers/2501.00001"), 500)
    return seen


def test_error_pages_and_log_records_carry_no_secret_email_or_trace(leaky, caplog, monkeypatch):
    app, store, _data, _ = leaky
    with caplog.at_level(logging.DEBUG):
        seen = provoke(app, store, monkeypatch)
    for what, response in seen:
        assert_clean(response.text, what)
        assert_clean(str(response.headers), what + " headers")
    page = dict(seen)["page 500"]
    assert "unexpected error" in page.text and "reference" in page.text
    assert dict(seen)["api 500"].json()["status"] == 500
    assert "could not send" not in dict(seen)["smtp down"].text  # no SMTP error, host or port is ever shown
    assert "127.0.0.1" not in dict(seen)["smtp down"].text
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) >= 4  # the failures were logged: one line each
    for record in caplog.records:
        assert record.exc_info is None and not record.exc_text, record.getMessage()[:200]
        assert_clean(record.getMessage(), f"log record {record.name}")
    assert_clean(caplog.text, "captured log")
    assert any("RuntimeError" in r.getMessage() and "test-boom" in r.getMessage() for r in errors)
    assert any("OperationalError" in r.getMessage() and "[redacted]@example.org" in r.getMessage() for r in errors)
    assert any("[redacted]@example.org" in r.getMessage() and "retrying" in r.getMessage()
               for r in caplog.records)  # the subscription's confirmation mail failed, and said so masked


def test_the_log_filter_turns_any_record_into_one_clean_line():
    redact.add_secrets([SECRET])
    try:
        raise ValueError(f"bad value from {EMAIL}: {SECRET}")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed for %s", (EMAIL,), sys.exc_info())
    assert redact.LogFilter().filter(record)
    line = logging.Formatter().format(record)
    assert "\n" not in line and "ValueError" in line and "test_no_leaks.py" in line
    assert_clean(line, "filtered record")


FACTORY = '''
import os
from dailypapers.web import create_app
from support.failing import add_failing_routes


def make():
    app = create_app()
    add_failing_routes(app, os.environ["LEAK_MESSAGE"])
    return app
'''


def test_a_real_servers_output_carries_no_secret_email_or_trace(leaky, tmp_path):
    _app, _store, data, overrides = leaky
    (tmp_path / "leakyapp.py").write_text(FACTORY)
    port = closed_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DAILYPAPERS_")}
    env.update(data_dir_env(data))
    env.update({f"DAILYPAPERS_{k.upper()}": str(v) for k, v in overrides.items()})
    env.update({"LEAK_MESSAGE": BOOM, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(TESTS)]),
                "DAILYPAPERS_INDEX_FOLLOW_INTERVAL": "0"})
    out = tmp_path / "server.log"
    with out.open("wb") as log_file:
        server = subprocess.Popen([sys.executable, "-m", "uvicorn", "--factory", "leakyapp:make", "--host",
                                   "127.0.0.1", "--port", str(port), "--log-level", "debug"],
                                  cwd=tmp_path, env=env, stdout=log_file, stderr=subprocess.STDOUT)
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 90
            with httpx.Client(base_url=base, timeout=30) as http:
                while True:
                    try:
                        if http.get("/about").status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    assert server.poll() is None, out.read_text()[-2000:]
                    assert time.monotonic() < deadline, "the server did not start"
                    time.sleep(0.2)
                responses = [http.get("/test-boom"), http.get("/api/test-boom"),
                             http.get("/api/whoami", headers={"Authorization": "Bearer dp_" + "x" * 40})]
                csrf = csrf_of(http.get("/password/forgot").text)
                responses.append(http.post("/password/forgot", data={"email": EMAIL, "csrf_token": csrf}))
            assert [r.status_code for r in responses] == [500, 500, 401, 200]
            for response in responses:
                assert_clean(response.text, f"server response {response.request.url.path}")
        finally:
            server.terminate()
            server.wait(timeout=30)
    text = out.read_text()
    assert "unhandled error" in text and "RuntimeError" in text  # the failures did reach the log
    assert_clean(text, "server output")
