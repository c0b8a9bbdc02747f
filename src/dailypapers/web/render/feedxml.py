"""RSS 2.0 and Atom 1.0 documents from one plain description of a feed (ElementTree escapes
every text; nothing here is HTML)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from email.utils import format_datetime
from xml.etree import ElementTree as ET

ATOM = "http://www.w3.org/2005/Atom"
DC = "http://purl.org/dc/elements/1.1/"
ET.register_namespace("atom", ATOM)  # RSS carries atom:link rel="self"
ET.register_namespace("dc", DC)
RSS_TYPE = "application/rss+xml; charset=utf-8"
ATOM_TYPE = "application/atom+xml; charset=utf-8"
FORMATS = {"rss": RSS_TYPE, "atom": ATOM_TYPE}


@dataclass
class Entry:
    id: str  # a permanent absolute URL (the paper page)
    title: str
    link: str
    published: dt.datetime
    summary: str
    authors: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)


@dataclass
class Feed:
    title: str
    link: str  # the HTML page the feed mirrors (absolute)
    self_url: str  # this feed's own URL (absolute)
    description: str
    entries: list[Entry]
    updated: dt.datetime | None = None

    @property
    def last_updated(self) -> dt.datetime:
        dates = [e.published for e in self.entries]
        return self.updated or (max(dates) if dates else dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc))


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs) -> ET.Element:
    """The one place text enters a feed: every text and attribute value is cleaned here."""
    element = ET.SubElement(parent, tag, {k: xml_text(v) for k, v in attrs.items() if v is not None})
    if text is not None:
        element.text = xml_text(text)
    return element


# what XML 1.0 forbids (its `Char` production): C0 controls but tab, newline and carriage return,
# lone surrogates, and the noncharacters U+FFFE and U+FFFF
_NOT_XML = re.compile(r"[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    """`text` without the characters XML 1.0 cannot carry (a feed holding one is ill-formed and
    every reader refuses the whole feed)."""
    return _NOT_XML.sub("", text)


def rss(feed: Feed) -> bytes:
    root = ET.Element("rss", {"version": "2.0"})
    channel = _sub(root, "channel")
    _sub(channel, "title", feed.title)
    _sub(channel, "link", feed.link)
    _sub(channel, "description", feed.description)
    _sub(channel, f"{{{ATOM}}}link", href=feed.self_url, rel="self", type=RSS_TYPE.split(";")[0])
    _sub(channel, "lastBuildDate", format_datetime(feed.last_updated))
    _sub(channel, "generator", "dailypapers")
    for e in feed.entries:
        item = _sub(channel, "item")
        _sub(item, "title", e.title)
        _sub(item, "link", e.link)
        _sub(item, "guid", e.id, isPermaLink="true")
        _sub(item, "pubDate", format_datetime(e.published))
        _sub(item, "description", e.summary)
        if e.authors:
            _sub(item, f"{{{DC}}}creator", ", ".join(e.authors))
        for c in e.categories:
            _sub(item, "category", c)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _iso(when: dt.datetime) -> str:
    return when.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")


def atom(feed: Feed) -> bytes:
    a = str  # Atom elements are written unprefixed under xmlns= on the root
    root = ET.Element("feed", {"xmlns": ATOM})
    _sub(root, a("id"), feed.self_url)
    _sub(root, a("title"), feed.title)
    _sub(root, a("subtitle"), feed.description)
    _sub(root, a("updated"), _iso(feed.last_updated))
    _sub(root, a("link"), href=feed.link, rel="alternate", type="text/html")
    _sub(root, a("link"), href=feed.self_url, rel="self", type=ATOM_TYPE.split(";")[0])
    _sub(root, a("generator"), "dailypapers")
    author = _sub(root, a("author"))
    _sub(author, a("name"), "dailypapers")
    for e in feed.entries:
        entry = _sub(root, a("entry"))
        _sub(entry, a("id"), e.id)
        _sub(entry, a("title"), e.title)
        _sub(entry, a("link"), href=e.link, rel="alternate", type="text/html")
        _sub(entry, a("published"), _iso(e.published))
        _sub(entry, a("updated"), _iso(e.published))
        _sub(entry, a("summary"), e.summary, type="text")
        for name in e.authors:
            _sub(_sub(entry, a("author")), a("name"), name)
        for c in e.categories:
            _sub(entry, a("category"), term=c)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def render(feed: Feed, fmt: str) -> bytes:
    return rss(feed) if fmt == "rss" else atom(feed)
