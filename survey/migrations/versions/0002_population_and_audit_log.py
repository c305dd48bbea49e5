"""population and audit log

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 06:54:45.843437
"""

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('population_cells',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('gender', sa.String(length=32), nullable=False),
    sa.Column('age_group', sa.String(length=32), nullable=False),
    sa.Column('population', sa.Integer(), nullable=False),
    sa.CheckConstraint('population >= 0', name=op.f('ck_population_cells_population_not_negative')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_population_cells_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_population_cells')),
    sa.UniqueConstraint('unit_id', 'gender', 'age_group', name=op.f('uq_population_cells_unit_id_gender_age_group'))
    )
    with op.batch_alter_table('population_cells', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_population_cells_unit_id'), ['unit_id'], unique=False)

    op.create_table('audit_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('target', sa.String(length=128), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_audit_events_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_events_created_at'), ['created_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_events_created_at'))

    op.drop_table('audit_events')
    with op.batch_alter_table('population_cells', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_population_cells_unit_id'))

    op.drop_table('population_cells')
