"""exactly once: one live reply per item and per incident post, one sign-off per person, held replies

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 18:20:00

PostgreSQL under READ COMMITTED lets two requests both see "no reply yet" and both insert
one; these indexes make the database refuse the second. Replies left doubled by the old
code (two live replies on one item, or on one incident post) would stop the indexes being
built: the later ones are marked failed first, with a reason a person can read.
"""

from alembic import op
import sqlalchemy as sa

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

OLD_STATUSES = "'draft', 'pending_approval', 'approved', 'sending', 'sent', 'failed'"
NEW_STATUSES = "'draft', 'pending_approval', 'approved', 'sending', 'held', 'sent', 'failed'"
LIVE = "status IN ('draft', 'pending_approval', 'approved', 'sending', 'held')"
PER_ITEM = f"queue_item_id IS NOT NULL AND {LIVE}"
PER_POST = f"queue_item_id IS NULL AND incident_id IS NOT NULL AND {LIVE}"
DOUBLED = (
    "a second live reply to the same item, made before Listening Post could refuse it: "
    "check the platform before answering again"
)


def upgrade() -> None:
    with op.batch_alter_table('replies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('part', sa.Integer(), server_default='0', nullable=False))
        batch_op.drop_constraint(op.f('ck_replies_status'), type_='check')
        batch_op.create_check_constraint('status', f"status IN ({NEW_STATUSES})")
    op.execute(
        sa.text(
            f"UPDATE replies SET status = 'failed', last_error = :why WHERE {PER_ITEM} AND EXISTS ("
            f"SELECT 1 FROM replies AS earlier WHERE earlier.queue_item_id = replies.queue_item_id "
            f"AND earlier.{LIVE} AND earlier.id < replies.id)"
        ).bindparams(why=DOUBLED)
    )
    op.execute(
        sa.text(
            f"UPDATE replies SET status = 'failed', last_error = :why WHERE {PER_POST} AND EXISTS ("
            f"SELECT 1 FROM replies AS earlier WHERE earlier.queue_item_id IS NULL "
            f"AND earlier.incident_id = replies.incident_id AND earlier.purpose = replies.purpose "
            f"AND earlier.source_key = replies.source_key AND earlier.{LIVE} AND earlier.id < replies.id)"
        ).bindparams(why=DOUBLED.replace("the same item", "the same account for this incident"))
    )
    with op.batch_alter_table('replies', schema=None) as batch_op:
        batch_op.create_index(
            'uq_replies_one_live_per_item',
            ['queue_item_id'],
            unique=True,
            sqlite_where=sa.text(PER_ITEM),
            postgresql_where=sa.text(PER_ITEM),
        )
        batch_op.create_index(
            'uq_replies_one_live_per_post',
            ['incident_id', 'purpose', 'source_key', 'part'],
            unique=True,
            sqlite_where=sa.text(PER_POST),
            postgresql_where=sa.text(PER_POST),
        )
    with op.batch_alter_table('signoffs', schema=None) as batch_op:
        batch_op.create_index(
            'uq_signoffs_one_per_person', ['response_id', 'text_version', 'user_id'], unique=True
        )


def downgrade() -> None:
    with op.batch_alter_table('signoffs', schema=None) as batch_op:
        batch_op.drop_index('uq_signoffs_one_per_person')
    op.execute("UPDATE replies SET status = 'approved' WHERE status = 'held'")
    with op.batch_alter_table('replies', schema=None) as batch_op:
        batch_op.drop_index('uq_replies_one_live_per_post')
        batch_op.drop_index('uq_replies_one_live_per_item')
        batch_op.drop_constraint(op.f('ck_replies_status'), type_='check')
        batch_op.create_check_constraint('status', f"status IN ({OLD_STATUSES})")
        batch_op.drop_column('part')
