"""Accounts in the browser: sign up (confirmed by mail), sign in (with a password, or with a
one-time link by email), sign out, password reset by email, the account page (profile, password,
sessions, personal API tokens).

Forms that mail something (sign-up, reset) answer the same whatever the address, queue the
message in the outbox and send it after the answer (web/outgoing.py): no answer, status or
timing tells whether an address has an account or whether the SMTP server is up."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from dailypapers.community import accounts, signups
from dailypapers.community import sessions as lifetimes
from dailypapers.delivery import account_mail
from dailypapers.errors import AuthenticationFailed, Conflict, InvalidInput, InvalidToken, RateLimited
from dailypapers.web import deps, sessions
from dailypapers.web.outgoing import send_after
from dailypapers.web.render.templating import render

router = APIRouter(include_in_schema=False, dependencies=[Depends(sessions.csrf_protect)])

Text = Annotated[str, Form(max_length=2000)]
Secret = Annotated[str, Form(max_length=accounts.MAX_PASSWORD)]
SIGNED_OUT = {"everywhere": "You are signed out on every device and browser."}


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _form(request: Request, template: str, status: int = 200, error: str | None = None, **context) -> Response:
    return render(request, template, status=status, error=error, nav_section="account", **context)


# -- sign up, sign in, sign out --------------------------------------------------------


@router.get("/signup")
def signup_form(request: Request, next: str = "/") -> Response:
    return _form(request, "signup.html", next=sessions.safe_next(next), values={})


@router.post("/signup")
def signup(request: Request, email: Text = "", username: Text = "", display_name: Text = "", password: Secret = "",
           next: Text = "/") -> Response:
    values = {"email": email, "username": username, "display_name": display_name}
    limits, store = deps.limits(request), deps.store(request)
    limits.sign_up.hit(deps.client_address(request))  # RateLimited: 429
    limits.sign_up_address.hit(email.strip().lower())
    try:
        started = signups.start(store, email, password, username=username or None, display_name=display_name,
                                now=deps.now(request))
    except (InvalidInput, Conflict) as exc:
        status = 409 if isinstance(exc, Conflict) else 400
        return _form(request, "signup.html", status, str(exc), next=sessions.safe_next(next), values=values)
    # the same answer whether or not the address has an account; only the mail differs
    page = _form(request, "signup_sent.html", email=started.email, hours=signups.SIGNUP_HOURS)
    return send_after(request, page, _queue_signup_mail(request, started))


def _queue_signup_mail(request: Request, started: signups.Started) -> int | None:
    store, settings, now = deps.store(request), deps.settings(request), deps.now(request)
    if started.member is not None:
        return account_mail.queue_exists(store, settings, started.member, now)
    assert started.token is not None
    return account_mail.queue_signup(store, settings, started.email, started.username, started.token, now,
                                     hours=signups.SIGNUP_HOURS)


@router.get("/signup/confirm")
def signup_confirm_form(request: Request, token: str = "") -> Response:
    try:
        pending = signups.check(deps.store(request), token, deps.now(request))
    except InvalidToken as exc:
        return _form(request, "signup_confirm.html", 400, str(exc), token="", pending=None)
    return _form(request, "signup_confirm.html", token=token, pending=pending)


@router.post("/signup/confirm")
def signup_confirm(request: Request, token: Text = "") -> Response:
    try:
        user = signups.finish(deps.store(request), token, deps.now(request))
    except (InvalidToken, Conflict) as exc:
        return _form(request, "signup_confirm.html", 400, str(exc), token="", pending=None)
    sessions.sign_in(request, user)
    return _redirect("/account?done=welcome")


@router.get("/signin")
def signin_form(request: Request, next: str = "/") -> Response:
    notice = SIGNED_OUT.get(request.query_params.get("done", ""))
    return _form(request, "signin.html", next=sessions.safe_next(next), email="", notice=notice)


@router.post("/signin")
def signin(request: Request, email: Text = "", password: Secret = "", next: Text = "/") -> Response:
    limits = deps.limits(request)
    try:
        limits.sign_in_client.hit(deps.client_address(request))
        limits.sign_in_address.hit(email.strip().lower())
    except RateLimited as exc:  # the page says how to get in anyway: a sign-in link by email
        page = _form(request, "signin.html", 429, str(exc), next=sessions.safe_next(next), email=email, locked=True)
        page.headers["Retry-After"] = str(exc.retry_after)
        return page
    try:
        user = accounts.authenticate(deps.store(request), email, password)
    except AuthenticationFailed as exc:
        return _form(request, "signin.html", 401, str(exc), next=sessions.safe_next(next), email=email)
    limits.sign_in_address.reset(email.strip().lower())
    sessions.sign_in(request, user)
    return _redirect(sessions.safe_next(next))


# -- one-time sign-in links (past a sign-in limit an attacker filled) ---------------------------


@router.get("/signin/link")
def signin_link_page(request: Request, token: str = "") -> Response:
    """Without a token: the form asking for a link. With one (the mailed link): a button that
    uses it, so a mail scanner opening the link signs nobody in."""
    if not token:
        return _form(request, "signin_link.html", sent=False, token="")
    try:
        lifetimes.check_link(deps.store(request), token, deps.now(request))
    except InvalidToken as exc:
        return _form(request, "signin_link.html", 400, str(exc), sent=False, token="")
    return _form(request, "signin_link.html", sent=False, token=token)


@router.post("/signin/link")
def signin_link(request: Request, email: Text = "") -> Response:
    limits = deps.limits(request)
    limits.sign_in_link_client.hit(deps.client_address(request))  # RateLimited: 429
    outbox_id = None
    try:
        limits.sign_in_link_address.hit(email.strip().lower())
    except RateLimited:  # enough links went to this address this hour: they still work
        pass
    else:
        outbox_id = _queue_signin_link(request, email)
    # the same answer whether or not the address has an account; the mail goes after it
    return send_after(request, _form(request, "signin_link.html", sent=True, token=""), outbox_id)


def _queue_signin_link(request: Request, email: str) -> int | None:
    store, now = deps.store(request), deps.now(request)
    started = lifetimes.start_link(store, email, now)
    if started is None:
        return None
    minutes = int(lifetimes.LINK_TTL.total_seconds() // 60)
    return account_mail.queue_signin_link(store, deps.settings(request), *started, now, minutes=minutes)


@router.post("/signin/link/use")
def signin_link_use(request: Request, token: Text = "") -> Response:
    try:
        user = lifetimes.use_link(deps.store(request), token, deps.now(request))
    except InvalidToken as exc:
        return _form(request, "signin_link.html", 400, str(exc), sent=False, token="")
    deps.limits(request).sign_in_address.reset(user.email)  # the owner may use the password again
    sessions.sign_in(request, user)
    return _redirect("/")


@router.post("/signout")
def signout(request: Request) -> Response:
    sessions.sign_out(request)
    return _redirect("/")


@router.post("/account/signout-everywhere")
def signout_everywhere(request: Request) -> Response:
    sessions.sign_out_everywhere(request, sessions.require_user(request))
    return _redirect("/signin?done=everywhere")


# -- password reset --------------------------------------------------------------------


@router.get("/password/forgot")
def forgot_form(request: Request) -> Response:
    return _form(request, "forgot.html", sent=False, email="")


@router.post("/password/forgot")
def forgot(request: Request, email: Text = "") -> Response:
    limits = deps.limits(request)
    limits.password_reset.hit("ip:" + deps.client_address(request))
    limits.password_reset.hit("to:" + email.strip().lower())
    store, now = deps.store(request), deps.now(request)
    started = accounts.start_reset(store, email, now=now)
    outbox_id = None
    if started is not None:
        minutes = int(accounts.RESET_TTL.total_seconds() // 60)
        outbox_id = account_mail.queue_reset(store, deps.settings(request), *started, now, minutes=minutes)
    # the same answer whether or not the address has an account; the mail goes after it
    return send_after(request, _form(request, "forgot.html", sent=True, email=""), outbox_id)


@router.get("/password/reset")
def reset_form(request: Request, token: str = "") -> Response:
    try:
        accounts.check_reset(deps.store(request), token, now=deps.now(request))
    except InvalidToken as exc:
        return _form(request, "reset.html", 400, str(exc), token="", valid=False)
    return _form(request, "reset.html", token=token, valid=True)


@router.post("/password/reset")
def reset(request: Request, token: Text = "", password: Secret = "") -> Response:
    try:
        user = accounts.finish_reset(deps.store(request), token, password, now=deps.now(request))
    except InvalidInput as exc:
        return _form(request, "reset.html", 400, str(exc), token=token, valid=True)
    except InvalidToken as exc:
        return _form(request, "reset.html", 400, str(exc), token="", valid=False)
    sessions.sign_in(request, user)
    return _redirect("/account?done=reset")


# -- the account page ------------------------------------------------------------------


def _account(request: Request, status: int = 200, error: str | None = None, new_token: str | None = None) -> Response:
    user = sessions.require_user(request)
    store = deps.store(request)
    return render(request, "account.html", status=status, error=error, user=user, new_token=new_token,
                  sessions=lifetimes.count(store, user, deps.now(request)), session_days=lifetimes.SESSION_IDLE.days,
                  tokens=store.accounts.tokens(user.id), follows=store.follows.for_user(user.id),
                  collections=store.collections.for_user(user.id), done=request.query_params.get("done"),
                  nav_section="account")


@router.get("/account")
def account(request: Request) -> Response:
    return _account(request)


@router.post("/account/profile")
def account_profile(request: Request, display_name: Text = "") -> Response:
    user = sessions.require_user(request)
    try:
        deps.store(request).accounts.set_display_name(user.id, accounts.check_display_name(display_name),
                                                      deps.now(request))
    except InvalidInput as exc:
        return _account(request, 400, str(exc))
    return _redirect("/account?done=profile")


@router.post("/account/password")
def account_password(request: Request, current: Secret = "", password: Secret = "",
                     revoke_tokens: Text = "") -> Response:
    user = sessions.require_user(request)
    store = deps.store(request)
    revoke = bool(revoke_tokens)
    try:
        tokens = accounts.change_password(store, user, current, password, revoke_tokens=revoke)
    except (InvalidInput, AuthenticationFailed) as exc:
        return _account(request, 400, str(exc))
    sessions.sign_in(request, store.accounts.require(user.id))  # other sessions end; this one goes on
    done = "password-revoked" if revoke else "password-kept" if tokens else "password"
    return _redirect(f"/account?done={done}")


@router.post("/account/tokens")
def account_token(request: Request, name: Text = "") -> Response:
    user = sessions.require_user(request)
    token = accounts.create_token(deps.store(request), user, name, now=deps.now(request))
    response = _account(request, new_token=token)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/account/tokens/{token_id:id}/revoke")
def account_token_revoke(request: Request, token_id: int) -> Response:
    user = sessions.require_user(request)
    deps.store(request).accounts.revoke_token(user.id, token_id)
    return _redirect("/account?done=token")
