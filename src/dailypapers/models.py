"""Plain records shared by every layer: sources produce them, the store keeps them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

LINK_KINDS = ("github", "project", "hf_model", "hf_dataset", "hf_space", "code")


@dataclass(frozen=True)
class Author:
    name: str
    affiliation: str | None = None


@dataclass(frozen=True)
class Version:
    version: int
    submitted: dt.datetime | None = None
    size: str | None = None


@dataclass(frozen=True)
class Link:
    """A URL attached to a paper. `kind` is one of LINK_KINDS; `source` says where it was found."""

    kind: str
    url: str
    source: str
    stars: int | None = None


@dataclass
class Paper:
    """One arXiv paper. `arxiv_id` never carries a version; `version` is the latest known."""

    arxiv_id: str
    title: str
    abstract: str = ""
    authors: list[Author] = field(default_factory=list)
    version: int | None = None
    versions: list[Version] = field(default_factory=list)
    primary_category: str | None = None
    categories: list[str] = field(default_factory=list)
    published: dt.datetime | None = None
    updated: dt.datetime | None = None
    comments: str | None = None
    journal_ref: str | None = None
    doi: str | None = None
    license: str | None = None
    links: list[Link] = field(default_factory=list)


@dataclass
class Submitter:
    user: str
    fullname: str | None = None
    avatar_url: str | None = None


@dataclass
class DailyEntry:
    """A paper listed on a day's page, with the community figures of its latest snapshot.

    `published_at` is the entry's own `publishedAt` (HF orders a day by upvotes, then by it,
    newest first). `source_json` is the entry as its source gave it (an HF daily-papers entry,
    JSON text): the API serves it whole, fields this model does not name included."""

    arxiv_id: str
    date: dt.date
    upvotes: int = 0
    num_comments: int = 0
    github_stars: int | None = None
    submitted_by: Submitter | None = None
    submitted_at: dt.datetime | None = None
    media_url: str | None = None
    published_at: dt.datetime | None = None
    source_json: str | None = None


@dataclass
class Record:
    """What a parser yields: a paper, optionally with its daily-list entry, and where it came from."""

    paper: Paper
    daily: DailyEntry | None = None
    line: int | None = None
    digest: bytes | None = None  # of the input line, when the importer skips lines it has seen (store.seen)
