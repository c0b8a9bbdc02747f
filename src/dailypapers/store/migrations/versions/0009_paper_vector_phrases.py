"""paper_vectors keep the key phrases computed with the vector (JSON list; NULL until computed)

Revision ID: 0009
Revises: 0008
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('paper_vectors') as batch:
        batch.add_column(sa.Column('phrases', sa.Text(), nullable=True))
    # every vector stored so far has no phrases: the backfill walks this index, empty once it is done
    op.create_index('ix_paper_vectors_no_phrases', 'paper_vectors', ['paper_id'],
                    sqlite_where=sa.text('phrases IS NULL'), postgresql_where=sa.text('phrases IS NULL'))


def downgrade() -> None:
    op.drop_index('ix_paper_vectors_no_phrases', table_name='paper_vectors')
    with op.batch_alter_table('paper_vectors') as batch:
        batch.drop_column('phrases')
