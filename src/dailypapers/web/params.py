"""Typed request parameters the routes share, so that a value out of range is refused where it
enters instead of reaching the database (where the backends differ: ids are 32-bit INTEGER
columns on PostgreSQL and 64-bit on SQLite, and PostgreSQL stores no NUL character).

- Database ids in paths are written `{name:id}`: a number from 0 to MAX_ID (2^31 - 1, the
  largest id both backends hold). Anything else (letters, a sign, 2^31, a number past 2^63)
  matches no route and is a 404, before the handler or the database sees it.
- An id in a form field is `FormId`, in a JSON body `JsonId`: empty (None), or an integer from 1
  to MAX_ID, else 422 (the error names the field).
- Text: `text_input`, a dependency of the whole app, refuses control characters (all of Unicode's
  `Cc` but tab, newline and carriage return) and lone surrogates anywhere in the path, the query
  string, a form or a JSON body, with a 400 that says where. Single-line fields fold tabs and
  newlines into spaces in the library's own rules (names, e-mail addresses, user names).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Form, Request
from pydantic import Field
from starlette.convertors import Convertor, register_url_convertor

from dailypapers.errors import InvalidInput

MAX_ID = 2**31 - 1  # the largest id both backends hold (PostgreSQL's INTEGER; SQLite's go to 2^63 - 1)
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def up_to(limit: int) -> str:
    """A regular expression for the decimal numbers from 0 to `limit` (no sign; leading zeros only
    below `limit`'s length): every shorter number, then, digit by digit, the numbers of the same
    length that are smaller than `limit` from that digit on, then `limit` itself."""
    digits = str(limit)
    parts = [f"[0-9]{{1,{len(digits) - 1}}}"] if len(digits) > 1 else []
    for i, digit in enumerate(digits):
        if digit != "0":
            rest = len(digits) - i - 1
            parts.append(digits[:i] + f"[0-{int(digit) - 1}]" + (f"[0-9]{{{rest}}}" if rest else ""))
    parts.append(digits)
    return "(?:" + "|".join(parts) + ")"


class IdConvertor(Convertor[int]):
    """`{name:id}` in a route path: a database id, 0 to MAX_ID."""

    regex = up_to(MAX_ID)

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        if not 0 <= value <= MAX_ID:
            raise ValueError(f"not a database id: {value}")
        return str(value)


register_url_convertor("id", IdConvertor())

FormId = Annotated[int | None, Form(ge=1, le=MAX_ID)]
JsonId = Annotated[int | None, Field(ge=1, le=MAX_ID)]

# Unicode's control characters (Cc) but tab, newline and carriage return, and lone surrogates
# (only a JSON `\ud800` escape makes one): PostgreSQL cannot store NUL, and none of these belongs
# in a name, a query or a comment
_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def check_text(value: str, where: str) -> str:
    """`value` unchanged, or InvalidInput naming `where` and the first forbidden character."""
    found = _FORBIDDEN.search(value)
    if found is not None:
        raise InvalidInput(f"{where[:60]} holds a control character (U+{ord(found.group()):04X}); "
                           "text may hold tabs and line breaks, but no other control characters")
    return value


async def text_input(request: Request) -> None:
    """The app-wide dependency: every text of the request checked once, for both backends."""
    check_text(request.scope.get("path", ""), "the address")
    for key, value in request.query_params.multi_items():
        check_text(key, "a query parameter's name")
        check_text(value, f"the query parameter {key}")
    if request.method in SAFE_METHODS:
        return
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind in ("application/x-www-form-urlencoded", "multipart/form-data"):
        for key, item in (await request.form()).multi_items():  # a str, or an UploadFile
            check_text(key, "a form field's name")
            if isinstance(item, str):
                check_text(item, f"the field {key}")
    elif kind == "application/json" or kind.endswith("+json"):
        for where, text in _strings(await _json(request)):
            check_text(text, where)


async def _json(request: Request) -> Any:
    try:
        return await request.json()
    except (ValueError, UnicodeDecodeError):
        return None  # not JSON: the route's own validation answers 422


def _strings(document: Any) -> Iterator[tuple[str, str]]:
    """Every key and string value in a parsed JSON document, with where it is (no recursion)."""
    stack: list[tuple[str, Any]] = [("the body", document)]
    while stack:
        where, node = stack.pop()
        if isinstance(node, str):
            yield where, node
        elif isinstance(node, dict):
            for key, value in node.items():
                yield "a key of the body", key
                stack.append((f"the field {json.dumps(key)[:40]}", value))
        elif isinstance(node, list):
            stack.extend((where, item) for item in node)
