"""How an incoming record combines with what is stored (pure; no SQL).

Rules: a record with an equal or newer version overrides non-empty fields; an unversioned or
older record only fills fields that are empty. Versions and links are unions. The first
submission date is the earliest one any source gave.
"""

from __future__ import annotations

import dataclasses

from ..models import Link, Paper, Version

_SCALARS = ("title", "abstract", "primary_category", "updated", "comments", "journal_ref", "doi", "license")


def merge(old: Paper | None, new: Paper) -> Paper:
    if old is None:
        return _tidy(dataclasses.replace(new, links=_merge_links([], new.links)))
    authoritative = new.version is not None and (old.version is None or new.version >= old.version)
    out = dataclasses.replace(old)
    for name in _SCALARS:
        incoming, current = getattr(new, name), getattr(old, name)
        if incoming not in (None, "") and (authoritative or current in (None, "")):
            setattr(out, name, incoming)
    for name in ("authors", "categories"):
        if getattr(new, name) and (authoritative or not getattr(old, name)):
            setattr(out, name, list(getattr(new, name)))
    out.version = max(v for v in (old.version, new.version, 0) if v is not None) or None
    out.published = min((d for d in (old.published, new.published) if d is not None), default=None)
    out.versions = _merge_versions(old.versions, new.versions)
    out.links = _merge_links(old.links, new.links)
    return _tidy(out)


def _tidy(paper: Paper) -> Paper:
    if paper.categories and not paper.primary_category:
        paper.primary_category = paper.categories[0]
    if paper.versions:
        paper.version = max(paper.version or 0, max(v.version for v in paper.versions))
        first = next((v.submitted for v in paper.versions if v.version == 1 and v.submitted), None)
        if first and (paper.published is None or first < paper.published):
            paper.published = first
    return paper


def _merge_versions(old: list[Version], new: list[Version]) -> list[Version]:
    by_number = {v.version: v for v in old}
    for v in new:
        current = by_number.get(v.version)
        if current is None or (v.submitted and not current.submitted) or (v.size and not current.size):
            by_number[v.version] = Version(v.version, v.submitted or (current.submitted if current else None),
                                           v.size or (current.size if current else None))
    return [by_number[k] for k in sorted(by_number)]


def _merge_links(old: list[Link], new: list[Link]) -> list[Link]:
    by_url = {link.url: link for link in old}
    for link in new:
        current = by_url.get(link.url)
        if current is None:
            by_url[link.url] = link
        elif link.stars is not None and link.stars != current.stars:
            by_url[link.url] = dataclasses.replace(current, stars=link.stars)
    return list(by_url.values())
