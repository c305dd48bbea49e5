"""Importing questionnaire files as versions.

Files are read with :func:`questions.read_questionnaire_file`, bounded in size, nesting
and values; every refusal becomes a :class:`SetupError` in the office's
language.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

import questions
from questions import QuestionnaireError, QuestionnaireFileError, check_definition, parse_questionnaire
from questions.bounded import MAX_FILE_CHARACTERS

from ..exceptions import SetupError
from ..models import Questionnaire, QuestionnaireVersion
from ..models.types import utcnow


def definition_checksum(definition: dict[str, Any]) -> str:
    canonical = json.dumps(definition, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


#: Title column width (``questionnaires.title``).
MAX_TITLE_LENGTH = 300


def read_questionnaire_file(filename: str, data: bytes) -> Any:
    """The definition in an uploaded questionnaire file (YAML), not yet validated.

    :raises SetupError: too large, not UTF-8, not YAML, nested too deep, too
        many values, or values a definition cannot hold; the message names the
        file (and the line or key where known), in the office's language.
    """
    try:
        return questions.read_questionnaire_file(filename, data)
    except QuestionnaireFileError as exc:
        raise SetupError(file_error_message(exc)) from None


def file_error_message(exc: QuestionnaireFileError) -> str:
    """A :class:`QuestionnaireFileError` in the office's language."""
    where = exc.where or ""
    if exc.reason == "encoding":
        return _("%(file)s: the file is not UTF-8 text.", file=exc.source)
    if exc.reason == "too_large":
        return _("%(file)s: the file is larger than %(size)s KB.", file=exc.source, size=(exc.limit or 0) // 1024)
    if exc.reason == "too_deep":
        return _("%(file)s: the file is nested more than %(max)s levels deep.", file=exc.source, max=exc.limit)
    if exc.reason == "too_many_values":
        return _("%(file)s: the file has more than %(max)s values (do anchors and aliases repeat parts of it?).",
                 file=exc.source, max=exc.limit)
    if exc.reason == "text_too_long":
        return _("%(file)s: %(where)s: a text is longer than %(max)s characters.", file=exc.source, where=where,
                 max=exc.limit)
    if exc.reason == "characters" and not where:
        return _("%(file)s: the file contains control characters.", file=exc.source)
    if exc.reason == "characters":
        return _("%(file)s: %(where)s: a text contains control characters.", file=exc.source, where=where)
    if exc.reason == "value_type":
        return _("%(file)s: %(where)s: this value cannot be stored (a date, binary data, a set, a number that is "
                 "not finite or far too large); put it in quotes.", file=exc.source, where=where)
    if exc.line:
        return _("%(file)s: not valid YAML at line %(line)s; check the indentation, colons and quotation marks "
                 "there.", file=exc.source, line=exc.line)
    return _("%(file)s: not valid YAML; check the indentation, colons and quotation marks.", file=exc.source)


def import_questionnaire_file(session: Session, path: Path) -> tuple[QuestionnaireVersion, bool]:
    """Read, validate and store a questionnaire file. See ``import_questionnaire``.

    :raises SetupError: unreadable file or invalid YAML.
    :raises QuestionnaireError: the file breaks the format (every problem listed).
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > 4 * MAX_FILE_CHARACTERS:
            raise SetupError(_("%(file)s: the file is larger than %(size)s KB.", file=path.name,
                               size=MAX_FILE_CHARACTERS // 1024))
        data = path.read_bytes()
    except OSError as exc:
        raise SetupError(f"{path}: cannot read file: {exc}") from exc
    return import_questionnaire(session, read_questionnaire_file(path.name, data), source=path.name)


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
    try:
        check_definition(data, source)
    except QuestionnaireFileError as exc:
        raise SetupError(file_error_message(exc)) from None
    parsed = parse_questionnaire(data, source=source)  # raises QuestionnaireError
    if len(parsed.title.zh) > MAX_TITLE_LENGTH:
        raise SetupError(_("%(file)s: the title is longer than %(max)s characters.", file=source,
                           max=MAX_TITLE_LENGTH))
    try:
        checksum = definition_checksum(data)
    except (TypeError, ValueError):  # keys of mixed kinds that the format checks let through
        raise SetupError(_("%(file)s: the file cannot be stored; check that every key is plain text.",
                           file=source)) from None
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


__all__ = ["QuestionnaireError", "definition_checksum", "file_error_message", "import_questionnaire",
           "import_questionnaire_file", "publish", "read_questionnaire_file"]
