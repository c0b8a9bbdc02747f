"""Pydantic models of the JSON API: the Hugging Face papers API's field names, plus documented extras.

Field names are camelCase on purpose: they are the wire format `huggingface_hub` reads.
Timestamps are strings in HF's form, `2025-03-14T00:00:00.000Z`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from dailypapers.web.params import JsonId


class UserOut(BaseModel):
    """A Hugging Face user, as HF gives one (who put a paper on the daily list, a claimed author)."""

    id_: str | None = Field(None, alias="_id", description="HF's id for the user.")
    user: str | None = Field(None, description="User name (unique); older HF entries give it as `name` only.")
    name: str | None = None
    fullname: str | None = None
    avatarUrl: str | None = None
    type: str | None = Field(None, description="user or org.")
    isPro: bool | None = None
    isHf: bool | None = None
    isMod: bool | None = None
    followerCount: int | None = None


class AuthorOut(BaseModel):
    id_: str | None = Field(None, alias="_id", description="HF's id for the author entry.")
    name: str
    hidden: bool | None = None
    user: UserOut | None = Field(None, description="The HF member who claimed the authorship.")
    status: str | None = Field(None, description="How the claim stands on HF (e.g. claimed_verified).")
    statusLastChangedAt: str | None = None


class OrganizationOut(BaseModel):
    id_: str | None = Field(None, alias="_id")
    name: str | None = None
    fullname: str | None = None
    avatar: str | None = None


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
    """A paper, as `GET /api/papers/{id}` returns it: HF's fields, then our extras.

    A paper imported from Hugging Face carries every field HF gave (fields not named here too);
    a field we do not hold is absent, as on HF, never null."""

    id: str = Field(description="arXiv identifier without version, e.g. 2405.15738 or hep-th/9901001.")
    authors: list[AuthorOut]
    publishedAt: str | None = Field(None, description="First submission to arXiv.")
    title: str
    summary: str = Field(description="The abstract, as the source gave it.")
    upvotes: int = Field(0, description="Imported upvotes (the Hugging Face baseline) plus local members' votes.")
    numComments: int = Field(0, description="Imported (HF) comments plus local ones.")
    discussionId: str | None = None
    githubRepo: str | None = None
    githubRepoAddedBy: str | None = None
    githubStars: int | None = None
    projectPage: str | None = None
    mediaUrls: list[str] | None = None
    organization: OrganizationOut | None = None
    ai_summary: str | None = Field(None, description="HF's AI summary, where the source has one.")
    ai_keywords: list[str] | None = None
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


class RepoOut(BaseModel):
    """A Hugging Face repository a paper links to."""

    id: str = Field(description="owner/name (or a legacy single name).")
    author: str | None = None
    url: str
    source: str = Field(description="Where the link was found (hf, abstract, comments).")


class PaperInfoOut(PaperOut):
    """`GET /api/papers/{id}`: the paper with its linked Hugging Face repositories (paper_info)."""

    linkedModels: list[RepoOut] = []
    numTotalModels: int = 0
    linkedDatasets: list[RepoOut] = []
    numTotalDatasets: int = 0
    linkedSpaces: list[RepoOut] = []
    numTotalSpaces: int = 0


class LinkedReposOut(BaseModel):
    """`GET /api/arxiv/{id}/repos`: empty lists when the paper's sources link to none."""

    models: list[RepoOut] = []
    datasets: list[RepoOut] = []
    spaces: list[RepoOut] = []


class DailyPaperOut(BaseModel):
    """One entry of the daily list (and of search results): the paper nested, as HF returns it.

    An entry imported from Hugging Face carries every field HF gave; a field we do not hold is
    absent, never null."""

    paper: PaperOut
    publishedAt: str | None = None
    title: str
    summary: str | None = Field(None, description="The abstract (older HF entries have it on the paper only).")
    thumbnail: str | None = None
    mediaUrl: str | None = None
    mediaUrls: list[str] | None = None
    numComments: int = 0
    submittedBy: UserOut | None = None
    organization: OrganizationOut | None = None
    submitterOrganization: OrganizationOut | None = None
    isAuthorParticipating: bool | None = None


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
    rrf_k: int | None = Field(None, description="Unused since hybrid fusion is a weighted sum of normalised scores.")
    every_word: bool = Field(False, description="Hybrid: the paper has every word of the query and is listed "
                                                "with those first (search/hybrid.py's literal tiers).")
    stands_out: bool = Field(False, description="Hybrid: the keyword match that stands out, listed first.")


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
    400: {"model": ErrorOut, "description": "A malformed id, date, week, month or query, a date out of range or "
                                            "in the future, a query or path parameter of the wrong type or out "
                                            "of range, text with a control character, or too many query "
                                            "parameters."},
    401: {"model": ErrorOut, "description": "An `Authorization: Bearer dp_…` token that is unknown or revoked "
                                            "(read routes need none), or on a write a token that is not ours "
                                            "(an HF token; read routes ignore one)."},
    404: {"model": ErrorOut, "description": "No such paper."},
    413: {"model": ErrorOut, "description": "A request body over the size limit (`DAILYPAPERS_MAX_BODY_BYTES`)."},
    414: {"model": ErrorOut, "description": "A path and query string over the size limit "
                                            "(`DAILYPAPERS_MAX_URL_BYTES`)."},
    422: {"model": ErrorOut, "description": "A JSON body field of the wrong type or out of range."},
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
