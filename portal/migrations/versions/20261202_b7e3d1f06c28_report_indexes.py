"""Reports at a million: composite indexes matching the WHERE and ORDER BY of /reports (published,
newest first, by town or department) and of the back office's queues and their counts (a status
and its deadline, in a town, a department or an assignee's hands).

Revision ID: b7e3d1f06c28
Revises: 9a41c7e2b5d3
Create Date: 2026-12-02 10:00:00

"""
from alembic import op


revision = 'b7e3d1f06c28'
down_revision = '9a41c7e2b5d3'
branch_labels = None
depends_on = None

INDEXES = {
    "ix_report_published_created": ["published", "created_at", "id"],
    "ix_report_published_town_created": ["published", "town_id", "created_at"],
    "ix_report_published_department_created": ["published", "department_code", "created_at"],
    "ix_report_status_accept_due": ["status", "accept_due", "created_at"],
    "ix_report_status_finish_due": ["status", "finish_due", "created_at"],
    "ix_report_town_status_due": ["town_id", "status", "accept_due"],
    "ix_report_department_status_due": ["department_code", "status", "accept_due"],
    "ix_report_assignee_status": ["assignee_id", "status"],
}


def upgrade():
    with op.batch_alter_table('report', schema=None) as batch_op:
        for name, columns in INDEXES.items():
            batch_op.create_index(name, columns, unique=False)


def downgrade():
    with op.batch_alter_table('report', schema=None) as batch_op:
        for name in reversed(INDEXES):
            batch_op.drop_index(name)
