"""Sending one email over SMTP (standard library only). The delivery issue adds an outbox on top.

Without DAILYPAPERS_SMTP_HOST the message is written to the log instead (development only: in
production that is a configuration error, since reset links would end up in logs).
"""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage
from email.utils import make_msgid

from .config import Settings
from .errors import ConfigError, MailError

log = logging.getLogger("dailypapers.mail")
TIMEOUT = 30


def build_message(settings: Settings, to: str, subject: str, text: str, html: str | None = None) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain=settings.mail_from.rsplit("@", 1)[-1].strip(" >") or None)
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message


def send_message(settings: Settings, to: str, subject: str, text: str, html: str | None = None) -> None:
    """Send a plain-text (and optionally HTML) message; MailError if the server refuses it."""
    message = build_message(settings, to, subject, text, html)
    if not settings.smtp_host:
        if settings.env == "production":
            raise ConfigError("DAILYPAPERS_SMTP_HOST is not set: cannot send mail")
        log.warning("mail is not configured (DAILYPAPERS_SMTP_HOST); message to %s:\n%s", to, text)
        return
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=TIMEOUT) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password)
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(f"could not send mail to {to}: {exc.__class__.__name__}: {exc}") from exc
