"""answers of each response as one document

Revision ID: 0004
Revises: 0003
"""

import json

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("responses", schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            "answer_data", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=False, server_default="{}"))
    # Fill it for responses stored before this revision, from their answer rows.
    connection = op.get_bind()
    answers = sa.table("answers", sa.column("response_id", sa.Integer), sa.column("question_id", sa.String),
                       sa.column("value", sa.Text))
    responses = sa.table("responses", sa.column("id", sa.Integer), sa.column("answer_data", sa.JSON))
    documents: dict[int, dict] = {}
    rows = connection.execute(sa.select(answers.c.response_id, answers.c.question_id,
                                        sa.cast(answers.c.value, sa.Text)))
    for response_id, question_id, raw in rows:
        documents.setdefault(response_id, {})[question_id] = json.loads(raw)
    for response_id, document in documents.items():
        connection.execute(responses.update().where(responses.c.id == response_id).values(answer_data=document))


def downgrade() -> None:
    with op.batch_alter_table("responses", schema=None) as batch_op:
        batch_op.drop_column("answer_data")
