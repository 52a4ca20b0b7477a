"""inbox: tags on queue items (notes reuse the notes table); full-text search over posts

Revision ID: 0007
Revises: 0006
"""

from alembic import op
import sqlalchemy as sa
import listener.store.types

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

# Written out here, not read from listener.queue.search: a migration must do the same thing forever.
SQLITE_DDL = (
    "CREATE VIRTUAL TABLE mentions_fts USING fts5(text, content='mentions', content_rowid='id', "
    "tokenize='porter unicode61 remove_diacritics 2')",
    "CREATE TRIGGER mentions_fts_insert AFTER INSERT ON mentions BEGIN "
    "INSERT INTO mentions_fts(rowid, text) VALUES (new.id, new.text); END",
    "CREATE TRIGGER mentions_fts_delete AFTER DELETE ON mentions BEGIN "
    "INSERT INTO mentions_fts(mentions_fts, rowid, text) VALUES ('delete', old.id, old.text); END",
    "CREATE TRIGGER mentions_fts_update AFTER UPDATE OF text ON mentions BEGIN "
    "INSERT INTO mentions_fts(mentions_fts, rowid, text) VALUES ('delete', old.id, old.text); "
    "INSERT INTO mentions_fts(rowid, text) VALUES (new.id, new.text); END",
    "INSERT INTO mentions_fts(mentions_fts) VALUES ('rebuild')",  # the posts stored before
)
SQLITE_DROP = (
    "DROP TRIGGER IF EXISTS mentions_fts_insert",
    "DROP TRIGGER IF EXISTS mentions_fts_delete",
    "DROP TRIGGER IF EXISTS mentions_fts_update",
    "DROP TABLE IF EXISTS mentions_fts",
)
POSTGRES_DDL = ("CREATE INDEX ix_mentions_text_search ON mentions USING gin (to_tsvector('english'::regconfig, text))",)
POSTGRES_DROP = ("DROP INDEX IF EXISTS ix_mentions_text_search",)


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
    statements = SQLITE_DDL if op.get_bind().dialect.name == 'sqlite' else POSTGRES_DDL
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    statements = SQLITE_DROP if op.get_bind().dialect.name == 'sqlite' else POSTGRES_DROP
    for statement in statements:
        op.execute(statement)
    with op.batch_alter_table('item_tags', schema=None) as batch_op:
        batch_op.drop_index('ix_item_tags_tag')
    op.drop_table('item_tags')
