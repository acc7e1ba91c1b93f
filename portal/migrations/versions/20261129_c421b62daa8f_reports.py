"""Citizen reports: the report with its sealed contact and routing, photos, timeline and "me too"s.

Revision ID: c421b62daa8f
Revises: 772d204c6555
Create Date: 2026-11-29 10:29:49.759089

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c421b62daa8f'
down_revision = '772d204c6555'
branch_labels = None
depends_on = None


def upgrade():

    op.create_table('report',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tracking_code', sa.String(length=16), nullable=False),
    sa.Column('secret_digest', sa.String(length=64), nullable=False),
    sa.Column('category', sa.String(length=24), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('observed_at', sa.DateTime(), nullable=True),
    sa.Column('latitude', sa.Float(), nullable=True),
    sa.Column('longitude', sa.Float(), nullable=True),
    sa.Column('location_source', sa.String(length=16), nullable=False),
    sa.Column('address_text', sa.String(length=300), nullable=True),
    sa.Column('outfall_id', sa.Integer(), nullable=True),
    sa.Column('town_id', sa.Integer(), nullable=True),
    sa.Column('water_body_id', sa.Integer(), nullable=True),
    sa.Column('department', sa.String(length=64), nullable=True),
    sa.Column('chief_id', sa.Integer(), nullable=True),
    sa.Column('routing_reasons', sa.Text(), nullable=True),
    sa.Column('reporter_name_sealed', sa.LargeBinary(), nullable=True),
    sa.Column('reporter_phone_sealed', sa.LargeBinary(), nullable=True),
    sa.Column('reporter_email_sealed', sa.LargeBinary(), nullable=True),
    sa.Column('anonymous', sa.Boolean(), nullable=False),
    sa.Column('publication_allowed', sa.Boolean(), nullable=False),
    sa.Column('published', sa.Boolean(), nullable=False),
    sa.Column('consent_at', sa.DateTime(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('accept_due', sa.Date(), nullable=True),
    sa.Column('finish_due', sa.Date(), nullable=True),
    sa.Column('responded_at', sa.DateTime(), nullable=True),
    sa.Column('rating', sa.Integer(), nullable=True),
    sa.Column('me_too_count', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['chief_id'], ['river_chief.id'], name=op.f('fk_report_chief_id_river_chief')),
    sa.ForeignKeyConstraint(['outfall_id'], ['outfall.id'], name=op.f('fk_report_outfall_id_outfall')),
    sa.ForeignKeyConstraint(['town_id'], ['town.id'], name=op.f('fk_report_town_id_town')),
    sa.ForeignKeyConstraint(['water_body_id'], ['water_body.id'], name=op.f('fk_report_water_body_id_water_body')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report')),
    sa.UniqueConstraint('secret_digest', name=op.f('uq_report_secret_digest')),
    sa.UniqueConstraint('tracking_code', name=op.f('uq_report_tracking_code'))
    )
    with op.batch_alter_table('report', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_report_outfall_id'), ['outfall_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_report_published'), ['published'], unique=False)
        batch_op.create_index(batch_op.f('ix_report_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_report_town_id'), ['town_id'], unique=False)

    op.create_table('me_too',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('visitor_digest', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['report.id'], name=op.f('fk_me_too_report_id_report'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_me_too'))
    )
    with op.batch_alter_table('me_too', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_me_too_report_id'), ['report_id'], unique=False)

    op.create_table('report_photo',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('storage_key', sa.String(length=200), nullable=False),
    sa.Column('thumbnail_key', sa.String(length=200), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('added_by', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['report.id'], name=op.f('fk_report_photo_report_id_report'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_photo')),
    sa.UniqueConstraint('storage_key', name=op.f('uq_report_photo_storage_key')),
    sa.UniqueConstraint('thumbnail_key', name=op.f('uq_report_photo_thumbnail_key'))
    )
    with op.batch_alter_table('report_photo', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_photo_report_id'), ['report_id'], unique=False)

    op.create_table('report_update',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=True),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('public', sa.Boolean(), nullable=False),
    sa.Column('author', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['report.id'], name=op.f('fk_report_update_report_id_report'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_update'))
    )
    with op.batch_alter_table('report_update', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_update_report_id'), ['report_id'], unique=False)




def downgrade():

    with op.batch_alter_table('report_update', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_update_report_id'))

    op.drop_table('report_update')
    with op.batch_alter_table('report_photo', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_photo_report_id'))

    op.drop_table('report_photo')
    with op.batch_alter_table('me_too', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_me_too_report_id'))

    op.drop_table('me_too')
    with op.batch_alter_table('report', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_town_id'))
        batch_op.drop_index(batch_op.f('ix_report_status'))
        batch_op.drop_index(batch_op.f('ix_report_published'))
        batch_op.drop_index(batch_op.f('ix_report_outfall_id'))
        batch_op.drop_index(batch_op.f('ix_report_created_at'))

    op.drop_table('report')

