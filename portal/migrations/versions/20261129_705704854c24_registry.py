"""The registry: towns, water bodies, river chiefs, outfalls, plans, history, monitoring, standards.

Revision ID: 705704854c24
Revises: 
Create Date: 2026-11-29 08:56:31.697383

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '705704854c24'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():

    op.create_table('discharge_standard',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('grade', sa.String(length=16), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_discharge_standard')),
    sa.UniqueConstraint('code', 'grade', name=op.f('uq_discharge_standard_code'))
    )
    op.create_table('responsible_party',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('is_demo', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_responsible_party')),
    sa.UniqueConstraint('name', 'kind', name=op.f('uq_responsible_party_name'))
    )
    op.create_table('town',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=True),
    sa.Column('boundary', sa.Text(), nullable=True),
    sa.Column('boundary_source', sa.String(length=200), nullable=True),
    sa.Column('is_demo', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_town')),
    sa.UniqueConstraint('code', name=op.f('uq_town_code')),
    sa.UniqueConstraint('name', name=op.f('uq_town_name'))
    )
    op.create_table('water_body',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('target_class', sa.String(length=4), nullable=True),
    sa.Column('geometry', sa.Text(), nullable=True),
    sa.Column('supervision_telephone', sa.String(length=32), nullable=True),
    sa.Column('is_demo', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_water_body')),
    sa.UniqueConstraint('name', name=op.f('uq_water_body_name'))
    )
    op.create_table('outfall',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('national_code', sa.String(length=64), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('town_id', sa.Integer(), nullable=False),
    sa.Column('water_body_id', sa.Integer(), nullable=True),
    sa.Column('longitude', sa.Float(), nullable=True),
    sa.Column('latitude', sa.Float(), nullable=True),
    sa.Column('outfall_type', sa.String(length=32), nullable=False),
    sa.Column('outfall_subtype', sa.String(length=32), nullable=True),
    sa.Column('discharge_mode', sa.String(length=16), nullable=True),
    sa.Column('approval_status', sa.String(length=16), nullable=True),
    sa.Column('found_on', sa.Date(), nullable=True),
    sa.Column('stage', sa.String(length=20), nullable=False),
    sa.Column('responsible_party_id', sa.Integer(), nullable=True),
    sa.Column('party_telephone', sa.String(length=32), nullable=True),
    sa.Column('supervising_leader', sa.String(length=64), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('is_demo', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['responsible_party_id'], ['responsible_party.id'], name=op.f('fk_outfall_responsible_party_id_responsible_party')),
    sa.ForeignKeyConstraint(['town_id'], ['town.id'], name=op.f('fk_outfall_town_id_town')),
    sa.ForeignKeyConstraint(['water_body_id'], ['water_body.id'], name=op.f('fk_outfall_water_body_id_water_body')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outfall')),
    sa.UniqueConstraint('code', name=op.f('uq_outfall_code')),
    sa.UniqueConstraint('national_code', name=op.f('uq_outfall_national_code'))
    )
    with op.batch_alter_table('outfall', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outfall_outfall_type'), ['outfall_type'], unique=False)
        batch_op.create_index(batch_op.f('ix_outfall_town_id'), ['town_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_outfall_water_body_id'), ['water_body_id'], unique=False)

    op.create_table('river_chief',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=True),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('level_rank', sa.Integer(), nullable=False),
    sa.Column('water_body_id', sa.Integer(), nullable=True),
    sa.Column('town_id', sa.Integer(), nullable=True),
    sa.Column('duties', sa.Text(), nullable=True),
    sa.Column('telephone', sa.String(length=32), nullable=True),
    sa.Column('is_demo', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['town_id'], ['town.id'], name=op.f('fk_river_chief_town_id_town')),
    sa.ForeignKeyConstraint(['water_body_id'], ['water_body.id'], name=op.f('fk_river_chief_water_body_id_water_body')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_river_chief'))
    )
    op.create_table('standard_limit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('standard_id', sa.Integer(), nullable=False),
    sa.Column('parameter', sa.String(length=16), nullable=False),
    sa.Column('unit', sa.String(length=16), nullable=False),
    sa.Column('minimum', sa.Float(), nullable=True),
    sa.Column('maximum', sa.Float(), nullable=True),
    sa.Column('condition', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['standard_id'], ['discharge_standard.id'], name=op.f('fk_standard_limit_standard_id_discharge_standard')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_standard_limit')),
    sa.UniqueConstraint('standard_id', 'parameter', 'condition', name=op.f('uq_standard_limit_standard_id'))
    )
    op.create_table('monitoring_sample',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('outfall_id', sa.Integer(), nullable=False),
    sa.Column('sampled_at', sa.DateTime(), nullable=False),
    sa.Column('parameter', sa.String(length=16), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('unit', sa.String(length=16), nullable=False),
    sa.Column('limit_id', sa.Integer(), nullable=True),
    sa.Column('is_demo', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['limit_id'], ['standard_limit.id'], name=op.f('fk_monitoring_sample_limit_id_standard_limit')),
    sa.ForeignKeyConstraint(['outfall_id'], ['outfall.id'], name=op.f('fk_monitoring_sample_outfall_id_outfall'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_monitoring_sample'))
    )
    with op.batch_alter_table('monitoring_sample', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_monitoring_sample_outfall_id'), ['outfall_id'], unique=False)

    op.create_table('outfall_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('outfall_id', sa.Integer(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('field', sa.String(length=40), nullable=True),
    sa.Column('old_value', sa.Text(), nullable=True),
    sa.Column('new_value', sa.Text(), nullable=True),
    sa.Column('source', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['outfall_id'], ['outfall.id'], name=op.f('fk_outfall_event_outfall_id_outfall'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outfall_event'))
    )
    with op.batch_alter_table('outfall_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outfall_event_occurred_at'), ['occurred_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_outfall_event_outfall_id'), ['outfall_id'], unique=False)

    op.create_table('outfall_photo',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('outfall_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('storage_key', sa.String(length=200), nullable=False),
    sa.Column('content_type', sa.String(length=32), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('taken_at', sa.DateTime(), nullable=True),
    sa.Column('caption', sa.String(length=200), nullable=True),
    sa.Column('is_demo', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['outfall_id'], ['outfall.id'], name=op.f('fk_outfall_photo_outfall_id_outfall'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outfall_photo')),
    sa.UniqueConstraint('storage_key', name=op.f('uq_outfall_photo_storage_key'))
    )
    with op.batch_alter_table('outfall_photo', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outfall_photo_outfall_id'), ['outfall_id'], unique=False)

    op.create_table('rectification_plan',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('outfall_id', sa.Integer(), nullable=False),
    sa.Column('responsible_party_id', sa.Integer(), nullable=True),
    sa.Column('measure', sa.String(length=16), nullable=False),
    sa.Column('measures_text', sa.Text(), nullable=True),
    sa.Column('deadline', sa.Date(), nullable=True),
    sa.Column('transition_ends_on', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('completed_on', sa.Date(), nullable=True),
    sa.Column('verified_on', sa.Date(), nullable=True),
    sa.Column('merged_into_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['merged_into_id'], ['outfall.id'], name=op.f('fk_rectification_plan_merged_into_id_outfall')),
    sa.ForeignKeyConstraint(['outfall_id'], ['outfall.id'], name=op.f('fk_rectification_plan_outfall_id_outfall'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['responsible_party_id'], ['responsible_party.id'], name=op.f('fk_rectification_plan_responsible_party_id_responsible_party')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rectification_plan'))
    )
    with op.batch_alter_table('rectification_plan', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rectification_plan_outfall_id'), ['outfall_id'], unique=False)

    op.create_table('standardisation_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('outfall_id', sa.Integer(), nullable=False),
    sa.Column('item', sa.String(length=24), nullable=False),
    sa.Column('done', sa.Boolean(), nullable=False),
    sa.Column('done_on', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['outfall_id'], ['outfall.id'], name=op.f('fk_standardisation_item_outfall_id_outfall'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_standardisation_item')),
    sa.UniqueConstraint('outfall_id', 'item', name=op.f('uq_standardisation_item_outfall_id'))
    )

    _insert_standard_limits()


# GB 18918-2002 (treatment plant effluent, daily average) and GB 3838-2002 (surface water) as the
# bureau reads them (DOMAIN.md §6). Units mg/L unless noted; None means no bound on that side.
STANDARDS = [
    ("GB 18918-2002", "一级A", "城镇污水处理厂污染物排放标准 一级A", "effluent", [
        ("COD", "mg/L", None, 50, ""), ("BOD5", "mg/L", None, 10, ""), ("SS", "mg/L", None, 10, ""),
        ("TN", "mg/L", None, 15, ""), ("NH3-N", "mg/L", None, 5, ""), ("NH3-N", "mg/L", None, 8, "水温≤12℃"),
        ("TP", "mg/L", None, 0.5, ""), ("pH", "", 6, 9, ""), ("粪大肠菌群", "个/L", None, 1000, ""),
    ]),
    ("GB 18918-2002", "一级B", "城镇污水处理厂污染物排放标准 一级B", "effluent", [
        ("COD", "mg/L", None, 60, ""), ("BOD5", "mg/L", None, 20, ""), ("SS", "mg/L", None, 20, ""),
        ("TN", "mg/L", None, 20, ""), ("NH3-N", "mg/L", None, 8, ""), ("NH3-N", "mg/L", None, 15, "水温≤12℃"),
        ("TP", "mg/L", None, 1, ""), ("pH", "", 6, 9, ""), ("粪大肠菌群", "个/L", None, 10000, ""),
    ]),
] + [
    ("GB 3838-2002", f"{cls}类", f"地表水环境质量标准 {cls}类", "surface_water", [
        ("COD", "mg/L", None, cod, ""), ("NH3-N", "mg/L", None, nh3, ""), ("TP", "mg/L", None, tp, ""),
        ("BOD5", "mg/L", None, bod, ""), ("CODMn", "mg/L", None, codmn, ""), ("DO", "mg/L", do, None, ""),
    ])
    for cls, cod, nh3, tp, bod, codmn, do in [
        ("I", 15, 0.15, 0.02, 3, 2, 7.5), ("II", 15, 0.5, 0.1, 3, 4, 6), ("III", 20, 1.0, 0.2, 4, 6, 5),
        ("IV", 30, 1.5, 0.3, 6, 10, 3), ("V", 40, 2.0, 0.4, 10, 15, 2),
    ]
]


def _insert_standard_limits():
    standard = sa.table("discharge_standard", sa.column("id", sa.Integer), sa.column("code", sa.String),
                        sa.column("grade", sa.String), sa.column("title", sa.String), sa.column("kind", sa.String))
    limit = sa.table("standard_limit", sa.column("standard_id", sa.Integer), sa.column("parameter", sa.String),
                     sa.column("unit", sa.String), sa.column("minimum", sa.Float), sa.column("maximum", sa.Float),
                     sa.column("condition", sa.String))
    bind = op.get_bind()
    for code, grade, title, kind, limits in STANDARDS:
        standard_id = bind.execute(
            standard.insert().values(code=code, grade=grade, title=title, kind=kind).returning(standard.c.id)
        ).scalar_one()
        op.bulk_insert(limit, [
            dict(standard_id=standard_id, parameter=p, unit=u, minimum=lo, maximum=hi, condition=c)
            for p, u, lo, hi, c in limits
        ])

def downgrade():

    op.drop_table('standardisation_item')
    with op.batch_alter_table('rectification_plan', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rectification_plan_outfall_id'))

    op.drop_table('rectification_plan')
    with op.batch_alter_table('outfall_photo', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outfall_photo_outfall_id'))

    op.drop_table('outfall_photo')
    with op.batch_alter_table('outfall_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outfall_event_outfall_id'))
        batch_op.drop_index(batch_op.f('ix_outfall_event_occurred_at'))

    op.drop_table('outfall_event')
    with op.batch_alter_table('monitoring_sample', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_monitoring_sample_outfall_id'))

    op.drop_table('monitoring_sample')
    op.drop_table('standard_limit')
    op.drop_table('river_chief')
    with op.batch_alter_table('outfall', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outfall_water_body_id'))
        batch_op.drop_index(batch_op.f('ix_outfall_town_id'))
        batch_op.drop_index(batch_op.f('ix_outfall_outfall_type'))

    op.drop_table('outfall')
    op.drop_table('water_body')
    op.drop_table('town')
    op.drop_table('responsible_party')
    op.drop_table('discharge_standard')

