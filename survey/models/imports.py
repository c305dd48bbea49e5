"""Answers brought in from files: each import of a file into a round, the
column mappings users confirmed, so the next file of the same
questionnaire maps itself, and files uploaded but not yet confirmed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .round import Round
from .types import UTCDateTime, utcnow
from .user import User


class ResponseImport(db.Model):
    """One file imported into a round (all its rows or none)."""

    __tablename__ = "response_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), index=True)
    #: ``wjx`` (问卷星), ``minyi`` (Minyi's own export) or ``table`` (a template or other sheet).
    source: Mapped[str] = mapped_column(String(16))
    filename: Mapped[str] = mapped_column(String(200))
    #: SHA-256 of the file's bytes.
    sha256: Mapped[str] = mapped_column(String(64))
    #: Rows stored by this import (rows already stored by an earlier one are not counted).
    stored: Mapped[int]
    duplicates: Mapped[int]
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    round: Mapped[Round] = relationship()
    user: Mapped[User | None] = relationship()


class ImportMapping(db.Model):
    """A header text of a file -> the question it holds ("" to ignore), as a
    user confirmed it for a questionnaire version."""

    __tablename__ = "import_mappings"
    __table_args__ = (UniqueConstraint("questionnaire_version_id", "header"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    questionnaire_version_id: Mapped[int] = mapped_column(ForeignKey("questionnaire_versions.id"), index=True)
    header: Mapped[str] = mapped_column(String(500))
    question_id: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class PendingImport(db.Model):
    """A file uploaded on the console's import page, kept between its preview
    and the user's confirmation. In the database, not on disk: the next
    request may reach another worker on another machine. Deleted once
    imported, or a day after its upload (when a later upload is made)."""

    __tablename__ = "pending_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The preview's address names the upload by this random token.
    token: Mapped[str] = mapped_column(String(43), unique=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), index=True)
    #: Only the uploader previews and imports it.
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    filename: Mapped[str] = mapped_column(String(200))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
