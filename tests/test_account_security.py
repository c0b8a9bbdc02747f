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
import random
from pathlib import Path

import pytest

from dailypapers import config
from dailypapers.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
PUBLIC = "https://papers.example.org"


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
