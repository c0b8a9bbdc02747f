"""Members, password-reset tokens and personal API tokens (SQL only; the rules live in community/)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from ..errors import Conflict, NotFound
from .changes import record_changes
from .convert import utc
from .schema import api_tokens, comments, daily_entries, password_resets, pending_signups, sessions, users

if TYPE_CHECKING:
    from .repo import Store

ROLES = ("member", "moderator", "admin")


@dataclass(frozen=True)
class User:
    id: int
    email: str
    username: str
    display_name: str
    role: str
    session_version: int
    created_at: dt.datetime

    @property
    def name(self) -> str:
        return self.display_name or self.username

    @property
    def is_moderator(self) -> bool:
        return self.role in ("moderator", "admin")

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


@dataclass(frozen=True)
class PendingSignup:
    email: str
    username: str
    display_name: str
    password_hash: str


@dataclass(frozen=True)
class ApiToken:
    id: int
    name: str
    prefix: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None


USER_COLUMNS = [users.c.id, users.c.email, users.c.username, users.c.display_name, users.c.role,
                 users.c.session_version, users.c.created_at]


def user_from_row(row) -> User:
    return User(row.id, row.email, row.username, row.display_name, row.role, row.session_version,
                utc(row.created_at))


class Accounts:
    def __init__(self, store: Store) -> None:
        self.engine = store.engine

    # -- members -----------------------------------------------------------------------

    def create_user(self, *, email: str, username: str, display_name: str, password_hash: str,
                    role: str, now: dt.datetime) -> User:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
        row = {"email": email, "username": username, "display_name": display_name,
               "password_hash": password_hash, "role": role, "session_version": 1, "created_at": now}
        try:
            with self.engine.begin() as conn:
                new_id = conn.execute(insert(users).values(**row).returning(users.c.id)).scalar_one()
        except IntegrityError as exc:
            raise Conflict("that email address or user name is already taken") from exc
        return User(new_id, email, username, display_name, role, 1, now)

    def get(self, user_id: int) -> User | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(*USER_COLUMNS).where(users.c.id == user_id)).first()
        return user_from_row(row) if row else None

    def require(self, user_id: int) -> User:
        """The member, read back after a change; NotFound if they were deleted meanwhile."""
        user = self.get(user_id)
        if user is None:
            raise NotFound(f"no member {user_id}")
        return user

    def by_username(self, username: str) -> User | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(*USER_COLUMNS).where(users.c.username == username)).first()
        return user_from_row(row) if row else None

    def by_email(self, email: str) -> User | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(*USER_COLUMNS).where(users.c.email == email)).first()
        return user_from_row(row) if row else None

    def credentials(self, email: str) -> tuple[User, str] | None:
        """The member with this address and their password hash."""
        with self.engine.connect() as conn:
            row = conn.execute(select(*USER_COLUMNS, users.c.password_hash).where(users.c.email == email)).first()
        return (user_from_row(row), row.password_hash) if row else None

    def password_hash(self, user_id: int) -> str:
        with self.engine.connect() as conn:
            value = conn.execute(select(users.c.password_hash).where(users.c.id == user_id)).scalar()
        if value is None:
            raise NotFound(f"no member {user_id}")
        return value

    def name_taken(self, username: str) -> bool:
        """Taken by a member, or by a submitter of imported daily lists (so nobody can pose as one),
        in any case: `franck-dernoncourt` is taken by the imported `Franck-Dernoncourt`."""
        folded = username.lower()
        with self.engine.connect() as conn:
            member = conn.execute(select(users.c.id).where(func.lower(users.c.username) == folded)).first()
            imported = conn.execute(select(daily_entries.c.paper_id)
                                    .where(func.lower(daily_entries.c.submitted_by) == folded).limit(1)).first()
        return member is not None or imported is not None

    def set_password(self, user_id: int, password_hash: str) -> None:
        """New hash; every existing session ends (its rows are deleted, session_version + 1)."""
        with self.engine.begin() as conn:
            conn.execute(update(users).where(users.c.id == user_id).values(
                password_hash=password_hash, session_version=users.c.session_version + 1))
            conn.execute(delete(sessions).where(sessions.c.user_id == user_id))

    def rehash(self, user_id: int, password_hash: str) -> None:
        """Store a stronger hash of the same password (sessions stay)."""
        with self.engine.begin() as conn:
            conn.execute(update(users).where(users.c.id == user_id).values(password_hash=password_hash))

    def end_sessions(self, user_id: int) -> None:
        """Sign the member out everywhere: every session row goes, session_version + 1."""
        with self.engine.begin() as conn:
            conn.execute(update(users).where(users.c.id == user_id).values(
                session_version=users.c.session_version + 1))
            conn.execute(delete(sessions).where(sessions.c.user_id == user_id))

    def set_role(self, user_id: int, role: str) -> None:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
        with self.engine.begin() as conn:
            if not conn.execute(update(users).where(users.c.id == user_id).values(role=role)).rowcount:
                raise NotFound(f"no member {user_id}")

    def set_display_name(self, user_id: int, display_name: str, now: dt.datetime) -> None:
        """The papers the member commented on join the change sequence: their pages show the name,
        and a page kept by any node's render cache must not outlive it."""
        with self.engine.begin() as conn:
            conn.execute(update(users).where(users.c.id == user_id).values(display_name=display_name))
            commented = conn.execute(select(comments.c.paper_id).where(comments.c.user_id == user_id)
                                     .distinct()).scalars().all()
            record_changes(conn, sorted(commented), now)

    def list_users(self, offset: int = 0, limit: int = 100) -> tuple[list[User], int]:
        with self.engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(users)).scalar_one()
            rows = conn.execute(select(*USER_COLUMNS).order_by(users.c.id).offset(offset).limit(limit)).all()
        return [user_from_row(r) for r in rows], total

    def count(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(users)).scalar_one()

    # -- password resets ---------------------------------------------------------------

    def add_reset(self, user_id: int, token_hash: str, now: dt.datetime, expires_at: dt.datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(password_resets).values(token_hash=token_hash, user_id=user_id, created_at=now,
                                                        expires_at=expires_at))

    def reset_user(self, token_hash: str, now: dt.datetime) -> int | None:
        """The member a valid (unused, unexpired) reset token belongs to, without using it."""
        with self.engine.connect() as conn:
            return conn.execute(select(password_resets.c.user_id).where(
                password_resets.c.token_hash == token_hash, password_resets.c.used_at.is_(None),
                password_resets.c.expires_at > now)).scalar()

    def use_reset(self, token_hash: str, now: dt.datetime) -> int | None:
        """Mark the token used (atomically: one caller wins) and return its member, or None."""
        with self.engine.begin() as conn:
            user_id = conn.execute(select(password_resets.c.user_id).where(
                password_resets.c.token_hash == token_hash)).scalar()
            done = conn.execute(update(password_resets).where(
                password_resets.c.token_hash == token_hash, password_resets.c.used_at.is_(None),
                password_resets.c.expires_at > now).values(used_at=now)).rowcount
            if done != 1:
                return None
            # any other outstanding link of this member stops working too
            conn.execute(update(password_resets).where(and_(
                password_resets.c.user_id == user_id, password_resets.c.used_at.is_(None))).values(used_at=now))
        return user_id

    # -- sign-ups waiting for their address to be confirmed ------------------------------

    def add_pending_signup(self, token_hash: str, *, email: str, username: str, display_name: str,
                           password_hash: str, now: dt.datetime, expires_at: dt.datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(pending_signups).where(pending_signups.c.expires_at <= now))  # forget stale ones
            conn.execute(insert(pending_signups).values(
                token_hash=token_hash, email=email, username=username, display_name=display_name,
                password_hash=password_hash, created_at=now, expires_at=expires_at))

    def pending_signup(self, token_hash: str, now: dt.datetime) -> PendingSignup | None:
        """The valid (unused, unexpired) sign-up with this token, without using it."""
        with self.engine.connect() as conn:
            row = conn.execute(select(pending_signups).where(
                pending_signups.c.token_hash == token_hash, pending_signups.c.used_at.is_(None),
                pending_signups.c.expires_at > now)).first()
        return PendingSignup(row.email, row.username, row.display_name, row.password_hash) if row else None

    def use_pending_signup(self, token_hash: str, now: dt.datetime) -> PendingSignup | None:
        """Mark the sign-up used (atomically: one caller wins) and return it, or None."""
        with self.engine.begin() as conn:
            done = conn.execute(update(pending_signups).where(
                pending_signups.c.token_hash == token_hash, pending_signups.c.used_at.is_(None),
                pending_signups.c.expires_at > now).values(used_at=now)).rowcount
            if done != 1:
                return None
            row = conn.execute(select(pending_signups).where(pending_signups.c.token_hash == token_hash)).one()
        return PendingSignup(row.email, row.username, row.display_name, row.password_hash)

    # -- API tokens --------------------------------------------------------------------

    def add_token(self, user_id: int, name: str, token_hash: str, prefix: str, now: dt.datetime) -> int:
        with self.engine.begin() as conn:
            return conn.execute(insert(api_tokens).values(
                user_id=user_id, name=name, token_hash=token_hash, prefix=prefix, created_at=now)
                .returning(api_tokens.c.id)).scalar_one()

    def add_tokens(self, rows: list[dict]) -> None:
        """Many tokens at once (rows: user_id, name, token_hash, prefix, created_at)."""
        with self.engine.begin() as conn:
            conn.execute(insert(api_tokens), rows)

    def tokens(self, user_id: int) -> list[ApiToken]:
        query = select(api_tokens).where(api_tokens.c.user_id == user_id).order_by(api_tokens.c.id)
        with self.engine.connect() as conn:
            return [ApiToken(r.id, r.name, r.prefix, utc(r.created_at), utc(r.last_used_at))
                    for r in conn.execute(query)]

    def revoke_tokens(self, user_id: int) -> int:
        """Revoke every API token of the member; how many there were."""
        with self.engine.begin() as conn:
            return conn.execute(delete(api_tokens).where(api_tokens.c.user_id == user_id)).rowcount

    def revoke_token(self, user_id: int, token_id: int) -> bool:
        with self.engine.begin() as conn:
            return conn.execute(delete(api_tokens).where(
                api_tokens.c.id == token_id, api_tokens.c.user_id == user_id)).rowcount == 1

    def user_for_token(self, token_hash: str, now: dt.datetime) -> User | None:
        query = (select(*USER_COLUMNS, api_tokens.c.id.label("token_id"), api_tokens.c.last_used_at)
                 .select_from(api_tokens.join(users, users.c.id == api_tokens.c.user_id))
                 .where(api_tokens.c.token_hash == token_hash))
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        last = utc(row.last_used_at)
        if last is None or now - last > dt.timedelta(minutes=5):  # write at most every few minutes
            with self.engine.begin() as conn:
                conn.execute(update(api_tokens).where(api_tokens.c.id == row.token_id).values(last_used_at=now))
        return user_from_row(row)

    def find(self, text: str, limit: int = 50) -> list[User]:
        pattern = f"%{text.lower()}%"
        query = (select(*USER_COLUMNS).where(or_(users.c.email.like(pattern), users.c.username.like(pattern)))
                 .order_by(users.c.id).limit(limit))
        with self.engine.connect() as conn:
            return [user_from_row(r) for r in conn.execute(query)]
