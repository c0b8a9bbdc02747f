"""account security: server-side sessions, sign-in links, pending sign-ups, case-insensitive names

Revision ID: 0007
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def _when(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        'sessions',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        _when('created_at'), _when('seen_at'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_sessions_user_id', 'sessions', ['user_id'])
    op.create_table(
        'signin_links',
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        _when('created_at'), _when('expires_at'), _when('used_at', nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('token_hash'),
    )
    op.create_index('ix_signin_links_user_id', 'signin_links', ['user_id'])
    op.create_table(
        'pending_signups',
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('username', sa.String(length=64), nullable=False),
        sa.Column('display_name', sa.Text(), nullable=False),
        sa.Column('password_hash', sa.Text(), nullable=False),
        _when('created_at'), _when('expires_at'), _when('used_at', nullable=True),
        sa.PrimaryKeyConstraint('token_hash'),
    )
    op.create_index('ix_pending_signups_expires_at', 'pending_signups', ['expires_at'])
    # user names were always stored lower-cased; the index makes that a rule of the database
    op.create_index('uq_users_username_lower', 'users', [sa.text('lower(username)')], unique=True)
    op.create_index('ix_daily_entries_submitted_by_lower', 'daily_entries', [sa.text('lower(submitted_by)')])


def downgrade() -> None:
    op.drop_index('ix_daily_entries_submitted_by_lower', table_name='daily_entries')
    op.drop_index('uq_users_username_lower', table_name='users')
    op.drop_index('ix_pending_signups_expires_at', table_name='pending_signups')
    op.drop_table('pending_signups')
    op.drop_index('ix_signin_links_user_id', table_name='signin_links')
    op.drop_table('signin_links')
    op.drop_index('ix_sessions_user_id', table_name='sessions')
    op.drop_table('sessions')
