"""daily_entries keep the source's entry whole: its own publishedAt (HF's tie-break) and its JSON

Revision ID: 0008
Revises: 0007
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('daily_entries') as batch:
        batch.add_column(sa.Column('published_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('source_json', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('daily_entries') as batch:
        batch.drop_column('source_json')
        batch.drop_column('published_at')
