"""response imports: files imported into rounds, confirmed column mappings

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "response_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("stored", sa.Integer(), nullable=False),
        sa.Column("duplicates", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["round_id"], ["rounds.id"], name=op.f("fk_response_imports_round_id_rounds")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_response_imports_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_response_imports")),
    )
    op.create_index(op.f("ix_response_imports_round_id"), "response_imports", ["round_id"], unique=False)
    op.create_table(
        "import_mappings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("questionnaire_version_id", sa.Integer(), nullable=False),
        sa.Column("header", sa.String(length=500), nullable=False),
        sa.Column("question_id", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["questionnaire_version_id"], ["questionnaire_versions.id"],
                                name=op.f("fk_import_mappings_questionnaire_version_id_questionnaire_versions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_mappings")),
        sa.UniqueConstraint("questionnaire_version_id", "header",
                            name=op.f("uq_import_mappings_questionnaire_version_id_header")),
    )
    op.create_index(op.f("ix_import_mappings_questionnaire_version_id"), "import_mappings",
                    ["questionnaire_version_id"], unique=False)
    with op.batch_alter_table("responses", schema=None) as batch_op:
        batch_op.add_column(sa.Column("import_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_responses_import_id"), ["import_id"], unique=False)
        batch_op.create_foreign_key(batch_op.f("fk_responses_import_id_response_imports"), "response_imports",
                                    ["import_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("responses", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_responses_import_id_response_imports"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_responses_import_id"))
        batch_op.drop_column("import_id")
    op.drop_index(op.f("ix_import_mappings_questionnaire_version_id"), table_name="import_mappings")
    op.drop_table("import_mappings")
    op.drop_index(op.f("ix_response_imports_round_id"), table_name="response_imports")
    op.drop_table("response_imports")
