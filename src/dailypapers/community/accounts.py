"""Sign-up, sign-in, password reset and API tokens: validation and rules on top of store.accounts."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets

from ..errors import AuthenticationFailed, Conflict, InvalidInput, InvalidToken, NotFound, PermissionDenied
from ..store import Store
from ..store.accounts import ROLES, User
from ..store.sqlutil import utcnow
from . import passwords

MIN_PASSWORD = 10
MAX_PASSWORD = 1024
RESET_TTL = dt.timedelta(hours=1)
TOKEN_PREFIX = "dp_"
DEMO_EMAIL = "demo@example.org"
DEMO_PASSWORD = "demo-password"
_EMAIL = re.compile(r"^[^@\s<>\"',;]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+$")
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9_-]{1,31}$")
_RESERVED = {"admin", "administrator", "moderator", "root", "system", "dailypapers", "api", "static", "me",
             "new", "signin", "signup", "signout", "support", "security", "anonymous", "deleted"}


def digest(token: str) -> str:
    """Tokens are stored as their SHA-256 (high-entropy secrets need no slow hash)."""
    return hashlib.sha256(token.encode()).hexdigest()


def normalize_email(email: str) -> str:
    email = (email or "").strip().lower()
    if len(email) > 254 or not _EMAIL.fullmatch(email):
        raise InvalidInput("enter a valid email address")
    return email


def check_username(username: str) -> str:
    username = (username or "").strip().lower()
    if not _USERNAME.fullmatch(username):
        raise InvalidInput("user names are 2 to 32 characters: lower-case letters, digits, - and _, "
                           "starting with a letter or digit")
    if username in _RESERVED:
        raise InvalidInput(f"the user name {username!r} is reserved")
    return username


def check_password(password: str) -> str:
    if len(password or "") < MIN_PASSWORD:
        raise InvalidInput(f"passwords need at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise InvalidInput(f"passwords have at most {MAX_PASSWORD} characters")
    return password


def check_display_name(name: str) -> str:
    name = " ".join((name or "").split())
    if len(name) > 80:
        raise InvalidInput("names have at most 80 characters")
    return name


def suggest_username(store: Store, email: str) -> str:
    """A free user name made from the address's local part."""
    base = re.sub(r"[^a-z0-9_-]", "", email.split("@", 1)[0].lower())[:24].strip("-_") or "member"
    base = base if len(base) >= 2 else f"{base}0"
    candidate, n = base, 1
    while candidate in _RESERVED or store.accounts.name_taken(candidate):
        n += 1
        candidate = f"{base}{n}"
    return candidate


def checked_fields(store: Store, email: str, password: str, username: str | None,
                   display_name: str) -> tuple[str, str, str]:
    """The sign-up form's (email, user name, display name), normalised; InvalidInput, or Conflict
    for a taken user name."""
    email = normalize_email(email)
    username = check_username(username) if username else suggest_username(store, email)
    display_name = check_display_name(display_name)
    check_password(password)
    if store.accounts.name_taken(username):
        raise Conflict(f"the user name {username!r} is taken")
    return email, username, display_name


def create_user(store: Store, email: str, password: str, *, username: str | None = None,
                display_name: str = "", role: str = "member", now: dt.datetime | None = None) -> User:
    """Create a member after checking every field; Conflict if the address or name is taken."""
    check_role(role)
    email, username, display_name = checked_fields(store, email, password, username, display_name)
    if store.accounts.by_email(email) is not None:
        raise Conflict("an account with that address already exists; sign in or reset the password")
    return store.accounts.create_user(email=email, username=username, display_name=display_name,
                                      password_hash=passwords.hash_password(password), role=role,
                                      now=now or utcnow())


def authenticate(store: Store, email: str, password: str) -> User:
    """The member with these credentials. Unknown address and wrong password fail alike, in about
    the same time (a dummy hash is verified when the address is unknown)."""
    try:
        email = normalize_email(email)
    except InvalidInput:
        email = ""
    found = store.accounts.credentials(email) if email else None
    user, stored = found if found else (None, None)
    if not passwords.verify(stored, password or "") or user is None or stored is None:  # verify first: same time
        raise AuthenticationFailed("wrong email address or password")
    if passwords.needs_rehash(stored):
        store.accounts.rehash(user.id, passwords.hash_password(password))
    return user


