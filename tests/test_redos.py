"""Every regular expression of the package checked for catastrophic backtracking (ReDoS) with
regexploit (issue 14, "close the classes"): request data (paths, queries, forms, comments,
log lines) and imported data (abstracts, author lists, .abs headers, links) all meet some of them.

The patterns are collected, not listed: the compiled patterns every module holds (module
globals, class attributes, and those inside tuples, lists and dicts there), and the literal
pattern of every inline `re.*(...)` call, found in the source's syntax tree.

Each pattern is analysed three ways:

- as matched: regexploit finds no backtracking worse than quadratic (its own threshold);
- as ending at the end of the text: regexploit does not count `$` as something that can fail,
  so a pattern that ends in `$` or `\\Z` is analysed with an impossible character there
  (`^(.*?)\\s*(...)?\\s*$` in sources/abs.py was cubic on a run of spaces and passed the plain
  check);
- as searched: `search`, `finditer`, `sub` and `split` try every start position, so a match that
  fails after a linear scan costs n² on a long run (what `redact.EMAIL` did to the access log,
  item 1). The pattern is analysed behind `[\\s\\S]*[\\s\\S]*`, which stands for that loop;
  patterns anchored at the start are skipped (a search fails at once past position 0). What this
  finds is listed in SEARCH_SAFE with the reason its use stays linear, checked by hand and by
  timing, or fixed.

Possessive quantifiers and atomic groups (which never backtrack) are analysed as if they did:
that can only report more.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
import warnings
from pathlib import Path

import pytest

with warnings.catch_warnings():  # regexploit imports sre_parse and sre_constants, deprecated in 3.11
    warnings.simplefilter("ignore", DeprecationWarning)
    from regexploit.ast.sre import SreOpParser
    from regexploit.redos import find

import dailypapers

PACKAGE = Path(dailypapers.__file__).parent
SKIP_MODULES = ("dailypapers.__main__", "dailypapers.store.migrations")  # runs the CLI; alembic scripts
SEARCH_LOOP = r"[\s\S]*[\s\S]*"
# patterns whose search-mode finding is not a problem where they are used (pattern -> why)
SEARCH_SAFE = {
    r"[A-Za-z][A-Za-z-]*(?:\.[A-Za-z][A-Za-z-]*)?":
        "community/collections.CATEGORY: fullmatch only; and a letter is already a match",
    r"(?P<id>[a-z][a-z\-]*(?:\.[A-Z]{2})?/\d{7})(?:v(?P<v>\d+))?": "ids._OLD: fullmatch only",
    r"[A-Za-z][A-Za-z0-9\-']*[A-Za-z0-9]|[A-Za-z]":
        "search/phrases._WORD: every letter is a match (the second branch), so no scan fails",
    r"\$\$.+?\$\$|\$[^$\n]+?\$":
        "web/render/rich_text._MATH: a scan ends at the next `$`; only the last unclosed `$$` scans to the end",
    r"\n\s*\n": "web/render/views.paragraphs: starts only at a newline, and a run with two newlines matches",
}


class _Parser(SreOpParser):
    """regexploit's parser, taught Python 3.11's possessive repeats and atomic groups (as the
    backtracking kinds: a superset of what they can do)."""

    def from_POSSESSIVE_REPEAT(self, data):  # noqa: N802 - regexploit dispatches on the opcode's name
        return self.from_MAX_REPEAT(data)

    def from_ATOMIC_GROUP(self, data):  # noqa: N802
        return self.sequence_or_singleton(data)


def _walk(value, where: str, found: dict, depth: int = 0) -> None:
    if isinstance(value, re.Pattern):
        # a bytes pattern backtracks as the same pattern over str does (its bytes read as latin-1)
        pattern = value.pattern.decode("latin-1") if isinstance(value.pattern, bytes) else value.pattern
        found.setdefault((pattern, value.flags), where)
    elif depth < 2 and isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            _walk(item, where, found, depth + 1)
    elif depth < 2 and isinstance(value, dict):
        for item in value.values():
            _walk(item, where, found, depth + 1)


def compiled_patterns() -> dict[tuple[str, int], str]:
    """(pattern, flags) -> where, for every compiled pattern the package's modules hold."""
    found: dict[tuple[str, int], str] = {}
    for info in pkgutil.walk_packages(dailypapers.__path__, "dailypapers."):
        if info.name.startswith(SKIP_MODULES):
            continue
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            _walk(value, f"{info.name}.{name}", found)
            if isinstance(value, type) and value.__module__ == module.__name__:
                for attr, member in vars(value).items():
                    _walk(member, f"{info.name}.{name}.{attr}", found)
    return found


