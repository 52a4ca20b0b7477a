"""inbox: tags on queue items (notes reuse the notes table); full-text search over posts

Revision ID: 0007
Revises: 0005
"""

from alembic import op
import sqlalchemy as sa
import listener.store.types
from listener.queue import search

revision = '0007'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('item_tags',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('queue_item_id', sa.Integer(), nullable=False),
    sa.Column('tag', sa.String(length=40), nullable=False),
    sa.Column('added_by_id', sa.Integer(), nullable=True),
    sa.Column('added_at', listener.store.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['added_by_id'], ['users.id'], name=op.f('fk_item_tags_added_by_id_users')),
    sa.ForeignKeyConstraint(['queue_item_id'], ['queue_items.id'], name=op.f('fk_item_tags_queue_item_id_queue_items'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_item_tags')),
    sa.UniqueConstraint('queue_item_id', 'tag', name=op.f('uq_item_tags_queue_item_id'))
    )
    with op.batch_alter_table('item_tags', schema=None) as batch_op:
        batch_op.create_index('ix_item_tags_tag', ['tag'], unique=False)
    statements = search.SQLITE_DDL if op.get_bind().dialect.name == 'sqlite' else search.POSTGRES_DDL
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    statements = search.SQLITE_DROP if op.get_bind().dialect.name == 'sqlite' else search.POSTGRES_DROP
    for statement in statements:
        op.execute(statement)
    with op.batch_alter_table('item_tags', schema=None) as batch_op:
        batch_op.drop_index('ix_item_tags_tag')
    op.drop_table('item_tags')
