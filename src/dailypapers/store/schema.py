"""Table definitions: the single description of the schema that queries and migrations share."""

from __future__ import annotations

from sqlalchemy import (
    Column, Date, DateTime, ForeignKey, Index, Integer, MetaData, String, Table, Text,
    UniqueConstraint,
)

metadata = MetaData()

papers = Table(
    "papers", metadata,
    Column("id", String(64), primary_key=True),
    Column("version", Integer),
    Column("title", Text, nullable=False),
    Column("abstract", Text, nullable=False, default=""),
    Column("primary_category", String(64)),
    Column("published", DateTime(timezone=True)),
    Column("updated", DateTime(timezone=True)),
    Column("comments", Text),
    Column("journal_ref", Text),
    Column("doi", Text),
    Column("license", Text),
    Column("imported_at", DateTime(timezone=True), nullable=False),
    Index("ix_papers_published", "published"),
)

paper_authors = Table(
    "paper_authors", metadata,
    Column("paper_id", String(64), ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("name", Text, nullable=False),
    Column("name_key", String(255), nullable=False),
    Column("affiliation", Text),
    Index("ix_paper_authors_name_key", "name_key"),
)

paper_categories = Table(
    "paper_categories", metadata,
    Column("paper_id", String(64), ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
    Column("category", String(64), primary_key=True),
    Column("position", Integer, nullable=False),
    Index("ix_paper_categories_category", "category"),
)

paper_versions = Table(
    "paper_versions", metadata,
    Column("paper_id", String(64), ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("submitted", DateTime(timezone=True)),
    Column("size", String(32)),
)

paper_links = Table(
    "paper_links", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("paper_id", String(64), ForeignKey("papers.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("url", Text, nullable=False),
    Column("source", String(32), nullable=False),
    Column("stars", Integer),
    UniqueConstraint("paper_id", "url", name="uq_paper_links_paper_url"),
)

daily_entries = Table(
    "daily_entries", metadata,
    Column("paper_id", String(64), ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
    Column("date", Date, primary_key=True),
    Column("upvotes", Integer, nullable=False, default=0),
    Column("num_comments", Integer, nullable=False, default=0),
    Column("github_stars", Integer),
    Column("submitted_by", String(128)),
    Column("submitted_by_name", Text),
    Column("submitted_by_avatar", Text),
    Column("submitted_at", DateTime(timezone=True)),
    Column("media_url", Text),
    Index("ix_daily_entries_date", "date"),
    Index("ix_daily_entries_submitted_by", "submitted_by"),
)

# Every write to a paper appends a row here; search indexes follow this sequence.
paper_changes = Table(
    "paper_changes", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("paper_id", String(64), nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False),
    Index("ix_paper_changes_paper_id", "paper_id"),
)

checkpoints = Table(
    "checkpoints", metadata,
    Column("name", String(255), primary_key=True),
    Column("state", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
