"""Pydantic models of the JSON API: the Hugging Face papers API's field names, plus documented extras.

Field names are camelCase on purpose: they are the wire format `huggingface_hub` reads.
Timestamps are strings in HF's form, `2025-03-14T00:00:00.000Z`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from dailypapers.web.params import JsonId


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
    upvotes: int = Field(0, description="Imported upvotes (the Hugging Face baseline) plus local members' votes.")
    numComments: int = 0
    githubRepo: str | None = None
    githubStars: int | None = None
    projectPage: str | None = None
    submittedOnDailyAt: str | None = None
    submittedOnDailyBy: UserOut | None = None
    importedUpvotes: int = Field(0, description="Upvotes imported with the paper's latest daily-list snapshot.")
    localUpvotes: int = Field(0, description="Upvotes cast by members of this site.")
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


class ExplanationOut(BaseModel):
    """Why a search result is there: its rank and score in each list and what fusion made of them."""

    mode: str
    matched_terms: list[str] = []
    keyword_rank: int | None = None
    keyword_score: float | None = None
    semantic_rank: int | None = None
    similarity: float | None = None
    keyword_contribution: float = 0.0
    semantic_contribution: float = 0.0
    keyword_weight: float | None = None
    semantic_weight: float | None = None
    rrf_k: int | None = None


class SearchResultOut(DailyPaperOut):
    """A search hit: the daily-list entry shape (so HF clients read it), plus the explanation."""

    score: float | None = None
    explanation: ExplanationOut | None = None
    notice: str | None = Field(None, description="Set when semantic search was unavailable and "
                                                 "keyword results were returned instead.")


class SimilarOut(BaseModel):
    paper: PaperOut
    similarity: float | None = Field(None, description="Cosine similarity of the two papers' embeddings.")
    source: str = Field(description="`vector` (nearest embeddings) or `keyword` (shared distinctive words).")


class ErrorOut(BaseModel):
    error: str = Field(description="What went wrong, in words.")
    status: int = Field(description="The HTTP status code, repeated.")


ERRORS: dict[int | str, dict[str, Any]] = {  # FastAPI's `responses=`
    400: {"model": ErrorOut, "description": "A malformed id, date, week, month or query, a date out of range, "
                                            "text with a control character, or too many query parameters."},
    401: {"model": ErrorOut, "description": "An `Authorization: Bearer dp_…` token that is unknown or revoked "
                                            "(read routes need none), or on a write a token that is not ours "
                                            "(an HF token; read routes ignore one)."},
    404: {"model": ErrorOut, "description": "No such paper."},
    413: {"model": ErrorOut, "description": "A request body over the size limit (`DAILYPAPERS_MAX_BODY_BYTES`)."},
    414: {"model": ErrorOut, "description": "A path and query string over the size limit "
                                            "(`DAILYPAPERS_MAX_URL_BYTES`)."},
    422: {"model": ErrorOut, "description": "A parameter of the wrong type or out of range."},
    429: {"model": ErrorOut, "description": "Rate limited; the `Retry-After` header gives the seconds to wait.",
          "headers": {"Retry-After": {"description": "Seconds to wait.", "required": True,
                                      "schema": {"type": "integer", "minimum": 1}}}},
}


class VoteOut(BaseModel):
    """The state of a member's vote after `POST /api/papers/{id}/vote`."""

    id: str
    upvoted: bool = Field(description="Whether the member now upvotes the paper.")
    upvotes: int = Field(description="Imported baseline plus local votes.")
    importedUpvotes: int
    localUpvotes: int


class VoteIn(BaseModel):
    upvoted: bool = Field(True, description="true to upvote, false to take the vote back (idempotent).")


class WhoAmIOut(BaseModel):
    user: str
    fullname: str
    role: str = Field(description="member, moderator or admin.")


class SubmitIn(BaseModel):
    id: str = Field(description="An arXiv id or arxiv.org URL.", max_length=200)


class CommentIn(BaseModel):
    body: str = Field(description="Markdown (sanitised on display; math is left as text).", max_length=10_000)
    parentId: JsonId = Field(None, description="Reply to this comment (threads are one level deep).")


class CommentOut(BaseModel):
    id: int
    paperId: str
    parentId: int | None = None
    author: str
    body: str
    createdAt: str | None = None
    editedAt: str | None = None