def inline_patterns() -> dict[tuple[str, int], str]:
    """(pattern, 0) -> where, for each literal first argument of an `re.<function>(...)` call."""
    found: dict[tuple[str, int], str] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "re" and node.args
                    and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
                found.setdefault((node.args[0].value, 0), f"{path.relative_to(PACKAGE)}:{node.lineno}")
    return found


PATTERNS = {**inline_patterns(), **compiled_patterns()}


def _starriness(pattern: str, flags: int) -> int:
    return max((r.starriness for r in find(_Parser().parse_sre(pattern, flags))), default=0)


def _at_end(pattern: str) -> str | None:
    """`pattern` with its final end anchor made a character no text holds, or None."""
    for anchor in ("\\Z", "$"):
        if pattern.endswith(anchor) and not pattern.endswith("\\" + anchor):
            return pattern[: -len(anchor)] + "\x00"
    return None


def _anchored(pattern: str, flags: int) -> bool:
    return pattern.startswith(("^", "\\A")) and not flags & re.MULTILINE


def test_the_patterns_are_collected():
    assert len(PATTERNS) > 60
    wheres = " ".join(PATTERNS.values())
    for module in ("redact", "sources.links", "sources.common", "search.query", "web.params", "ids.py"):
        assert module in wheres, module


@pytest.mark.parametrize(("pattern", "flags"), sorted(PATTERNS), ids=[PATTERNS[k] for k in sorted(PATTERNS)])
def test_no_pattern_backtracks_catastrophically(pattern, flags):
    where = PATTERNS[(pattern, flags)]
    assert _starriness(pattern, flags) <= 2, f"{where}: {pattern!r} backtracks worse than n^2 when matched"
    at_end = _at_end(pattern)
    if at_end is not None:
        assert _starriness(at_end, flags) <= 2, f"{where}: {pattern!r} backtracks worse than n^2 before its end anchor"
    if not _anchored(pattern, flags) and pattern not in SEARCH_SAFE:
        searched = _starriness(f"{SEARCH_LOOP}(?:{pattern})", flags)
        assert searched <= 2, (f"{where}: {pattern!r} costs n^2 or worse when searched; make it linear, or add it "
                               "to SEARCH_SAFE with the reason its use stays linear")


def test_search_safe_lists_only_patterns_that_exist_and_need_it():
    present = {pattern for pattern, _ in PATTERNS}
    assert set(SEARCH_SAFE) <= present, set(SEARCH_SAFE) - present
    for pattern in SEARCH_SAFE:
        assert _starriness(f"{SEARCH_LOOP}(?:{pattern})", 0) > 2, f"{pattern!r} no longer needs its SEARCH_SAFE entry"


@pytest.mark.parametrize("bad", [
    r"[A-Za-z0-9.!#$%&*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+",  # item 1
    r"^(.*?)\s*(?:\(([^()]*)\))?\s*$",  # sources/abs.py's date line before the fix
    r"\s*(?:[,;:]|\band\b|&)\s*",  # sources/common.py's author separator before the fix
    r"(a+)+b", r"(?:\w+\s?)+$",
])
def test_the_check_finds_the_known_bad_patterns(bad):
    at_end = _at_end(bad)
    worst = max(_starriness(bad, 0), _starriness(at_end, 0) if at_end else 0,
                0 if _anchored(bad, 0) else _starriness(f"{SEARCH_LOOP}(?:{bad})", 0))
    assert worst > 2
