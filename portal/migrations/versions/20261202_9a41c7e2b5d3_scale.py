"""Province scale: each outfall keeps what its plans add up to (main plan, earliest deadline, least
advanced status, earliest open deadline), indexes for every filter, sort and the map's box, and the
data versions that cached pages and download ETags are keyed to.

Revision ID: 9a41c7e2b5d3
Revises: 7c4e2a9b8d31
Create Date: 2026-12-01 19:20:00

"""
from alembic import op
import sqlalchemy as sa

import portal.models.types


revision = '9a41c7e2b5d3'
down_revision = '7c4e2a9b8d31'
branch_labels = None
depends_on = None

_DONE = "('completed', 'closed')"
_RANK = ("CASE status WHEN 'not_started' THEN 0 WHEN 'in_progress' THEN 1 WHEN 'completed' THEN 2 "
         "WHEN 'closed' THEN 3 ELSE 99 END")
_DUE = "COALESCE(transition_ends_on, deadline)"


def upgrade():
    op.create_table('data_version',
    sa.Column('scope', sa.String(length=16), nullable=False),
    sa.Column('number', sa.BigInteger(), nullable=False),
    sa.Column('changed_at', portal.models.types.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('scope', name=op.f('pk_data_version'))
    )
    with op.batch_alter_table('outfall', schema=None) as batch_op:
        batch_op.add_column(sa.Column('main_plan_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('plans_due_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('plans_status_rank', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('open_due_on', sa.Date(), nullable=True))
    with op.batch_alter_table('outfall', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outfall_main_plan_id'), ['main_plan_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_outfall_plans_due_on'), ['plans_due_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_outfall_plans_status_rank'), ['plans_status_rank'], unique=False)
        batch_op.create_index(batch_op.f('ix_outfall_open_due_on'), ['open_due_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_outfall_name'), ['name'], unique=False)
        batch_op.create_index(batch_op.f('ix_outfall_found_on'), ['found_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_outfall_stage'), ['stage'], unique=False)
        batch_op.create_index('ix_outfall_position', ['longitude', 'latitude'], unique=False)
    with op.batch_alter_table('rectification_plan', schema=None) as batch_op:
        batch_op.create_index('ix_rectification_plan_status_outfall', ['status', 'outfall_id'], unique=False)
        batch_op.create_index('ix_rectification_plan_measure_outfall', ['measure', 'outfall_id'], unique=False)

    # What the plans already there add up to (portal.registry.plan_summary keeps it from now on).
    mine = "rectification_plan.outfall_id = outfall.id"
    op.execute(f"""UPDATE outfall SET
        main_plan_id = (SELECT MIN(id) FROM rectification_plan WHERE {mine}),
        plans_due_on = (SELECT MIN({_DUE}) FROM rectification_plan WHERE {mine}),
        plans_status_rank = (SELECT MIN({_RANK}) FROM rectification_plan WHERE {mine}),
        open_due_on = (SELECT MIN({_DUE}) FROM rectification_plan WHERE {mine} AND status NOT IN {_DONE})""")
    versions = sa.table('data_version', sa.column('scope', sa.String), sa.column('number', sa.BigInteger),
                        sa.column('changed_at', portal.models.types.UTCDateTime()))
    now = portal.models.types.utcnow()
    op.bulk_insert(versions, [{"scope": scope, "number": 1, "changed_at": now} for scope in ("registry", "reports")])


def downgrade():
    with op.batch_alter_table('rectification_plan', schema=None) as batch_op:
        batch_op.drop_index('ix_rectification_plan_measure_outfall')
        batch_op.drop_index('ix_rectification_plan_status_outfall')
    with op.batch_alter_table('outfall', schema=None) as batch_op:
        batch_op.drop_index('ix_outfall_position')
        batch_op.drop_index(batch_op.f('ix_outfall_stage'))
        batch_op.drop_index(batch_op.f('ix_outfall_found_on'))
        batch_op.drop_index(batch_op.f('ix_outfall_name'))
        batch_op.drop_index(batch_op.f('ix_outfall_open_due_on'))
        batch_op.drop_index(batch_op.f('ix_outfall_plans_status_rank'))
        batch_op.drop_index(batch_op.f('ix_outfall_plans_due_on'))
        batch_op.drop_index(batch_op.f('ix_outfall_main_plan_id'))
    with op.batch_alter_table('outfall', schema=None) as batch_op:
        batch_op.drop_column('open_due_on')
        batch_op.drop_column('plans_status_rank')
        batch_op.drop_column('plans_due_on')
        batch_op.drop_column('main_plan_id')
    op.drop_table('data_version')
