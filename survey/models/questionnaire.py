"""Questionnaires and their immutable published versions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from questions import Questionnaire as QuestionnaireDefinition
from questions import parse_questionnaire

from ..extensions import db
from .types import UTCDateTime, utcnow


class PublishedVersionChanged(RuntimeError):
    """A published questionnaire version was about to be modified."""


class Questionnaire(db.Model):
    __tablename__ = "questionnaires"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The ``code`` from the questionnaire file; versions share it.
    code: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(300))

    versions: Mapped[list[QuestionnaireVersion]] = relationship(
        back_populates="questionnaire", order_by="QuestionnaireVersion.version"
    )


class QuestionnaireVersion(db.Model):
    __tablename__ = "questionnaire_versions"
    __table_args__ = (UniqueConstraint("questionnaire_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    questionnaire_id: Mapped[int] = mapped_column(ForeignKey("questionnaires.id"))
    version: Mapped[int]
    #: The validated questionnaire file as data (the YAML parsed to a dict).
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: SHA-256 of the canonical JSON of ``definition``.
    checksum: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Set when a round first uses this version; from then on it never changes.
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    questionnaire: Mapped[Questionnaire] = relationship(back_populates="versions")

    @property
    def parsed(self) -> QuestionnaireDefinition:
        """The definition as ``questions`` schema objects.

        Parsed once per process and content: validating the definition on
        every request would cost more than the rest of a submission.
        """
        return _parse_cached(self.checksum, self.id, self.definition)

    @property
    def is_published(self) -> bool:
        return self.published_at is not None


_parsed_by_checksum: dict[str, QuestionnaireDefinition] = {}


def _parse_cached(checksum: str, version_id: int, definition: dict[str, Any]) -> QuestionnaireDefinition:
    # Keyed by content checksum, so an edited draft is parsed afresh.
    found = _parsed_by_checksum.get(checksum)
    if found is None:
        found = parse_questionnaire(definition, source=f"questionnaire version {version_id}")
        if len(_parsed_by_checksum) > 256:
            _parsed_by_checksum.clear()
        _parsed_by_checksum[checksum] = found
    return found


@event.listens_for(QuestionnaireVersion, "before_update")
def _refuse_changes_to_published(mapper, connection, target: QuestionnaireVersion) -> None:
    # Answers are stored by question id and option code; changing a published
    # definition would silently change what collected answers mean.
    state = db.inspect(target)
    published = state.attrs.published_at.history
    was_published = any(v is not None for v in [*published.unchanged, *published.deleted])
    if was_published and state.attrs.definition.history.has_changes():
        raise PublishedVersionChanged(
            f"questionnaire version {target.version} is published and cannot change"
        )
