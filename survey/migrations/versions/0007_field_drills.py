"""field drills: interviewers, practice answers, response mode

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "interviewers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("signup_code", sa.String(length=32), nullable=True),
        sa.Column("name", sa.String(length=50), nullable=True),
        sa.Column("unit_ids", sa.JSON(), nullable=False),
        sa.Column("practice_only", sa.Boolean(), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=True),
        sa.Column("claimed_at", sa.DateTime(), nullable=True),
        sa.Column("last_seen_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("excluded_at", sa.DateTime(), nullable=True),
        sa.Column("exclude_reason", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["round_id"], ["rounds.id"], name=op.f("fk_interviewers_round_id_rounds")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interviewers")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_interviewers_secret_hash")),
        sa.UniqueConstraint("signup_code", name=op.f("uq_interviewers_signup_code")),
    )
    op.create_index(op.f("ix_interviewers_round_id"), "interviewers", ["round_id"], unique=False)
    op.create_table(
        "practice_responses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("interviewer_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("submission_key", sa.String(length=64), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("answer_data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["interviewer_id"], ["interviewers.id"],
                                name=op.f("fk_practice_responses_interviewer_id_interviewers")),
        sa.ForeignKeyConstraint(["round_id"], ["rounds.id"], name=op.f("fk_practice_responses_round_id_rounds")),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_practice_responses_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_practice_responses")),
        sa.UniqueConstraint("submission_key", name=op.f("uq_practice_responses_submission_key")),
    )
    op.create_index(op.f("ix_practice_responses_interviewer_id"), "practice_responses", ["interviewer_id"],
                    unique=False)
    op.create_index(op.f("ix_practice_responses_round_id"), "practice_responses", ["round_id"], unique=False)
    with op.batch_alter_table("responses", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mode", sa.String(length=16), nullable=False, server_default="self"))
        batch_op.add_column(sa.Column("interviewer_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("entered_by_id", sa.Integer(), nullable=True))
        batch_op.alter_column("channel_id", existing_type=sa.Integer(), nullable=True)
        batch_op.create_index(batch_op.f("ix_responses_interviewer_id"), ["interviewer_id"], unique=False)
        batch_op.create_foreign_key(batch_op.f("fk_responses_interviewer_id_interviewers"), "interviewers",
                                    ["interviewer_id"], ["id"])
        batch_op.create_foreign_key(batch_op.f("fk_responses_entered_by_id_users"), "users", ["entered_by_id"], ["id"])
        batch_op.create_check_constraint(op.f("ck_responses_mode"), "mode IN ('self', 'interviewer', 'paper')")


def downgrade() -> None:
    with op.batch_alter_table("responses", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_responses_mode"), type_="check")
        batch_op.drop_constraint(batch_op.f("fk_responses_entered_by_id_users"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_responses_interviewer_id_interviewers"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_responses_interviewer_id"))
        batch_op.alter_column("channel_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("entered_by_id")
        batch_op.drop_column("interviewer_id")
        batch_op.drop_column("mode")
    op.drop_index(op.f("ix_practice_responses_round_id"), table_name="practice_responses")
    op.drop_index(op.f("ix_practice_responses_interviewer_id"), table_name="practice_responses")
    op.drop_table("practice_responses")
    op.drop_index(op.f("ix_interviewers_round_id"), table_name="interviewers")
    op.drop_table("interviewers")
