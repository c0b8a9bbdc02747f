"""content_marks: one counter the database moves on every write to votes, comments and
submissions, so the pages' content version is two indexed reads instead of counts and scans of
the community's tables on every request (store/changes.content_version, issue 16).

Triggers, not application code, move it: no write path can forget. The row is created by the
first write (an upsert), so a freshly migrated database holds no rows (`migrate --to` requires an
empty target). A later migration that rebuilds votes, comments or submissions on SQLite (batch
mode copies the table) must create these triggers again.

Revision ID: 0011
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

TABLES = ('votes', 'comments', 'submissions')
EVENTS = ('INSERT', 'UPDATE', 'DELETE')
BUMP = ("INSERT INTO content_marks (id, seq) VALUES (1, 1) "
        "ON CONFLICT (id) DO UPDATE SET seq = content_marks.seq + 1")


def upgrade() -> None:
    op.create_table(
        'content_marks',
        sa.Column('id', sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column('seq', sa.BigInteger(), nullable=False),
    )
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f"CREATE FUNCTION bump_content_marks() RETURNS trigger LANGUAGE plpgsql AS $$ "
                   f"BEGIN {BUMP}; RETURN NULL; END $$")
        for table in TABLES:
            op.execute(f"CREATE TRIGGER {table}_content_marks AFTER INSERT OR UPDATE OR DELETE ON {table} "
                       f"FOR EACH STATEMENT EXECUTE FUNCTION bump_content_marks()")
        return
    for table in TABLES:
        for event in EVENTS:
            op.execute(f"CREATE TRIGGER {table}_content_marks_{event.lower()} AFTER {event} ON {table} "
                       f"BEGIN {BUMP}; END")


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        for table in TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_content_marks ON {table}")
        op.execute("DROP FUNCTION IF EXISTS bump_content_marks()")
    else:
        for table in TABLES:
            for event in EVENTS:
                op.execute(f"DROP TRIGGER IF EXISTS {table}_content_marks_{event.lower()}")
    op.drop_table('content_marks')
