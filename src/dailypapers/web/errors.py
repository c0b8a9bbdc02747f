"""The one place errors become responses: an HTML page for pages, `{"error", "status"}` JSON for /api.

Library errors map the same way on both sides:

    NotFound                               404
    InvalidArxivId, InvalidDate,
    InvalidQuery, InvalidInput,
    InvalidToken                           400
    AuthenticationFailed                   401
    SignInRequired                         pages: 303 to /signin?next=…; API: 401
    PermissionDenied (incl. a bad CSRF)    403
    Conflict                               409
    RateLimited                            429 with Retry-After
    FetchError, MailError                  502
    IndexUnavailable, StorageError         503 with Retry-After (a search index being rebuilt, a
                                           database that refuses writes), logged as a warning
    a malformed parameter (FastAPI)        /api: 400 for the query or path, 422 for a JSON
                                           body; pages: 422
    an unknown route                       404
    anything else                          500, logged as one line (no stack trace), never shown
                                           to the client (ContainErrors catches what no handler took)
    a body, URL or query over its limit    413, 414, 400 (web/limits.py)
"""

from __future__ import annotations

import logging
import secrets

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dailypapers.search.query import MAX_QUERY_LENGTH
from dailypapers.web.render.templating import render

from ..errors import (
    AuthenticationFailed,
    Conflict,
    FetchError,
    IndexUnavailable,
    InvalidArxivId,
    InvalidDate,
    InvalidInput,
    InvalidQuery,
    InvalidToken,
    MailError,
    NotFound,
    PermissionDenied,
    RateLimited,
    SignInRequired,
    StorageError,
)
from ..redact import describe, redact
from . import security

log = logging.getLogger("dailypapers.web")
RETRY_AFTER_S = 30  # a missing keyword index is rebuilt by the follower within a few intervals

STATUS = {NotFound: 404, InvalidArxivId: 400, InvalidDate: 400, InvalidQuery: 400, InvalidInput: 400,
          InvalidToken: 400, AuthenticationFailed: 401, PermissionDenied: 403, Conflict: 409, FetchError: 502,
          MailError: 502}
TITLES = {400: "Bad request", 401: "Not signed in", 403: "Not allowed", 404: "Page not found",
          405: "Method not allowed", 409: "Already done", 422: "Invalid parameter", 429: "Slow down",
          500: "Something went wrong", 502: "Another server failed", 503: "Try again shortly"}
HINTS = {
    NotFound: ["Check the address, or search for the paper by its title."],
    InvalidArxivId: ["arXiv identifiers look like 2405.15738, 2405.15738v2 or hep-th/9901001."],
    InvalidDate: ["Days are written 2025-03-14, ISO weeks 2025-W11 and months 2025-03."],
    InvalidQuery: [f"Queries are at most {MAX_QUERY_LENGTH:,} characters.",
                   'Use quotes for phrases, author:name, cat:cs.CL, from:2025-01-01 and to:2025-02-01.'],
}


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path == "/api"


def error_response(request: Request, status: int, message: str, hints: list[str] | None = None) -> Response:
    if wants_json(request):
        return JSONResponse({"error": message, "status": status}, status_code=status)
    title = TITLES.get(status, "Error")
    return render(request, "error.html", status=status, status_code=status, title=title, message=message,
                  hints=hints or [])


async def _library_error(request: Request, exc: Exception) -> Response:
    kind = next(k for k in STATUS if isinstance(exc, k))
    return error_response(request, STATUS[kind], str(exc), HINTS.get(kind))


async def _sign_in_required(request: Request, exc: SignInRequired) -> Response:
    if wants_json(request) or "application/json" in request.headers.get("accept", ""):
        response = error_response(request, 401, str(exc))
        if wants_json(request):
            response.headers["WWW-Authenticate"] = 'Bearer realm="dailypapers"'
        return response
    from .sessions import safe_next, signin_url

    if request.method == "GET":
        back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    else:  # after signing in, go back to the page the form was on
        referer = request.headers.get("referer", "")
        base = str(request.base_url)
        back = safe_next("/" + referer[len(base):]) if referer.startswith(base) else "/"
    return RedirectResponse(signin_url(back), status_code=303)


async def _rate_limited(request: Request, exc: RateLimited) -> Response:
    response = error_response(request, 429, str(exc))
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


async def _unavailable(request: Request, exc: Exception) -> Response:
    log.warning("503 on %s %s: %s", request.method, redact(request.url.path[:200]), describe(exc))
    response = error_response(request, 503, str(exc))
    response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response


async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
    message = exc.detail if isinstance(exc.detail, str) else TITLES.get(exc.status_code, "Error")
    if exc.status_code == 404 and message == "Not Found":
        message = f"There is nothing at {request.url.path[:200]}."
    response = error_response(request, exc.status_code, message)
    for key, value in (exc.headers or {}).items():
        response.headers[key] = value
    return response


async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err.get("loc", ())[1:]) or "request"
        parts.append(f"{where}: {err.get('msg', 'invalid value')}")
    # /api answers a bad query or path parameter with 400, as Hugging Face's API does; a JSON body
    # that does not fit its model stays 422
    in_body = all(err.get("loc", ("body",))[0] == "body" for err in exc.errors())
    status = 400 if wants_json(request) and not in_body else 422
    return error_response(request, status, "; ".join(parts) or "invalid parameters")


async def _server_error(request: Request, exc: Exception) -> Response:
    # one line, no stack trace: the exception's type, its (redacted) message and where it was raised
    reference = secrets.token_hex(4)
    log.error("unhandled error %s on %s %s: %s", reference, request.method, redact(request.url.path[:200]),
              describe(exc))
    try:
        response = error_response(request, 500, "The server hit an unexpected error. It has been logged "
                                                f"(reference {reference}); please try again later.")
    except Exception as failure:  # the error page itself failed: answer in the plainest way
        log.error("rendering the error page for %s failed: %s", reference, describe(failure))
        response = Response("500 Internal Server Error", status_code=500, media_type="text/plain")
    security.apply(response.headers, request.url.path)  # this one bypasses the middleware
    return response


class ContainErrors:
    """An ASGI middleware that turns an exception no handler took into the 500 page above.

    Starlette's own last-resort handler re-raises after answering, and the server then prints a
    stack trace; here the exception ends with one logged line. After the response has started
    nothing more can be sent, so the error is only logged."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            request = Request(scope)
            if started:
                log.error("error after the response to %s %s had started: %s", request.method,
                          redact(request.url.path[:200]), describe(exc))
                return
            response = await _server_error(request, exc)
            await response(scope, receive, send)


def install(app: FastAPI) -> None:
    # Starlette types a handler as taking any Exception; it only ever passes the class the handler
    # was registered for, so the handlers below name that class.
    app.add_exception_handler(SignInRequired, _sign_in_required)  # type: ignore[arg-type]
    app.add_exception_handler(RateLimited, _rate_limited)  # type: ignore[arg-type]
    for kind in STATUS:
        app.add_exception_handler(kind, _library_error)
    for unavailable in (IndexUnavailable, StorageError):
        app.add_exception_handler(unavailable, _unavailable)
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _server_error)
