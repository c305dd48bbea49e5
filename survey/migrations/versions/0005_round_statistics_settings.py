"""per-round statistics settings: verdict minimum and weighting cell minimum

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rounds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("min_verdict_respondents", sa.Integer(), nullable=False, server_default="12"))
        batch_op.add_column(sa.Column("min_weighting_cell", sa.Integer(), nullable=False, server_default="20"))
        batch_op.create_check_constraint(
            op.f("ck_rounds_min_verdict_respondents"), "min_verdict_respondents BETWEEN 1 AND 1000")
        batch_op.create_check_constraint(
            op.f("ck_rounds_min_weighting_cell"), "min_weighting_cell BETWEEN 1 AND 1000")


def downgrade() -> None:
    with op.batch_alter_table("rounds", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_rounds_min_weighting_cell"), type_="check")
        batch_op.drop_constraint(op.f("ck_rounds_min_verdict_respondents"), type_="check")
        batch_op.drop_column("min_weighting_cell")
        batch_op.drop_column("min_verdict_respondents")
