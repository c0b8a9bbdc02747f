"""`dailypapers user …` (cli/users.py, user_app), run as a real process against a real data directory.

Until cli/commands.py registers it (`app.add_typer(user_app, name="user")`) the group is started directly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from support.databases import data_dir_env, data_dir_url

from dailypapers.community import accounts
from dailypapers.store import Store

LAUNCH = "import sys; from dailypapers.cli.users import user_app; user_app(prog_name='dailypapers user')"


def user(data_dir: Path, *args: str, password: str | None = "an admin password", stdin: str | None = None):
    env = dict(os.environ, **data_dir_env(data_dir), COLUMNS="200")
    env.pop("DAILYPAPERS_ADMIN_PASSWORD", None)
    if password is not None:
        env["DAILYPAPERS_ADMIN_PASSWORD"] = password
    return subprocess.run([sys.executable, "-c", LAUNCH, *args], env=env, capture_output=True, text=True,
                          input=stdin, timeout=120)


def store(data_dir: Path) -> Store:
    return Store.open(data_dir_url(data_dir))


@pytest.mark.slow
def test_create_admin_and_moderator_then_list_and_change_roles(fresh_data_dir):
    made = user(fresh_data_dir, "create", "Boss@Example.org", "--name", "Boss", "--admin")
    assert made.returncode == 0, made.stderr + made.stdout
    assert "created admin boss <boss@example.org>" in made.stdout + made.stderr
    assert user(fresh_data_dir, "create", "mod@example.org", "--moderator", "--username", "mod").returncode == 0
    s = store(fresh_data_dir)
    assert accounts.authenticate(s, "boss@example.org", "an admin password").role == "admin"
    assert s.accounts.by_email("mod@example.org").role == "moderator"
    s.close()
    listed = user(fresh_data_dir, "list")
    assert "boss@example.org" in listed.stdout and "moderator" in listed.stdout
    assert user(fresh_data_dir, "role", "mod@example.org", "member").returncode == 0
    s = store(fresh_data_dir)
    assert s.accounts.by_email("mod@example.org").role == "member"
    s.close()
    token = user(fresh_data_dir, "token", "boss@example.org", "--name", "deploy").stdout.strip()
    s = store(fresh_data_dir)
    assert accounts.user_for_token(s, token).username == "boss"
    s.close()


@pytest.mark.slow
def test_password_is_prompted_when_not_in_the_environment(fresh_data_dir):
    made = user(fresh_data_dir, "create", "ada@example.org", password=None,
                stdin="prompted password\nprompted password\n")
    assert made.returncode == 0, made.stderr + made.stdout
    s = store(fresh_data_dir)
    assert accounts.authenticate(s, "ada@example.org", "prompted password").role == "member"
    s.close()


@pytest.mark.slow
def test_errors_are_messages_not_tracebacks(fresh_data_dir):
    short = user(fresh_data_dir, "create", "ada@example.org", password="short")
    assert short.returncode == 1 and "at least 10 characters" in short.stdout + short.stderr
    assert "Traceback" not in short.stderr
    user(fresh_data_dir, "create", "ada@example.org")
    again = user(fresh_data_dir, "create", "ada@example.org")
    assert again.returncode == 1 and "already exists" in again.stdout + again.stderr
    assert user(fresh_data_dir, "role", "ada@example.org", "king").returncode == 1
    assert user(fresh_data_dir, "role", "nobody@example.org", "admin").returncode == 1
