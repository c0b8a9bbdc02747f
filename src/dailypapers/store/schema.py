"""Table definitions: the single description of the schema that queries and migrations share."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
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
    Column("published_at", DateTime(timezone=True)),  # the entry's own publishedAt (HF's tie-break)
    Column("source_json", Text),  # the entry as its source gave it (HF's JSON), served whole by the API
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


# =============================================================================================
# Community (migration 0003): accounts, votes, submissions, comments, collections, follows.
# Imported Hugging Face upvotes stay in daily_entries.upvotes (the baseline); local votes are
# rows in `votes`, one per member and paper, counted on read, so counts are exact by construction.
# =============================================================================================

users = Table(
    "users", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("email", String(254), nullable=False),  # lower-cased
    Column("username", String(64), nullable=False),  # [a-z0-9_-], shown as "submitted by"
    Column("display_name", Text, nullable=False, default=""),
    Column("password_hash", Text, nullable=False),
    Column("role", String(16), nullable=False, default="member"),  # member | moderator | admin
    Column("session_version", Integer, nullable=False, default=1),  # bumped to sign out everywhere
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("email", name="uq_users_email"),
    UniqueConstraint("username", name="uq_users_username"),
)

password_resets = Table(
    "password_resets", metadata,
    Column("token_hash", String(64), primary_key=True),  # sha256 of the emailed token
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True)),
    Index("ix_password_resets_user_id", "user_id"),
)

api_tokens = Table(
    "api_tokens", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("name", Text, nullable=False),
    Column("token_hash", String(64), nullable=False),  # sha256 of the token; the token is shown once
    Column("prefix", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_used_at", DateTime(timezone=True)),
    UniqueConstraint("token_hash", name="uq_api_tokens_token_hash"),
    Index("ix_api_tokens_user_id", "user_id"),
)

votes = Table(
    "votes", metadata,
    Column("paper_id", String(64), ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_votes_user_id", "user_id", "created_at"),
    Index("ix_votes_created_at", "created_at"),
)

submissions = Table(
    "submissions", metadata,
    Column("paper_id", String(64), ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),  # once per paper
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("date", Date, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_submissions_user_id", "user_id"),
)

comments = Table(
    "comments", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("paper_id", String(64), ForeignKey("papers.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("parent_id", Integer, ForeignKey("comments.id", ondelete="CASCADE")),  # one level deep
    Column("body", Text, nullable=False),  # Markdown source; rendered and sanitised on display
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("edited_at", DateTime(timezone=True)),
    Column("deleted_at", DateTime(timezone=True)),
    Column("hidden_at", DateTime(timezone=True)),
    Column("hidden_by", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Index("ix_comments_paper_id", "paper_id", "created_at"),
    Index("ix_comments_user_id", "user_id"),
)

collections = Table(
    "collections", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("is_public", Boolean, nullable=False, default=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_collections_user_id", "user_id"),
)

collection_items = Table(
    "collection_items", metadata,
    Column("collection_id", Integer, ForeignKey("collections.id", ondelete="CASCADE"), primary_key=True),
    Column("paper_id", String(64), ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
    Column("added_at", DateTime(timezone=True), nullable=False),
)

follows = Table(
    "follows", metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("kind", String(16), primary_key=True),  # author (an author name key) | category
    Column("target", String(255), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_follows_target", "kind", "target"),
)

# One vector per paper: the embedding of `title + ". " + abstract` (see store/vectors.py), as
# little-endian float32 bytes, tagged with the model that made it and the sha1 of the text.
paper_vectors = Table(
    "paper_vectors", metadata,
    Column("paper_id", String(64), ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
    Column("model", String(128), nullable=False),
    Column("dim", Integer, nullable=False),
    Column("vector", LargeBinary, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("embedded_at", DateTime(timezone=True), nullable=False),
    # the paper's key phrases (JSON list of strings, migration 0009), computed from this vector when
    # it is stored and replaced with it; NULL until computed (a backfill fills it)
    Column("phrases", Text, nullable=True),
    # the vectors still without phrases, for the backfill (empty once it is done, so finding none is instant)
    Index("ix_paper_vectors_no_phrases", "paper_id", sqlite_where=text("phrases IS NULL"),
          postgresql_where=text("phrases IS NULL")),
)


# =============================================================================================
# Delivery (migration 0004): subscriptions, saved searches, "not interested" marks, feed
# tokens, the outbox with its attempts, and the jobs table the workers share.
#
# Exactly once: a digest's outbox row carries dedupe_key "digest:<subscription>:<period start>"
# (unique), so building a period's digest twice cannot queue a second message; a job's key is
# unique in the same way. Claims (outbox rows, jobs) are a conditional UPDATE that sets
# claimed_by and a lease; on PostgreSQL the candidate rows are picked FOR UPDATE SKIP LOCKED.
# =============================================================================================

subscriptions = Table(
    "subscriptions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE")),  # NULL: address only
    Column("email", String(254), nullable=False),  # lower-cased; members: their account address
    Column("pending_email", String(254)),  # a new address waiting for its confirmation
    Column("status", String(16), nullable=False),  # pending | active | unsubscribed
    Column("frequency", String(8), nullable=False),  # daily | weekly
    Column("hour", Integer, nullable=False),  # 0-23, local time
    Column("weekday", Integer, nullable=False, default=0),  # 0 = Monday (weekly digests)
    Column("timezone", String(64), nullable=False),  # IANA name, e.g. Europe/Paris
    Column("include_trending", Boolean, nullable=False, default=True),
    Column("include_alerts", Boolean, nullable=False, default=True),
    Column("include_recommendations", Boolean, nullable=False, default=True),
    Column("key", String(32), nullable=False),  # random; part of every signed link of this subscription
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("confirmed_at", DateTime(timezone=True)),
    Column("unsubscribed_at", DateTime(timezone=True)),
    UniqueConstraint("email", name="uq_subscriptions_email"),
    UniqueConstraint("user_id", name="uq_subscriptions_user_id"),
    Index("ix_subscriptions_status", "status"),
)

saved_searches = Table(
    "saved_searches", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("query", Text, nullable=False, default=""),
    Column("mode", String(16), nullable=False, default="keyword"),  # keyword | semantic | hybrid
    Column("author", String(200), nullable=False, default=""),
    Column("category", String(64), nullable=False, default=""),
    Column("alert", Boolean, nullable=False, default=True),  # matches go into the member's digest
    Column("feed_token", String(64), nullable=False),  # the private token in the search's feed URL
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("feed_token", name="uq_saved_searches_feed_token"),
    Index("ix_saved_searches_user_id", "user_id"),
)

not_interested = Table(
    "not_interested", metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("paper_id", String(64), ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

feed_tokens = Table(
    "feed_tokens", metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("token", String(64), nullable=False),  # the private token of the member's recommendations feed
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("token", name="uq_feed_tokens_token"),
)

outbox = Table(
    "outbox", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("dedupe_key", String(200), nullable=False),  # digest:<sid>:<period> | confirm:<sid>:<nonce>
    Column("kind", String(16), nullable=False),  # digest | confirm
    Column("subscription_id", Integer, ForeignKey("subscriptions.id", ondelete="SET NULL")),
    Column("period_start", Date),
    Column("to_addr", String(254), nullable=False),
    Column("subject", Text, nullable=False),
    Column("message_id", String(255), nullable=False),  # the Message-ID inside `message`
    Column("message", LargeBinary, nullable=False),  # the whole rendered RFC 5322 message
    Column("status", String(16), nullable=False),  # queued | sent | failed | cancelled
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("claimed_by", String(64)),
    Column("claimed_until", DateTime(timezone=True)),
    Column("last_error", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True)),
    UniqueConstraint("dedupe_key", name="uq_outbox_dedupe_key"),
    Index("ix_outbox_due", "status", "next_attempt_at"),
    Index("ix_outbox_subscription_id", "subscription_id"),
)

outbox_attempts = Table(
    "outbox_attempts", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("outbox_id", Integer, ForeignKey("outbox.id", ondelete="CASCADE"), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("worker", String(64), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),  # NULL: the worker died during this attempt
    Column("outcome", String(16)),  # sent | retry | failed | cancelled | logged
    Column("error", Text),
    Index("ix_outbox_attempts_outbox_id", "outbox_id"),
)

digest_items = Table(
    "digest_items", metadata,
    Column("outbox_id", Integer, ForeignKey("outbox.id", ondelete="CASCADE"), primary_key=True),
    Column("paper_id", String(64), primary_key=True),
    Column("section", String(16), nullable=False),  # trending | alerts | recommended
    Column("position", Integer, nullable=False),  # order within the message
)

jobs = Table(
    "jobs", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(200), nullable=False),  # harvest:cs | index | digest:<sid>:<period> ...
    Column("kind", String(32), nullable=False),
    Column("payload", Text, nullable=False, default="{}"),  # JSON
    Column("status", String(16), nullable=False),  # queued | done | failed
    Column("run_at", DateTime(timezone=True), nullable=False),
    Column("interval_s", Integer),  # recurring jobs: seconds between runs; NULL: run once
    Column("attempts", Integer, nullable=False, default=0),
    Column("claimed_by", String(64)),
    Column("lease_until", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("started_at", DateTime(timezone=True)),
    Column("finished_at", DateTime(timezone=True)),
    Column("last_error", Text),
    UniqueConstraint("key", name="uq_jobs_key"),
    Index("ix_jobs_due", "status", "run_at"),
)

job_runs = Table(
    "job_runs", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job_id", Integer, ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False),
    Column("scheduled_for", DateTime(timezone=True), nullable=False),  # the run_at this run served
    Column("worker", String(64), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),  # NULL: running, or the worker died
    Column("outcome", String(16)),  # ok | error | lost
    Column("detail", Text),
    Index("ix_job_runs_job_id", "job_id"),
)

# Rate-limit counters shared by every web process (store/ratelimits.py): one row per
# (limiter:hashed key, fixed window); rows past `expires_at` (epoch seconds) are deleted.
seen_records = Table(  # migration 0006: the input lines imports applied (ingest/seen_lines.py)
    "seen_records", metadata,
    Column("digest", LargeBinary(16), primary_key=True),  # blake2b of parser code, format and line
    Column("paper_id", String(64), nullable=False),
)

rate_limits = Table(
    "rate_limits", metadata,
    Column("key", String(80), primary_key=True),  # "<limiter>:<HMAC of the address, token or email>"
    Column("window_start", BigInteger, primary_key=True, autoincrement=False),  # epoch s, a multiple of the window
    Column("hits", Integer, nullable=False),
    Column("expires_at", BigInteger, nullable=False),  # epoch seconds: two windows after window_start
    Index("ix_rate_limits_expires_at", "expires_at"),
)

# -- migration 0007: account security (issue 14) -------------------------------------------------

# Signed-in browser sessions, one row each: the cookie holds a random id, the row its SHA-256, so
# signing out (or out everywhere) ends a session on every node at once (web/sessions.py).
sessions = Table(
    "sessions", metadata,
    Column("id", String(64), primary_key=True),  # sha256 of the id in the cookie
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("seen_at", DateTime(timezone=True), nullable=False),  # refreshed at most hourly (sliding expiry)
    Index("ix_sessions_user_id", "user_id"),
)

# One-time sign-in links mailed to a member (past a sign-in lockout): only the SHA-256 is kept.
signin_links = Table(
    "signin_links", metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True)),
    Index("ix_signin_links_user_id", "user_id"),
)

# Sign-ups waiting for their address to be confirmed (the account is made when the mailed link
# is opened, so the sign-up form answers the same whether or not the address has an account).
pending_signups = Table(
    "pending_signups", metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("email", String(254), nullable=False),
    Column("username", String(64), nullable=False),
    Column("display_name", Text, nullable=False, default=""),
    Column("password_hash", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True)),
    Index("ix_pending_signups_expires_at", "expires_at"),
)

# User names are unique whatever their case, and compared with imported submitters' the same way.
Index("uq_users_username_lower", func.lower(users.c.username), unique=True)
Index("ix_daily_entries_submitted_by_lower", func.lower(daily_entries.c.submitted_by))

# -- migration 0010: full text and thumbnails (issue 15) ---------------------------------------

# One row per paper whose PDF the worker has tried (ingest/fulltext/job.py): the outcome, the text set
# out in paragraphs (blank-line separated) and the first page as a small WebP. `status` is ok,
# or why there is no text: missing, not_pdf, too_large, corrupt (final), unreachable (tried
# again at next_attempt_at, a bounded number of times) or failed (unreachable too often).
paper_fulltext = Table(
    "paper_fulltext", metadata,
    Column("paper_id", String(64), ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", DateTime(timezone=True)),
    Column("detail", Text),  # the last failure, one line
    Column("body", Text),  # the full text, paragraphs separated by a blank line
    Column("pages", Integer),
    Column("thumbnail", LargeBinary),
    Column("thumbnail_type", String(32)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_paper_fulltext_status", "status", "next_attempt_at"),
)
