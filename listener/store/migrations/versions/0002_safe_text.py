"""safe text: mentions.text_note; index on mentions (received_at, id) for the crisis watch

Revision ID: 0002
Revises: 0001
"""

from alembic import op
import sqlalchemy as sa

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('mentions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('text_note', sa.String(length=200), nullable=True))
        batch_op.create_index('ix_mentions_received', ['received_at', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('mentions', schema=None) as batch_op:
        batch_op.drop_index('ix_mentions_received')
        batch_op.drop_column('text_note')
