"""Report photos take numbered slots, unique per report, and a visitor's "me too" is unique per
report: the database arbitrates concurrent additions.

Revision ID: 3b7d9e1f4a20
Revises: c421b62daa8f
Create Date: 2026-12-01 10:45:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3b7d9e1f4a20'
down_revision = 'c421b62daa8f'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('report_photo', schema=None) as batch_op:
        batch_op.add_column(sa.Column('slot', sa.Integer(), nullable=True))
    # Existing photos take slots 1, 2, … of their report in the order they were added.
    op.execute("UPDATE report_photo SET slot = (SELECT COUNT(*) FROM report_photo AS earlier "
               "WHERE earlier.report_id = report_photo.report_id AND earlier.id <= report_photo.id)")
    with op.batch_alter_table('report_photo', schema=None) as batch_op:
        batch_op.alter_column('slot', existing_type=sa.Integer(), nullable=False)
        batch_op.create_unique_constraint('uq_report_photo_report_slot', ['report_id', 'slot'])
        batch_op.create_check_constraint(op.f('ck_report_photo_slot_positive'), 'slot >= 1')
    # A visitor counted twice before this revision counts once.
    op.execute("DELETE FROM me_too WHERE id NOT IN (SELECT MIN(id) FROM me_too GROUP BY report_id, visitor_digest)")
    with op.batch_alter_table('me_too', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_me_too_report_visitor', ['report_id', 'visitor_digest'])


def downgrade():
    with op.batch_alter_table('me_too', schema=None) as batch_op:
        batch_op.drop_constraint('uq_me_too_report_visitor', type_='unique')
    with op.batch_alter_table('report_photo', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_report_photo_slot_positive'), type_='check')
        batch_op.drop_constraint('uq_report_photo_report_slot', type_='unique')
        batch_op.drop_column('slot')
