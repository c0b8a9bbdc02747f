"""seen_records: the input lines imports applied, so a re-import skips them unparsed

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'seen_records',
        sa.Column('digest', sa.LargeBinary(length=16), nullable=False),
        sa.Column('paper_id', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('digest'),
    )


def downgrade() -> None:
    op.drop_table('seen_records')
