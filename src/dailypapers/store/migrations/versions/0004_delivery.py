"""delivery: subscriptions, saved searches, not-interested marks, feed tokens, outbox, jobs

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        'subscriptions',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('pending_email', sa.String(length=254), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('frequency', sa.String(length=8), nullable=False),
        sa.Column('hour', sa.Integer(), nullable=False),
        sa.Column('weekday', sa.Integer(), nullable=False),
        sa.Column('timezone', sa.String(length=64), nullable=False),
        sa.Column('include_trending', sa.Boolean(), nullable=False),
        sa.Column('include_alerts', sa.Boolean(), nullable=False),
        sa.Column('include_recommendations', sa.Boolean(), nullable=False),
        sa.Column('key', sa.String(length=32), nullable=False),
        sa.Column('created_at', TS, nullable=False),
        sa.Column('updated_at', TS, nullable=False),
        sa.Column('confirmed_at', TS, nullable=True),
        sa.Column('unsubscribed_at', TS, nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('email', name='uq_subscriptions_email'),
        sa.UniqueConstraint('user_id', name='uq_subscriptions_user_id'),
    )
    op.create_index('ix_subscriptions_status', 'subscriptions', ['status'])
    op.create_table(
        'saved_searches',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('query', sa.Text(), nullable=False),
        sa.Column('mode', sa.String(length=16), nullable=False),
        sa.Column('author', sa.String(length=200), nullable=False),
        sa.Column('category', sa.String(length=64), nullable=False),
        sa.Column('alert', sa.Boolean(), nullable=False),
        sa.Column('feed_token', sa.String(length=64), nullable=False),
        sa.Column('created_at', TS, nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('feed_token', name='uq_saved_searches_feed_token'),
    )
    op.create_index('ix_saved_searches_user_id', 'saved_searches', ['user_id'])
    op.create_table(
        'not_interested',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('paper_id', sa.String(length=64), nullable=False),
        sa.Column('created_at', TS, nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['paper_id'], ['papers.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id', 'paper_id'),
    )
    op.create_table(
        'feed_tokens',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('token', sa.String(length=64), nullable=False),
        sa.Column('created_at', TS, nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id'),
        sa.UniqueConstraint('token', name='uq_feed_tokens_token'),
    )
    op.create_table(
        'outbox',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('dedupe_key', sa.String(length=200), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('subscription_id', sa.Integer(), nullable=True),
        sa.Column('period_start', sa.Date(), nullable=True),
        sa.Column('to_addr', sa.String(length=254), nullable=False),
        sa.Column('subject', sa.Text(), nullable=False),
        sa.Column('message_id', sa.String(length=255), nullable=False),
        sa.Column('message', sa.LargeBinary(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', TS, nullable=False),
        sa.Column('claimed_by', sa.String(length=64), nullable=True),
        sa.Column('claimed_until', TS, nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('created_at', TS, nullable=False),
        sa.Column('sent_at', TS, nullable=True),
        sa.ForeignKeyConstraint(['subscription_id'], ['subscriptions.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('dedupe_key', name='uq_outbox_dedupe_key'),
    )
    op.create_index('ix_outbox_due', 'outbox', ['status', 'next_attempt_at'])
    op.create_index('ix_outbox_subscription_id', 'outbox', ['subscription_id'])
    op.create_table(
        'outbox_attempts',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('outbox_id', sa.Integer(), nullable=False),
        sa.Column('attempt', sa.Integer(), nullable=False),
        sa.Column('worker', sa.String(length=64), nullable=False),
        sa.Column('started_at', TS, nullable=False),
        sa.Column('finished_at', TS, nullable=True),
        sa.Column('outcome', sa.String(length=16), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['outbox_id'], ['outbox.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_outbox_attempts_outbox_id', 'outbox_attempts', ['outbox_id'])
    op.create_table(
        'digest_items',
        sa.Column('outbox_id', sa.Integer(), nullable=False),
        sa.Column('paper_id', sa.String(length=64), nullable=False),
        sa.Column('section', sa.String(length=16), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['outbox_id'], ['outbox.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('outbox_id', 'paper_id'),
    )
    op.create_table(
        'jobs',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('payload', sa.Text(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('run_at', TS, nullable=False),
        sa.Column('interval_s', sa.Integer(), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('claimed_by', sa.String(length=64), nullable=True),
        sa.Column('lease_until', TS, nullable=True),
        sa.Column('created_at', TS, nullable=False),
        sa.Column('started_at', TS, nullable=True),
        sa.Column('finished_at', TS, nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('key', name='uq_jobs_key'),
    )
    op.create_index('ix_jobs_due', 'jobs', ['status', 'run_at'])
    op.create_table(
        'job_runs',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('job_id', sa.Integer(), nullable=False),
        sa.Column('scheduled_for', TS, nullable=False),
        sa.Column('worker', sa.String(length=64), nullable=False),
        sa.Column('started_at', TS, nullable=False),
        sa.Column('finished_at', TS, nullable=True),
        sa.Column('outcome', sa.String(length=16), nullable=True),
        sa.Column('detail', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_job_runs_job_id', 'job_runs', ['job_id'])


def downgrade() -> None:
    for table in ('job_runs', 'jobs', 'digest_items', 'outbox_attempts', 'outbox', 'feed_tokens',
                  'not_interested', 'saved_searches', 'subscriptions'):
        op.drop_table(table)
