"""Subscribing to the digest in the browser: the form (members and addresses alone), the double
opt-in confirmation, the management page of each subscription, and unsubscribing.

Every state-changing request here is a POST with the session's CSRF token, except one: the
one-click unsubscribe `POST /unsubscribe/<token>` (RFC 8058). Mail providers send that POST
(body `List-Unsubscribe=One-Click`) without cookies, so it cannot carry a CSRF token or a
session; the signed token in the URL is its credential (it names one subscription, cannot be
forged, and can do nothing but unsubscribe). `GET /unsubscribe/<token>` only shows a page whose
form makes that POST, so link scanners that follow the URL unsubscribe nobody.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response

from dailypapers.community.ratelimit import RateLimiter
from dailypapers.delivery import schedule
from dailypapers.delivery import subscriptions as rules
from dailypapers.delivery.build import schedule_label
from dailypapers.delivery.links import mail_base, manage_url, unsubscribe_url
from dailypapers.errors import Conflict, InvalidInput
from dailypapers.store.subscriptions import Subscription
from dailypapers.web import deps, sessions
from dailypapers.web.outgoing import send_after
from dailypapers.web.render.templating import render

router = APIRouter(include_in_schema=False)
CSRF = [Depends(sessions.csrf_protect)]
Text = Annotated[str, Form(max_length=300)]
PREFERENCE_FIELDS = ("frequency", "hour", "weekday", "timezone", "include_trending", "include_alerts",
                     "include_recommendations")
FORM_FIELDS = (*PREFERENCE_FIELDS, "sections")


def _limits(request: Request) -> tuple[RateLimiter, RateLimiter]:
    limits = deps.limits(request)
    return limits.subscribe_client, limits.subscribe_address


def _base(request: Request) -> str:
    return mail_base(deps.settings(request))  # never the request's Host: these links go into mail


async def _preferences(request: Request) -> dict:
    form = await request.form()
    return {name: form.get(name) for name in FORM_FIELDS if form.get(name) is not None}


def _form_context(request: Request, sub: Subscription | None) -> dict:
    prefs = {name: getattr(sub, name) for name in PREFERENCE_FIELDS} if sub else dict(rules.DEFAULTS)
    return {"prefs": prefs, "timezones": schedule.timezones(), "weekdays": list(enumerate(schedule.WEEKDAYS)),
            "hours": list(range(24)), "subscription": sub, "schedule": schedule_label(sub) if sub else None}


def _subscribe_page(request: Request, status: int = 200, error: str | None = None, email: str = "",
                    prefs: dict | None = None) -> Response:
    user = sessions.viewer(request)
    sub = deps.store(request).subscriptions.for_user(user.id) if user else None
    context = _form_context(request, sub)
    for name, value in (prefs or {}).items():  # what was typed, shown again with the error
        if name in context["prefs"]:
            context["prefs"][name] = int(value) if name in ("hour", "weekday") and str(value).isdigit() else value
    return render(request, "subscribe.html", status=status, error=error, email=email,
                  done=request.query_params.get("done"), nav_section="subscribe", **context)


@router.get("/subscribe")
def subscribe_form(request: Request) -> Response:
    return _subscribe_page(request)


@router.post("/subscribe", dependencies=CSRF)
async def subscribe(request: Request) -> Response:
    form = await request.form()
    prefs = await _preferences(request)
    store, settings = deps.store(request), deps.settings(request)
    user = sessions.viewer(request)
    if user is not None:
        try:
            rules.subscribe_member(store, user, prefs, now=deps.now(request))
        except (InvalidInput, Conflict) as exc:
            return _subscribe_page(request, 400, str(exc), prefs=prefs)
        return RedirectResponse("/subscribe?done=saved", status_code=303)
    email = str(form.get("email") or "")[:254]
    by_client, by_address = _limits(request)
    by_client.hit(deps.client_address(request))
    by_address.hit(email.strip().lower())
    try:
        outbox_id = rules.subscribe_address(store, settings, email, prefs, base=_base(request), now=deps.now(request))
    except (InvalidInput, Conflict) as exc:
        return _subscribe_page(request, 400, str(exc), email=email, prefs=prefs)
    # the same answer whether the address was new, pending or already subscribed; mail goes after it
    page = render(request, "subscribe_sent.html", email=email.strip().lower(), hours=settings.confirm_link_hours,
                  nav_section="subscribe")
    return send_after(request, page, outbox_id)


@router.post("/subscribe/cancel", dependencies=CSRF)
def cancel(request: Request) -> Response:
    user = sessions.require_user(request)
    sub = deps.store(request).subscriptions.for_user(user.id)
    if sub is not None:
        rules.cancel(deps.store(request), sub, deps.now(request))
    return RedirectResponse("/subscribe?done=cancelled", status_code=303)


# -- confirmation ------------------------------------------------------------------------


@router.get("/subscribe/confirm")
def confirm_form(request: Request, token: str = "") -> Response:
    sub = rules.check_confirmation(deps.store(request), deps.settings(request), token)
    return render(request, "subscribe_confirm.html", token=token, subscription=sub, confirmed=False,
                  nav_section="subscribe")


@router.post("/subscribe/confirm", dependencies=CSRF)
def confirm(request: Request, token: Annotated[str, Form(max_length=1000)] = "") -> Response:
    store, settings = deps.store(request), deps.settings(request)
    sub = rules.confirm(store, settings, token, now=deps.now(request))
    return render(request, "subscribe_confirm.html", token="", subscription=sub, confirmed=True,
                  manage=manage_url(settings, _base(request), sub), schedule=schedule_label(sub),
                  nav_section="subscribe")


# -- managing a subscription by its link -------------------------------------------------


def _manage_page(request: Request, token: str, sub: Subscription, status: int = 200, error: str | None = None
                 ) -> Response:
    settings = deps.settings(request)
    return render(request, "subscription.html", status=status, error=error, token=token,
                  unsubscribe=unsubscribe_url(settings, _base(request), sub), done=request.query_params.get("done"),
                  nav_section="subscribe", **_form_context(request, sub))


@router.get("/subscription/{token}")
def manage(request: Request, token: str) -> Response:
    sub = rules.by_manage_token(deps.store(request), deps.settings(request), token)
    return _manage_page(request, token, sub)


@router.post("/subscription/{token}", dependencies=CSRF)
async def manage_save(request: Request, token: str) -> Response:
    store = deps.store(request)
    sub = rules.by_manage_token(store, deps.settings(request), token)
    try:
        rules.update_preferences(store, sub, await _preferences(request), now=deps.now(request))
    except InvalidInput as exc:
        return _manage_page(request, token, sub, 400, str(exc))
    return RedirectResponse(f"/subscription/{token}?done=saved", status_code=303)


@router.post("/subscription/{token}/address", dependencies=CSRF)
def manage_address(request: Request, token: str, email: Text = "") -> Response:
    store, settings = deps.store(request), deps.settings(request)
    sub = rules.by_manage_token(store, settings, token)
    _limits(request)[1].hit(email.strip().lower())
    try:
        outbox_id = rules.change_address(store, settings, sub, email, base=_base(request), now=deps.now(request))
    except (InvalidInput, Conflict) as exc:
        return _manage_page(request, token, sub, 400, str(exc))
    return send_after(request, RedirectResponse(f"/subscription/{token}?done=address", status_code=303), outbox_id)


# -- unsubscribing -----------------------------------------------------------------------


@router.get("/unsubscribe/{token}")
def unsubscribe_form(request: Request, token: str) -> Response:
    sub = rules.by_unsubscribe_token(deps.store(request), deps.settings(request), token)
    return render(request, "unsubscribe.html", token=token, subscription=sub, done=False, nav_section="subscribe")


@router.post("/unsubscribe/{token}")
async def unsubscribe(request: Request, token: str) -> Response:
    """RFC 8058 one-click unsubscribe: no session, no CSRF token; the signed token decides."""
    sub = rules.unsubscribe(deps.store(request), deps.settings(request), token, now=deps.now(request))
    form = await request.form()
    if form.get("List-Unsubscribe") == "One-Click":
        return PlainTextResponse("Unsubscribed. No more digests will be sent to this address.\n")
    return render(request, "unsubscribe.html", token=token, subscription=sub, done=True, nav_section="subscribe")