def change_password(store: Store, user: User, current: str, new: str, *, revoke_tokens: bool = False) -> int:
    """Set a new password (every session ends); with `revoke_tokens` the member's API tokens go
    too. Returns how many API tokens were revoked (or, without `revoke_tokens`, kept)."""
    if not passwords.verify(store.accounts.password_hash(user.id), current or ""):
        raise AuthenticationFailed("the current password is wrong")
    store.accounts.set_password(user.id, passwords.hash_password(check_password(new)))
    if revoke_tokens:
        return store.accounts.revoke_tokens(user.id)
    return len(store.accounts.tokens(user.id))


def start_reset(store: Store, email: str, now: dt.datetime | None = None) -> tuple[User, str] | None:
    """A single-use reset token for the address's member (None if there is none: say nothing)."""
    try:
        user = store.accounts.by_email(normalize_email(email))
    except InvalidInput:
        return None
    if user is None:
        return None
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    store.accounts.add_reset(user.id, digest(token), now, now + RESET_TTL)
    return user, token


def check_reset(store: Store, token: str, now: dt.datetime | None = None) -> None:
    if not token or store.accounts.reset_user(digest(token), now or utcnow()) is None:
        raise InvalidToken("this reset link is invalid, expired or already used; ask for a new one")


def finish_reset(store: Store, token: str, new_password: str, now: dt.datetime | None = None) -> User:
    """Use the token (once) and set the new password; every session of the member ends and every
    API token is revoked (whoever needed a reset may have lost more than the password)."""
    check_password(new_password)
    user_id = store.accounts.use_reset(digest(token or ""), now or utcnow())
    if user_id is None:
        raise InvalidToken("this reset link is invalid, expired or already used; ask for a new one")
    store.accounts.set_password(user_id, passwords.hash_password(new_password))
    store.accounts.revoke_tokens(user_id)
    user = store.accounts.get(user_id)
    assert user is not None
    return user


def create_token(store: Store, user: User, name: str, now: dt.datetime | None = None) -> str:
    """A new personal API token; the token itself is returned once and only its hash is kept."""
    name = " ".join((name or "").split())[:80] or "API token"
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    store.accounts.add_token(user.id, name, digest(token), token[:10], now or utcnow())
    return token


FOREIGN_TOKEN = ("this server takes its own personal API tokens (`Authorization: Bearer dp_…`, made on your "
                 "account page, /account), and the token sent is not one (a Hugging Face token?); reading needs "
                 "no token, writing needs a dailypapers one")


def is_ours(token: str) -> bool:
    """Whether a Bearer token has the form of this server's tokens. Clients such as huggingface_hub
    send the user's Hugging Face token with every call: read routes ignore a token that is not ours."""
    return token.startswith(TOKEN_PREFIX)


def user_for_token(store: Store, token: str, now: dt.datetime | None = None) -> User:
    user = store.accounts.user_for_token(digest(token), now or utcnow()) if is_ours(token) else None
    if user is None:
        raise AuthenticationFailed("unknown or revoked API token")
    return user


def check_role(role: str) -> str:
    if role not in ROLES:
        raise InvalidInput(f"roles are {', '.join(ROLES)}")
    return role


def set_role(store: Store, email: str, role: str) -> User:
    """Give the member with this address a role (the command line: no one is signed in)."""
    check_role(role)
    user = store.accounts.by_email(normalize_email(email))
    if user is None:
        raise NotFound(f"no member with address {email}")
    store.accounts.set_role(user.id, role)
    return store.accounts.require(user.id)


def change_role(store: Store, admin: User, user_id: int, role: str) -> User:
    """An admin gives a member a role. Admins cannot drop their own admin role, so a site always
    keeps the admin who is changing it (another admin can)."""
    check_role(role)
    if not admin.is_admin:
        raise PermissionDenied("only admins change roles")
    if user_id == admin.id and role != "admin":
        raise PermissionDenied("you cannot remove your own admin role (ask another admin)")
    if store.accounts.get(user_id) is None:
        raise NotFound(f"no member {user_id}")
    store.accounts.set_role(user_id, role)
    return store.accounts.require(user_id)


def ensure_demo_member(store: Store) -> tuple[str, str]:
    """The demo's member (created once): returns the address and password to sign in with."""
    if store.accounts.by_email(DEMO_EMAIL) is None:
        try:
            create_user(store, DEMO_EMAIL, DEMO_PASSWORD, username="demo", display_name="Demo Member")
        except Conflict:  # created concurrently, or the name "demo" is taken: keep what exists
            if store.accounts.by_email(DEMO_EMAIL) is None:
                create_user(store, DEMO_EMAIL, DEMO_PASSWORD, display_name="Demo Member")
    return DEMO_EMAIL, DEMO_PASSWORD
