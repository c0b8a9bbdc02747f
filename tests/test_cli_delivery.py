"""`dailypapers digest send --now | status | preview | retry` as real processes, mail going to a
real SMTP server on loopback (what the README's "Delivery" section shows)."""

from __future__ import annotations

import datetime as dt

import pytest
from support.community import copy_data_dir
from support.databases import data_dir_env, data_dir_url
from support.delivery import SMTPServer, member_with_subscription, run_cli

from dailypapers.store import Store

pytestmark = pytest.mark.slow


@pytest.fixture
def setup(web_data_dir, tmp_path):
    data = copy_data_dir(web_data_dir, tmp_path / "data")
    server = SMTPServer().start()
    store = Store.open(data_dir_url(data))
    member_with_subscription(store, "ada", dt.datetime.now(dt.timezone.utc))
    store.close()
    yield {**server.env(), **data_dir_env(data)}, server
    server.stop()


def test_send_now_status_preview_retry(setup, tmp_path):
    env, server = setup
    sent = run_cli(["digest", "send", "--now"], env)
    assert sent.returncode == 0, sent.stderr
    assert "planned 1 digest(s)" in sent.stderr and "1 sent" in sent.stderr
    (message,) = server.inbox.messages
    assert message["To"] == "ada@example.org" and message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    again = run_cli(["digest", "send", "--now"], env)
    assert "planned 0 digest(s)" in again.stderr and len(server.inbox.messages) == 1  # the next one went early

    status = run_cli(["digest", "status"], env)
    assert status.returncode == 0, status.stderr
    assert "subscriptions: 1 active" in status.stdout and "outbox: 0 queued, 1 sent, 0 failed" in status.stdout
    assert "ada@example.org" in status.stdout and "digest:" in status.stdout

    html = tmp_path / "preview.html"
    preview = run_cli(["digest", "preview", "--email", "ada@example.org", "--html", str(html)], env)
    assert preview.returncode == 0, preview.stderr
    assert preview.stdout.startswith("Subject: dailypapers ") and "trending on the list of Aug 21" in preview.stdout
    assert "Why: #1 trending" not in preview.stdout  # the papers of the digest already sent are left out
    assert "<!doctype html>" in html.read_text()
    assert len(server.inbox.messages) == 1  # a preview sends nothing

    assert "requeued 0 message(s)" in run_cli(["digest", "retry"], env).stderr
    missing = run_cli(["digest", "preview", "--email", "nobody@example.org"], env)
    assert missing.returncode == 1 and "no such subscription" in missing.stderr


def test_the_commands_are_registered_in_the_main_cli():
    from typer.testing import CliRunner

    from dailypapers.cli.commands import app

    names = {getattr(g, "name", None) for g in app.registered_groups} | {c.name or c.callback.__name__
                                                                         for c in app.registered_commands}
    if "digest" not in names:
        pytest.skip("cli/commands.py does not register `digest` / `worker` yet (see cli/delivery.py)")
    result = CliRunner().invoke(app, ["digest", "--help"])
    assert result.exit_code == 0 and "send" in result.output
    assert "worker" in names
