"""campaigns grouping rounds; departments, indicator assignments and rectification notices

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("official_sample_size", sa.Integer(), server_default="600", nullable=False),
        sa.Column("official_unit_sample_size", sa.Integer(), nullable=True),
        sa.Column("indicator_weights", sa.JSON(), nullable=False),
        sa.Column("evaluation_on", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("official_sample_size BETWEEN 1 AND 1000000",
                           name=op.f("ck_campaigns_official_sample_size")),
        sa.CheckConstraint("official_unit_sample_size IS NULL OR official_unit_sample_size BETWEEN 1 AND 1000000",
                           name=op.f("ck_campaigns_official_unit_sample_size")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
        sa.UniqueConstraint("name", name=op.f("uq_campaigns_name")),
    )
    with op.batch_alter_table("rounds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("campaign_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_rounds_campaign_id"), ["campaign_id"], unique=False)
        batch_op.create_foreign_key(batch_op.f("fk_rounds_campaign_id_campaigns"), "campaigns",
                                    ["campaign_id"], ["id"])
    op.create_table(
        "departments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_departments")),
        sa.UniqueConstraint("name", name=op.f("uq_departments_name")),
    )
    op.create_table(
        "indicator_departments",
        sa.Column("indicator_key", sa.String(length=64), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["department_id"], ["departments.id"],
                                name=op.f("fk_indicator_departments_department_id_departments")),
        sa.PrimaryKeyConstraint("indicator_key", name=op.f("pk_indicator_departments")),
    )
    op.create_index(op.f("ix_indicator_departments_department_id"), "indicator_departments", ["department_id"],
                    unique=False)
    op.create_table(
        "notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("request_text", sa.Text(), nullable=False),
        sa.Column("issued_at", sa.DateTime(), nullable=False),
        sa.Column("issued_by_id", sa.Integer(), nullable=True),
        sa.Column("reply_text", sa.Text(), nullable=True),
        sa.Column("reply_filename", sa.String(length=200), nullable=True),
        sa.Column("reply_content_type", sa.String(length=100), nullable=True),
        sa.Column("reply_data", sa.LargeBinary(), nullable=True),
        sa.Column("replied_at", sa.DateTime(), nullable=True),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint("state IN ('issued', 'answered', 'closed')", name=op.f("ck_notices_state")),
        sa.CheckConstraint("(department_id IS NULL) <> (unit_id IS NULL)", name=op.f("ck_notices_one_addressee")),
        sa.ForeignKeyConstraint(["round_id"], ["rounds.id"], name=op.f("fk_notices_round_id_rounds")),
        sa.ForeignKeyConstraint(["department_id"], ["departments.id"],
                                name=op.f("fk_notices_department_id_departments")),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_notices_unit_id_units")),
        sa.ForeignKeyConstraint(["issued_by_id"], ["users.id"], name=op.f("fk_notices_issued_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notices")),
        sa.UniqueConstraint("number", name=op.f("uq_notices_number")),
    )
    op.create_index(op.f("ix_notices_round_id"), "notices", ["round_id"], unique=False)
    op.create_index(op.f("ix_notices_department_id"), "notices", ["department_id"], unique=False)
    op.create_index(op.f("ix_notices_unit_id"), "notices", ["unit_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_notices_unit_id"), table_name="notices")
    op.drop_index(op.f("ix_notices_department_id"), table_name="notices")
    op.drop_index(op.f("ix_notices_round_id"), table_name="notices")
    op.drop_table("notices")
    op.drop_index(op.f("ix_indicator_departments_department_id"), table_name="indicator_departments")
    op.drop_table("indicator_departments")
    op.drop_table("departments")
    with op.batch_alter_table("rounds", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_rounds_campaign_id_campaigns"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_rounds_campaign_id"))
        batch_op.drop_column("campaign_id")
    op.drop_table("campaigns")
