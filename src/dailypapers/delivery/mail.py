"""The one module that talks to the SMTP server (standard library only).

Every message the application sends — digests, confirmations, password resets, sign-in links —
goes through the outbox (delivery/sender.py), which sends stored, already rendered messages over
one `Connection` per batch with `Connection.send`; `send_message` (one message at once) is left
for scripts. Connection settings (host, port, STARTTLS or
implicit TLS, user, password, From) come from DAILYPAPERS_SMTP_* and DAILYPAPERS_MAIL_FROM.

Failures are typed: `TemporaryMailError` (no connection, a 4xx answer: try again later) and
`PermanentMailError` (a 5xx answer about this message or recipient: retrying will not help),
both MailErrors.

Without DAILYPAPERS_SMTP_HOST the message is written to the log instead (development only: in
production that is a configuration error, since reset links would end up in logs).
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from email import policy
from email.message import EmailMessage
from email.utils import make_msgid, parseaddr

from dailypapers.config import Settings
from dailypapers.errors import ConfigError, MailError, PermanentMailError, TemporaryMailError
from dailypapers.redact import redact

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
    if not configured(settings):
        # development only (production refuses): the text, with addresses masked, stands in for sending
        log.warning("mail is not configured (DAILYPAPERS_SMTP_HOST); message to %s:\n%s", redact(to), redact(text))
        return
    try:
        with Connection(settings) as connection:
            connection.send(envelope_sender(settings), to, message.as_bytes(policy=policy.SMTP))
    except MailError as exc:
        raise type(exc)(f"could not send mail to {redact(to)}: {exc}") from exc


def configured(settings: Settings) -> bool:
    """True when an SMTP server is set; False in development without one (mail is logged);
    ConfigError in production without one."""
    if settings.smtp_host:
        return True
    if settings.env == "production":
        raise ConfigError("DAILYPAPERS_SMTP_HOST is not set: cannot send mail")
    return False


def envelope_sender(settings: Settings) -> str:
    """The bare address of DAILYPAPERS_MAIL_FROM (the SMTP envelope sender)."""
    return parseaddr(settings.mail_from)[1] or settings.mail_from


def _classify(exc: BaseException) -> MailError:
    """A 5xx answer about the message or its recipient is permanent; everything else (network
    errors, 4xx answers, a refused login, a dropped connection) may pass: temporary."""
    text = f"{exc.__class__.__name__}: {exc}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        return PermanentMailError(text) if codes and all(500 <= c < 600 for c in codes) else TemporaryMailError(text)
    if isinstance(exc, (smtplib.SMTPSenderRefused, smtplib.SMTPDataError)) and 500 <= exc.smtp_code < 600:
        return PermanentMailError(text)
    return TemporaryMailError(text)


class Connection:
    """One SMTP session (STARTTLS or implicit TLS, login when a user is set) for many messages:

        with Connection(settings) as smtp:
            smtp.send(sender, "ada@example.org", message_bytes)
    """

    def __init__(self, settings: Settings, timeout: float = TIMEOUT) -> None:
        self.settings = settings
        self.timeout = timeout
        self.smtp: smtplib.SMTP | None = None

    def __enter__(self) -> "Connection":
        s = self.settings
        try:
            if s.smtp_ssl:
                self.smtp = smtplib.SMTP_SSL(s.smtp_host, s.smtp_port, timeout=self.timeout,
                                             context=ssl.create_default_context())
            else:
                self.smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=self.timeout)
                if s.smtp_starttls:
                    self.smtp.starttls(context=ssl.create_default_context())
            if s.smtp_user:
                self.smtp.login(s.smtp_user, s.smtp_password)
        except (OSError, smtplib.SMTPException) as exc:
            self.close()
            raise TemporaryMailError(f"cannot connect to {s.smtp_host}:{s.smtp_port}: "
                                     f"{exc.__class__.__name__}: {exc}") from exc
        return self

    def send(self, sender: str, to: str, data: bytes) -> None:
        """Hand one rendered message to the server; returns once the server accepted it."""
        if self.smtp is None:
            raise TemporaryMailError("the SMTP connection is closed")
        try:
            self.smtp.sendmail(sender, [to], data)
        except (OSError, smtplib.SMTPException) as exc:
            error = _classify(exc)
            if isinstance(error, TemporaryMailError):
                self.close()  # the session may be in any state: start a new one next time
            raise error from exc

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (OSError, smtplib.SMTPException):
                try:
                    self.smtp.close()
                except OSError:
                    pass
            self.smtp = None

    def __exit__(self, *exc_info) -> None:
        self.close()
