"""Importing questionnaire files as versions."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from questions import QuestionnaireError, parse_questionnaire

from ..exceptions import SetupError
from ..models import Questionnaire, QuestionnaireVersion
from ..models.types import utcnow


def definition_checksum(definition: dict[str, Any]) -> str:
    canonical = json.dumps(definition, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def import_questionnaire_file(session: Session, path: Path) -> tuple[QuestionnaireVersion, bool]:
    """Read, validate and store a questionnaire file. See ``import_questionnaire``.

    :raises SetupError: unreadable file or invalid YAML.
    :raises QuestionnaireError: the file breaks the format (every problem listed).
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SetupError(f"{path}: cannot read file: {exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SetupError(f"{Path(path).name}: not valid YAML: {exc}") from exc
    return import_questionnaire(session, data, source=Path(path).name)


def import_questionnaire(
    session: Session, data: Any, source: str = "<data>"
) -> tuple[QuestionnaireVersion, bool]:
    """Store a questionnaire definition as a version; return it and whether it is new.

    The same content again is a no-op. New content under the version number of
    a draft replaces the draft; under a published version it is refused,
    because answers were collected against that version.
    Flushes; the caller commits.

    :raises QuestionnaireError: the definition breaks the format.
    :raises SetupError: the version is published with other content.
    """
    parsed = parse_questionnaire(data, source=source)  # raises QuestionnaireError
    checksum = definition_checksum(data)
    questionnaire = session.scalar(select(Questionnaire).where(Questionnaire.code == parsed.code))
    if questionnaire is None:
        questionnaire = Questionnaire(code=parsed.code, title=parsed.title.zh)
        session.add(questionnaire)
        session.flush()
    version = session.scalar(
        select(QuestionnaireVersion).where(
            QuestionnaireVersion.questionnaire_id == questionnaire.id,
            QuestionnaireVersion.version == parsed.version,
        )
    )
    if version is not None and version.checksum == checksum:
        return version, False
    if version is not None and version.is_published:
        raise SetupError(
            f"{source}: version {parsed.version} of '{parsed.code}' is already in use by a round "
            f"and cannot change; give the changed questionnaire a new version number"
        )
    if version is None:
        version = QuestionnaireVersion(questionnaire=questionnaire, version=parsed.version)
        session.add(version)
    version.definition = data
    version.checksum = checksum
    questionnaire.title = parsed.title.zh
    session.flush()
    return version, True


def publish(version: QuestionnaireVersion) -> None:
    """Freeze a version: from now on answers refer to it."""
    if version.published_at is None:
        version.published_at = utcnow()


__all__ = ["QuestionnaireError", "definition_checksum", "import_questionnaire", "import_questionnaire_file", "publish"]
