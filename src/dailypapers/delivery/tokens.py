"""Signed links of a subscription (itsdangerous, keyed with settings.secret_key).

Each token carries the subscription id and its random `key` (so a link names one subscription
and cannot be forged), and a purpose baked into the salt: a confirmation link cannot be used to
unsubscribe, nor the other way round. Confirmation links expire (settings.confirm_link_hours);
unsubscribe and manage links do not, since they sit in every message ever sent (a subscription's
links stop working only when the subscription is deleted).
"""

from __future__ import annotations

from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from dailypapers.config import Settings
from dailypapers.errors import InvalidToken

PURPOSES = ("confirm", "unsubscribe", "manage")


@dataclass(frozen=True)
class LinkToken:
    subscription_id: int
    key: str
    email: str | None = None  # confirmation of a (new) address: the address being confirmed


def _serializer(settings: Settings, purpose: str) -> URLSafeTimedSerializer:
    if purpose not in PURPOSES:
        raise ValueError(f"unknown token purpose {purpose!r}")
    return URLSafeTimedSerializer(settings.secret_key, salt=f"dailypapers.subscription.{purpose}")


def make(settings: Settings, purpose: str, subscription_id: int, key: str, email: str | None = None) -> str:
    data = {"s": subscription_id, "k": key}
    if email is not None:
        data["e"] = email
    return _serializer(settings, purpose).dumps(data)


def read(settings: Settings, purpose: str, token: str) -> LinkToken:
    """The token's contents; InvalidToken when it is forged, of another purpose, or expired."""
    max_age = settings.confirm_link_hours * 3600 if purpose == "confirm" else None
    try:
        data = _serializer(settings, purpose).loads(token or "", max_age=max_age)
    except SignatureExpired:
        raise InvalidToken("this link has expired; subscribe again to get a new one") from None
    except BadSignature:
        raise InvalidToken("this link is not valid (it may be incomplete: copy the whole address)") from None
    if not (isinstance(data, dict) and isinstance(data.get("s"), int) and isinstance(data.get("k"), str)):
        raise InvalidToken("this link is not valid")
    email = data.get("e")
    return LinkToken(data["s"], data["k"], email if isinstance(email, str) else None)
