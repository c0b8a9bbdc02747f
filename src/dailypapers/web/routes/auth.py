"""Accounts in the browser: sign up, sign in, sign out, password reset by email, the account page
(profile, password, personal API tokens)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from dailypapers.community import accounts
from dailypapers.community import sessions as lifetimes
from dailypapers.delivery import links, mail
from dailypapers.errors import AuthenticationFailed, Conflict, InvalidInput, InvalidToken
from dailypapers.web import deps, sessions
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
    try:
        deps.limits(request).sign_up.hit(deps.client_address(request))
        user = accounts.create_user(deps.store(request), email, password, username=username or None,
                                    display_name=display_name, now=deps.now(request))
    except (InvalidInput, Conflict) as exc:
        status = 409 if isinstance(exc, Conflict) else 400
        return _form(request, "signup.html", status, str(exc), next=sessions.safe_next(next), values=values)
    sessions.sign_in(request, user)
    return _redirect(sessions.safe_next(next))


@router.get("/signin")
def signin_form(request: Request, next: str = "/") -> Response:
    notice = SIGNED_OUT.get(request.query_params.get("done", ""))
    return _form(request, "signin.html", next=sessions.safe_next(next), email="", notice=notice)


@router.post("/signin")
def signin(request: Request, email: Text = "", password: Secret = "", next: Text = "/") -> Response:
    limits = deps.limits(request)
    limits.sign_in_client.hit(deps.client_address(request))  # RateLimited: 429
    limits.sign_in_address.hit(email.strip().lower())
    try:
        user = accounts.authenticate(deps.store(request), email, password)
    except AuthenticationFailed as exc:
        return _form(request, "signin.html", 401, str(exc), next=sessions.safe_next(next), email=email)
    limits.sign_in_address.reset(email.strip().lower())
    sessions.sign_in(request, user)
    return _redirect(sessions.safe_next(next))


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
    store, settings = deps.store(request), deps.settings(request)
    started = accounts.start_reset(store, email, now=deps.now(request))
    if started is not None:
        user, token = started
        base = links.mail_base(settings)  # never the request's Host
        link = f"{base}/password/reset?token={token}"
        text = (f"Hello {user.name},\n\nSomeone (hopefully you) asked to reset the password of your dailypapers "
                f"account {user.email}.\nOpen this link within an hour to choose a new one; it works once:\n\n"
                f"{link}\n\nIf you did not ask, ignore this message: your password stays as it is.\n")
        mail.send_message(settings, user.email, "Reset your dailypapers password", text)
    # the same answer whether or not the address has an account
    return _form(request, "forgot.html", sent=True, email=email)


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
    return _redirect("/account?done=password")


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
        deps.store(request).accounts.set_display_name(user.id, accounts.check_display_name(display_name))
    except InvalidInput as exc:
        return _account(request, 400, str(exc))
    return _redirect("/account?done=profile")


@router.post("/account/password")
def account_password(request: Request, current: Secret = "", password: Secret = "") -> Response:
    user = sessions.require_user(request)
    store = deps.store(request)
    try:
        accounts.change_password(store, user, current, password)
    except (InvalidInput, AuthenticationFailed) as exc:
        return _account(request, 400, str(exc))
    sessions.sign_in(request, store.accounts.get(user.id))  # other sessions end; this one goes on
    return _redirect("/account?done=password")


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
