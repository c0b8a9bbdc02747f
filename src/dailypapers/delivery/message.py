"""Composing a message for the outbox: multipart text + HTML with the list headers (RFC 2369
List-Unsubscribe, RFC 8058 List-Unsubscribe-Post, RFC 3834 Auto-Submitted) and a Message-ID
that is stored with the row before the first attempt, so a resend after a crash is the very
same message (receivers that dedupe by Message-ID show it once)."""

from __future__ import annotations

import datetime as dt
import email
import secrets
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from dailypapers.config import Settings


def mail_domain(settings: Settings) -> str:
    address = parseaddr(settings.mail_from)[1]
    return address.rsplit("@", 1)[-1] if "@" in address else "localhost"


def new_message_id(settings: Settings, label: str) -> str:
    """A unique Message-ID naming what the message is (e.g. digest.12.2026-11-03), short enough
    to stay on one header line."""
    return f"<{label}.{secrets.token_hex(6)}@{mail_domain(settings)}>"


def compose(settings: Settings, *, to: str, subject: str, text: str, html: str | None, message_id: str,
            now: dt.datetime, unsubscribe_url: str | None = None, unsubscribe_mailto: str | None = None,
            list_id: str | None = None) -> EmailMessage:
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = settings.mail_from
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(now)
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"
    if list_id:
        message["List-Id"] = list_id
    if unsubscribe_url:
        targets = [f"<{unsubscribe_url}>"] + ([f"<{unsubscribe_mailto}>"] if unsubscribe_mailto else [])
        message["List-Unsubscribe"] = ", ".join(targets)
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message


def to_bytes(message: EmailMessage) -> bytes:
    """The wire form (CRLF line ends) that is stored and sent as is."""
    return message.as_bytes(policy=policy.SMTP)


def readdressed(data: bytes, to: str) -> bytes:
    """The stored message with a new To: (the subscriber changed address after it was queued)."""
    message = email.message_from_bytes(data, policy=policy.SMTP)
    del message["To"]
    message["To"] = to
    return message.as_bytes(policy=policy.SMTP)


def as_text(data: bytes) -> str:
    """A stored message as readable text: its main headers and the plain-text part (for logs)."""
    message = email.message_from_bytes(data, policy=policy.default)
    body = message.get_body(("plain",))
    text = body.get_content() if body is not None else ""
    return f"Subject: {message['Subject']}\nTo: {message['To']}\nMessage-ID: {message['Message-ID']}\n\n{text}"
