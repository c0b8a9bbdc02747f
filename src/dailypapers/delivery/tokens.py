"""Signed links of a subscription (itsdangerous, keyed with settings.secret_key).

Each token carries the subscription id and its random `key` (so a link names one subscription
and cannot be forged), and a purpose baked into the salt: a confirmation link cannot be used to
unsubscribe, nor the other way round. Confirmation links expire (settings.confirm_link_hours);
unsubscribe and manage links do not, since they sit in every message ever sent (a subscription's
links stop working only when the subscription is deleted).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from dailypapers.config import Settings
from dailypapers.errors import InvalidToken

PURPOSES = ("confirm", "unsubscribe", "manage")


@dataclass(frozen=True)
class LinkToken:
    subscription_id: int
    key: str
    email: str | None = None  # confirmation of a (new) address: the address being confirmed


Clock = Callable[[], float]  # seconds since the epoch, like time.time


class _ClockSigner(TimestampSigner):
    """itsdangerous's timestamp signer, reading the time from `clock` (tests pass their own)."""

    def __init__(self, *args: Any, clock: Clock = time.time, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.clock = clock

    def get_timestamp(self) -> int:
        return int(self.clock())


def _serializer(settings: Settings, purpose: str, clock: Clock) -> URLSafeTimedSerializer:
    if purpose not in PURPOSES:
        raise ValueError(f"unknown token purpose {purpose!r}")
    return URLSafeTimedSerializer(settings.secret_key, salt=f"dailypapers.subscription.{purpose}",
                                  signer=_ClockSigner, signer_kwargs={"clock": clock})


def make(settings: Settings, purpose: str, subscription_id: int, key: str, email: str | None = None,
         *, clock: Clock = time.time) -> str:
    data: dict[str, int | str] = {"s": subscription_id, "k": key}
    if email is not None:
        data["e"] = email
    return _serializer(settings, purpose, clock).dumps(data)


def read(settings: Settings, purpose: str, token: str, *, clock: Clock = time.time) -> LinkToken:
    """The token's contents; InvalidToken when it is forged, of another purpose, or expired."""
    max_age = settings.confirm_link_hours * 3600 if purpose == "confirm" else None
    try:
        data = _serializer(settings, purpose, clock).loads(token or "", max_age=max_age)
    except SignatureExpired:
        raise InvalidToken("this link has expired; subscribe again to get a new one") from None
    except BadSignature:
        raise InvalidToken("this link is not valid (it may be incomplete: copy the whole address)") from None
    if not (isinstance(data, dict) and isinstance(data.get("s"), int) and isinstance(data.get("k"), str)):
        raise InvalidToken("this link is not valid")
    email = data.get("e")
    return LinkToken(data["s"], data["k"], email if isinstance(email, str) else None)
