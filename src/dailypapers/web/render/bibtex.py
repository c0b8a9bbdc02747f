"""A paper as a BibTeX entry, in the form arXiv's own export uses (@misc with eprint fields)."""

from __future__ import annotations

import re
import unicodedata

from dailypapers.models import Paper

_SPECIAL = re.compile(r"(?<!\\)([&%#])")
_STOPWORDS = {"a", "an", "the", "on", "of", "for", "in", "to", "and", "with", "towards", "toward"}


def citation_key(paper: Paper) -> str:
    """`lastnameYEARfirstword`, ASCII only, e.g. `vaswani2017attention`."""
    last = paper.authors[0].name.split()[-1] if paper.authors and paper.authors[0].name.split() else "anon"
    year = str(paper.published.year) if paper.published else ""
    words = [w for w in re.findall(r"[A-Za-z0-9]+", _ascii(paper.title).lower()) if w not in _STOPWORDS]
    return re.sub(r"[^a-z0-9]", "", _ascii(last).lower()) + year + (words[0] if words else "")


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _value(text: str) -> str:
    """A field value: whitespace collapsed, &%# escaped, braces balanced (unbalanced ones dropped)."""
    flat = _SPECIAL.sub(r"\\\1", " ".join(text.split()))
    out, depth = [], 0
    for ch in flat:
        if ch == "{":
            depth += 1
        elif ch == "}":
            if depth == 0:
                continue
            depth -= 1
        out.append(ch)
    text = "".join(out)
    while depth:  # drop the last unmatched opening braces
        i = text.rfind("{")
        text, depth = text[:i] + text[i + 1:], depth - 1
    return text


def to_bibtex(paper: Paper) -> str:
    fields = [
        ("title", paper.title),
        ("author", " and ".join(a.name for a in paper.authors)),
        ("year", str(paper.published.year) if paper.published else ""),
        ("eprint", paper.arxiv_id),
        ("archivePrefix", "arXiv"),
        ("primaryClass", paper.primary_category or (paper.categories[0] if paper.categories else "")),
        ("journal", paper.journal_ref or ""),
        ("doi", paper.doi or ""),
        ("url", f"https://arxiv.org/abs/{paper.arxiv_id}"),
    ]
    body = ",\n".join(f"  {name}={{{_value(value)}}}" for name, value in fields if value)
    return f"@misc{{{citation_key(paper)},\n{body}\n}}\n"
