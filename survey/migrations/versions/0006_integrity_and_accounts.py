"""integrity and accounts: flag reasons, voiding, scoring mark, session versions, site settings

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("responses", schema=None) as batch_op:
        batch_op.add_column(sa.Column("flag_reasons", sa.JSON(), nullable=False, server_default="{}"))
        batch_op.add_column(sa.Column("favourable_share", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("voided_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("void_reason", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("voided_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(op.f("fk_responses_voided_by_id_users"), "users", ["voided_by_id"], ["id"])
    with op.batch_alter_table("rounds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("flags_scored_through", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("flags_revision", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("flags_scored_count", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("technical_data_purged_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("session_version", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "site_settings",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_site_settings")),
    )


def downgrade() -> None:
    op.drop_table("site_settings")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("session_version")
    with op.batch_alter_table("rounds", schema=None) as batch_op:
        batch_op.drop_column("technical_data_purged_at")
        batch_op.drop_column("flags_scored_count")
        batch_op.drop_column("flags_revision")
        batch_op.drop_column("flags_scored_through")
    with op.batch_alter_table("responses", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("fk_responses_voided_by_id_users"), type_="foreignkey")
        batch_op.drop_column("voided_by_id")
        batch_op.drop_column("void_reason")
        batch_op.drop_column("voided_at")
        batch_op.drop_column("favourable_share")
        batch_op.drop_column("flag_reasons")
