"""mail.send_message against a real SMTP server (aiosmtpd) on loopback."""

from __future__ import annotations

import email
import socket
from email import policy

import pytest
from aiosmtpd.controller import Controller

from dailypapers import config
from dailypapers.delivery import mail
from dailypapers.errors import ConfigError, MailError


class Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, inbox
    controller.stop()


def settings_for(controller, **kw) -> config.Settings:
    return config.load(environ={}, smtp_host=controller.hostname, smtp_port=controller.port, smtp_starttls=False,
                       mail_from="dailypapers <papers@example.org>", **kw)


def test_sends_text_and_html(smtp_server):
    controller, inbox = smtp_server
    mail.send_message(settings_for(controller), "ada@example.org", "Hello ✓", "plain body\n", "<p>html body</p>")
    (message,) = inbox.messages
    assert inbox.envelopes[0].rcpt_tos == ["ada@example.org"]
    assert message["Subject"] == "Hello ✓" and message["From"] == "dailypapers <papers@example.org>"
    assert message["Message-ID"].endswith("@example.org>")
    assert message.get_body(("plain",)).get_content().strip() == "plain body"
    assert message.get_body(("html",)).get_content().strip() == "<p>html body</p>"


def test_unreachable_server_is_a_mail_error():
    settings = config.load(environ={}, smtp_host="127.0.0.1", smtp_port=free_port(), smtp_starttls=False)
    with pytest.raises(MailError):
        mail.send_message(settings, "ada@example.org", "x", "y")


def test_without_a_server_development_logs_and_production_refuses(caplog):
    mail.send_message(config.load(environ={}), "ada@example.org", "Subject", "the body")
    assert "the body" in caplog.text
    with pytest.raises(ConfigError):
        mail.send_message(config.load(environ={}, env="production", secret_key="s3cret"), "a@example.org", "x", "y")
