"""paper_fulltext: each paper's extracted full text and first-page thumbnail, or why it has none

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'paper_fulltext',
        sa.Column('paper_id', sa.String(64), sa.ForeignKey('papers.id', ondelete='CASCADE'), primary_key=True),
        sa.Column('status', sa.String(16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(timezone=True)),
        sa.Column('detail', sa.Text()),
        sa.Column('body', sa.Text()),
        sa.Column('pages', sa.Integer()),
        sa.Column('thumbnail', sa.LargeBinary()),
        sa.Column('thumbnail_type', sa.String(32)),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index('ix_paper_fulltext_status', 'paper_fulltext', ['status', 'next_attempt_at'])


def downgrade() -> None:
    op.drop_index('ix_paper_fulltext_status', table_name='paper_fulltext')
    op.drop_table('paper_fulltext')
