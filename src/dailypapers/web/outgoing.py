"""Mail a form asked for (a reset link, a sign-in link, a confirmation) is queued in the outbox
inside the request and sent after the answer has gone out, never inside the request: an answer's
status, text and time then say nothing about whether a message was sent, to whom, or whether the
SMTP server is up. A message that cannot go now stays queued for the worker (delivery/sender.py
retries it); the failure is logged, masked, never shown."""

from __future__ import annotations

import logging
import os

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.background import BackgroundTask

from ..delivery import sender
from ..errors import DailyPapersError
from ..redact import redact
from ..store.sqlutil import utcnow

log = logging.getLogger("dailypapers.web")


def send_after(request: Request, response: Response, outbox_id: int | None) -> Response:
    """The response, set to send the queued message `outbox_id` (if any) once it is answered."""
    if outbox_id is not None:
        response.background = BackgroundTask(send, request.app, outbox_id)
    return response


def send(app: FastAPI, outbox_id: int) -> None:
    """Try to deliver one queued message now; the worker retries it if this fails."""
    clock = getattr(app.state, "clock", None) or utcnow
    try:
        sender.send_batch(app.state.store, app.state.settings, f"web:{os.getpid()}", now=clock, ids=[outbox_id],
                          limit=1)
    except DailyPapersError as exc:  # left queued: the worker will send it
        log.warning("could not send message %s now: %s", outbox_id, redact(str(exc)))
