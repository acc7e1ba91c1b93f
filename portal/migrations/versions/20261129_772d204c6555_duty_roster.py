"""The duty roster: shifts of a river chief on duty for a water body or a town, with start and end.

Revision ID: 772d204c6555
Revises: 02f13264c1ad
Create Date: 2026-11-29 10:20:49.851397

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '772d204c6555'
down_revision = '02f13264c1ad'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('duty_shift',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('chief_id', sa.Integer(), nullable=False),
    sa.Column('water_body_id', sa.Integer(), nullable=True),
    sa.Column('town_id', sa.Integer(), nullable=True),
    sa.Column('starts_at', sa.DateTime(), nullable=False),
    sa.Column('ends_at', sa.DateTime(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('source', sa.String(length=200), nullable=True),
    sa.CheckConstraint('(water_body_id IS NULL) <> (town_id IS NULL)', name=op.f('ck_duty_shift_one_target')),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_duty_shift_ends_after_start')),
    sa.ForeignKeyConstraint(['chief_id'], ['river_chief.id'], name=op.f('fk_duty_shift_chief_id_river_chief'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['town_id'], ['town.id'], name=op.f('fk_duty_shift_town_id_town'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['water_body_id'], ['water_body.id'], name=op.f('fk_duty_shift_water_body_id_water_body'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_duty_shift'))
    )
    with op.batch_alter_table('duty_shift', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_duty_shift_chief_id'), ['chief_id'], unique=False)
        batch_op.create_index('ix_duty_shift_town_window', ['town_id', 'starts_at', 'ends_at'], unique=False)
        batch_op.create_index('ix_duty_shift_water_body_window', ['water_body_id', 'starts_at', 'ends_at'], unique=False)


def downgrade():
    with op.batch_alter_table('duty_shift', schema=None) as batch_op:
        batch_op.drop_index('ix_duty_shift_water_body_window')
        batch_op.drop_index('ix_duty_shift_town_window')
        batch_op.drop_index(batch_op.f('ix_duty_shift_chief_id'))

    op.drop_table('duty_shift')
