"""quotas, exclusions and api tokens

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 06:59:13.790433
"""

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_tokens_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash'))
    )
    op.create_table('round_quotas',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('quota', sa.Integer(), nullable=False),
    sa.CheckConstraint('quota >= 0', name=op.f('ck_round_quotas_quota_not_negative')),
    sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], name=op.f('fk_round_quotas_round_id_rounds')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_round_quotas_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_round_quotas')),
    sa.UniqueConstraint('round_id', 'unit_id', name=op.f('uq_round_quotas_round_id_unit_id'))
    )
    with op.batch_alter_table('round_quotas', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_round_quotas_round_id'), ['round_id'], unique=False)

    with op.batch_alter_table('rounds', schema=None) as batch_op:
        # Existing rounds get the default exclusion (responses flagged too fast).
        batch_op.add_column(sa.Column('excluded_flags', sa.JSON(), nullable=False, server_default='["too_fast"]'))



def downgrade() -> None:
    with op.batch_alter_table('rounds', schema=None) as batch_op:
        batch_op.drop_column('excluded_flags')

    with op.batch_alter_table('round_quotas', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_round_quotas_round_id'))

    op.drop_table('round_quotas')
    op.drop_table('api_tokens')
