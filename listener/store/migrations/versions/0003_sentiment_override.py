"""sentiment override: an agent's word on a mention's sentiment

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 18:45:00
"""

from alembic import op
import sqlalchemy as sa
import listener.store.types

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sentiment_overrides',
    sa.Column('mention_id', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=10), nullable=False),
    sa.Column('scored_label', sa.String(length=10), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('judged_at', listener.store.types.UTCDateTime(), nullable=False),
    sa.CheckConstraint("label IN ('positive', 'neutral', 'negative')", name=op.f('ck_sentiment_overrides_label')),
    sa.CheckConstraint("scored_label IN ('positive', 'neutral', 'negative')", name=op.f('ck_sentiment_overrides_scored_label')),
    sa.ForeignKeyConstraint(['mention_id'], ['mentions.id'], name=op.f('fk_sentiment_overrides_mention_id_mentions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_sentiment_overrides_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('mention_id', name=op.f('pk_sentiment_overrides'))
    )


def downgrade() -> None:
    op.drop_table('sentiment_overrides')
