"""Pydantic models of the JSON API: the Hugging Face papers API's field names, plus documented extras.

Field names are camelCase on purpose: they are the wire format `huggingface_hub` reads.
Timestamps are strings in HF's form, `2025-03-14T00:00:00.000Z`.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class AuthorOut(BaseModel):
    name: str
    hidden: bool = False


class UserOut(BaseModel):
    """Who put a paper on the daily list."""

    user: str = Field(description="User name (unique).")
    name: str
    fullname: str
    avatarUrl: str = ""
    type: str = "user"


class LinkOut(BaseModel):
    kind: str = Field(description="github, project, hf_model, hf_dataset, hf_space or code.")
    url: str
    source: str = Field(description="Where the link was found (e.g. hf, abstract, comments).")
    stars: int | None = None


class VersionOut(BaseModel):
    version: int
    submittedAt: str | None = None
    size: str | None = None


class PaperOut(BaseModel):
    """A paper, as `GET /api/papers/{id}` returns it (HF fields first, then extras)."""

    id: str = Field(description="arXiv identifier without version, e.g. 2405.15738 or hep-th/9901001.")
    authors: list[AuthorOut]
    publishedAt: str | None = Field(None, description="First submission to arXiv.")
    title: str
    summary: str = Field(description="The abstract.")
    upvotes: int = Field(0, description="Upvotes of the latest daily-list snapshot.")
    numComments: int = 0
    githubRepo: str | None = None
    githubStars: int | None = None
    projectPage: str | None = None
    submittedOnDailyAt: str | None = None
    submittedOnDailyBy: UserOut | None = None
    version: int | None = Field(None, description="Latest known arXiv version.")
    updatedAt: str | None = None
    primaryCategory: str | None = None
    categories: list[str] = []
    arxivComments: str | None = Field(None, description="The arXiv comments field (pages, venue...).")
    journalRef: str | None = None
    doi: str | None = None
    license: str | None = None
    links: list[LinkOut] = []
    versions: list[VersionOut] = []


class DailyPaperOut(BaseModel):
    """One entry of the daily list (and of search results): the paper nested, as HF returns it."""

    paper: PaperOut
    publishedAt: str | None = None
    title: str
    summary: str
    mediaUrl: str | None = None
    numComments: int = 0
    submittedBy: UserOut | None = None
    isAuthorParticipating: bool = False


class ErrorOut(BaseModel):
    error: str = Field(description="What went wrong, in words.")
    status: int = Field(description="The HTTP status code, repeated.")


ERRORS = {
    400: {"model": ErrorOut, "description": "A malformed id, date, week, month or query."},
    404: {"model": ErrorOut, "description": "No such paper."},
    422: {"model": ErrorOut, "description": "A parameter of the wrong type or out of range."},
}
