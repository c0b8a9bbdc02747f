"""Code, project and model links found in free text such as abstracts and comments.

`extract` finds URLs (with or without a scheme for the well-known code and model hosts),
repairs the usual damage done by line wrapping and LaTeX (`github.\\ncom`, `KVQE-\\nChallenge`,
`my\\_repo`, `\\url{...}`), strips trailing punctuation, classifies each URL into a
`models.LINK_KINDS` kind and normalises it so that the same repository found twice is one link.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from ..models import Link

_URL_CHARS = r"[A-Za-z0-9\-._~:/?#@!$&()*+,;=%]"
_BARE_HOSTS = r"(?:github\.com|gitlab\.com|bitbucket\.org|huggingface\.co|hf\.co)/"
_URL = re.compile(rf"(?:https?://|(?<![\w@./-])(?:www\.|{_BARE_HOSTS})){_URL_CHARS}+", re.IGNORECASE)
# a text holds a link only if its lowered form holds one of these; plain `in` tests are ~10x
# faster than an alternation regex searching a whole abstract
_HINTS = ("http", "www.", "github", "gitlab", "bitbucket", "huggingface", "hf.co")
_TEX_ESCAPES = re.compile(r"\\([_%#&~])(?:\{\})?")
_WRAPPED_HYPHEN = re.compile(r"(https?://\S*-)\n[ \t]*(?=\w)")
_WRAPPED_HOST = re.compile(r"\b(github|gitlab|huggingface|bitbucket)\.\s+(com|io|co|org)\b", re.IGNORECASE)
_WRAPPABLE_HOSTS = ("github.", "gitlab.", "huggingface.", "bitbucket.")
_TRAILING = ".,;:!?*$&'\""
_NAME = re.compile(r"[\w.+-]+", re.ASCII)  # a GitHub owner or repository name (Inverse++ occurs)
_EXCLUDED_HOSTS = ("arxiv.org", "doi.org", "dx.doi.org")
_GITHUB_RESERVED = {"features", "topics", "sponsors", "settings", "marketplace", "about", "collections",
                    "search", "login", "pricing", "explore", "site", "trending", "notifications", "apps"}
_HF_SUBPAGES = {"tree", "blob", "resolve", "viewer", "discussions", "commits", "raw", "edit", "files"}
_HF_NOT_LINKS = {"papers", "login", "join", "settings", "pricing", "search", "models", "datasets", "spaces"}
_HF_PROJECT_PAGES = {"docs", "blog", "learn", "collections", "organizations", "posts", "tasks"}


def extract(text: str | None, source: str) -> list[Link]:
    """Links found in `text`, in order of appearance, deduplicated; `source` is recorded on each."""
    if not text:
        return []
    lowered = text.lower()
    if not any(hint in lowered for hint in _HINTS):
        return []
    found = []
    for match in _URL.finditer(_repair(text, lowered)):
        classified = classify(_trim(match.group(0)))
        if classified:
            found.append(Link(kind=classified[0], url=classified[1], source=source))
    return dedupe(found)


def dedupe(links: Iterable[Link]) -> list[Link]:
    """Keep the first link per (kind, URL), taking stars from a later duplicate if the first has none."""
    kept: dict[tuple[str, str], Link] = {}
    for link in links:
        key = (link.kind, link.url.lower())
        first = kept.get(key)
        if first is None:
            kept[key] = link
        elif first.stars is None and link.stars is not None:
            kept[key] = Link(first.kind, first.url, first.source, link.stars)
    return list(kept.values())


def classify(url: str) -> tuple[str, str] | None:
    """(kind, normalised URL) for one URL, or None for URLs that are not links to keep
    (arXiv, DOI, bare host names, sign-in pages)."""
    found = _classify(url)
    if found is None:
        return None
    # cutting a URL down to its repository can leave punctuation at the end (github.com/a/b:/x
    # gives github.com/a/b:): trim and classify again, so extracting the result gives it back
    trimmed = _trim(found[1])
    return found if trimmed == found[1] else classify(trimmed)


def _classify(url: str) -> tuple[str, str] | None:
    if not re.match(r"https?://", url, re.IGNORECASE):
        url = "https://" + url
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").rstrip(".")
    except ValueError:
        return None
    bare = host.removeprefix("www.")
    if "." not in bare or any(bare == h or bare.endswith("." + h) for h in _EXCLUDED_HOSTS):
        return None
    segments = [s for s in parts.path.split("/") if s]
    handler = _handler(bare)
    if handler:
        return handler(bare, segments)
    return "project", _project_url(parts.scheme.lower(), host, parts.path, parts.query)


def _handler(host: str) -> Callable[[str, list[str]], tuple[str, str] | None] | None:
    if host == "github.com":
        return _github
    if host in ("huggingface.co", "hf.co"):
        return _huggingface
    if host == "raw.githubusercontent.com":
        return lambda _h, segs: _github("github.com", segs[:2])
    if host in ("gitlab.com", "bitbucket.org", "codeberg.org", "gitee.com", "gist.github.com") \
            or host.startswith("gitlab."):
        return _code_host
    return None


def _github(host: str, segs: list[str]) -> tuple[str, str] | None:
    if segs and segs[0].lower() in ("orgs", "users"):
        segs = segs[1:2]
    if not segs or segs[0].lower() in _GITHUB_RESERVED or not _NAME.fullmatch(segs[0]):
        return None
    if len(segs) > 1:
        segs = [segs[0], _trim(segs[1])]  # github.com/a/b:/c is a/b
        if not _NAME.fullmatch(segs[1]):  # github.com/a/:x is the owner's page
            segs = segs[:1]
    return "github", "https://github.com/" + "/".join(_strip_git(segs[:2]))


def _code_host(host: str, segs: list[str]) -> tuple[str, str] | None:
    if "-" in segs:  # GitLab: /group/sub/repo/-/tree/main
        segs = segs[: segs.index("-")]
    if host in ("bitbucket.org", "codeberg.org", "gitee.com", "gist.github.com"):  # owner/repo, whatever follows
        segs = segs[:2]
    if not segs:
        return None
    return "code", f"https://{host}/" + "/".join(_strip_git(segs))


def _huggingface(host: str, segs: list[str]) -> tuple[str, str] | None:
    if not segs:
        return None
    head = segs[0].lower()
    if head in ("datasets", "spaces") and len(segs) > 1:
        kind = "hf_dataset" if head == "datasets" else "hf_space"
        return kind, "https://huggingface.co/" + "/".join([head] + _repo_name(segs[1:]))
    if head in _HF_NOT_LINKS:
        return None
    if head in _HF_PROJECT_PAGES or len(segs) == 1:
        return "project", "https://huggingface.co/" + "/".join(segs)
    name = _repo_name(segs)
    # the kind follows from the normalised URL, so that extracting it again gives the same link:
    # huggingface.co/<one name> is a member's or organisation's page (or a legacy model: gpt2)
    return ("hf_model" if len(name) > 1 else "project"), "https://huggingface.co/" + "/".join(name)


def _repo_name(segs: list[str]) -> list[str]:
    """`owner/name` (or a canonical single `name`) before /tree, /blob, /resolve..."""
    if len(segs) > 1 and segs[1].lower() not in _HF_SUBPAGES:
        return segs[:2]
    return segs[:1]


def _strip_git(segs: list[str]) -> list[str]:
    last = segs[-1]
    if last.lower().endswith(".git") and len(last) > 4:
        last = last[:-4]
    return segs[:-1] + [last]


def _project_url(scheme: str, host: str, path: str, query: str) -> str:
    url = f"{scheme}://{host}{path}" + (f"?{query}" if query else "")
    while True:  # fixed point, so that extracting the output again gives the same URL
        trimmed = _trim(url.rstrip("/"))
        if trimmed == url:
            return url
        url = trimmed


def _repair(text: str, lowered: str) -> str:
    """`lowered` is text.lower(). Each repair runs only where its pattern can match (the host
    pattern cost a quarter of the link extraction, scanning every abstract with a URL)."""
    if "\\" in text:
        text = _TEX_ESCAPES.sub(r"\1", text)
    if "-\n" in text:
        text = _WRAPPED_HYPHEN.sub(r"\1", text)
    if _may_hold_wrapped_host(text, lowered):
        text = _WRAPPED_HOST.sub(r"\1.\2", text)
    return text


def _may_hold_wrapped_host(text: str, lowered: str) -> bool:
    """False only if _WRAPPED_HOST cannot match: no `host.` followed by whitespace. Decided on
    ASCII text only, where IGNORECASE matches exactly what lower() gives (in other text it also
    matches `ı` for `i`, say). Removing TeX escapes and wrapped hyphens cannot create a match."""
    if not text.isascii():
        return True
    for host in _WRAPPABLE_HOSTS:
        i = lowered.find(host)
        while i != -1:
            after = i + len(host)
            if after < len(lowered) and lowered[after].isspace():
                return True
            i = lowered.find(host, i + 1)
    return False


def _trim(url: str) -> str:
    """Drop trailing sentence punctuation and closing brackets that do not belong to the URL.

    A `)` that closes no `(` of the URL ends it, wherever it is: `(see https://x.org/a)b` is the
    link https://x.org/a, and `https://github.com/)0` is no link at all."""
    depth = 0
    for i, char in enumerate(url):
        if char == "(":
            depth += 1
        elif char == ")":
            if depth == 0:
                url = url[:i]
                break
            depth -= 1
    while url:
        last = url[-1]
        if last in _TRAILING or last == "(" or (last == ")" and url.count(")") > url.count("(")):
            url = url[:-1]
        else:
            break
    return url
