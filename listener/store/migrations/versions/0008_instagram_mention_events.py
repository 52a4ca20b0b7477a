"""instagram_mention_events: Instagram @mention webhooks waiting for the worker

Revision ID: 0008
Revises: 0007
"""

from alembic import op
import sqlalchemy as sa
import listener.store.types

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('instagram_mention_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.String(length=100), nullable=False),
    sa.Column('media_id', sa.String(length=100), nullable=False),
    sa.Column('comment_id', sa.String(length=100), nullable=False),
    sa.Column('received_at', listener.store.types.UTCDateTime(), nullable=False),
    sa.Column('done_at', listener.store.types.UTCDateTime(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_instagram_mention_events')),
    sa.UniqueConstraint('media_id', 'comment_id', name=op.f('uq_instagram_mention_events_media_id'))
    )
    op.create_index('ix_instagram_mention_events_undone', 'instagram_mention_events', ['done_at', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_instagram_mention_events_undone', table_name='instagram_mention_events')
    op.drop_table('instagram_mention_events')
