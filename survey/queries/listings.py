"""Lists the console's forms and pages offer: units, questionnaire versions,
accounts and tokens, in the order people look for them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import ApiToken, QuestionnaireVersion, Unit, User


def all_units(session: Session) -> list[Unit]:
    """Every unit, by code."""
    return list(session.scalars(select(Unit).order_by(Unit.code)))


def round_area_choices(session: Session) -> list[Unit]:
    """Units a round can cover: districts and streets first, then communities, each by code."""
    areas = session.scalars(select(Unit).where(Unit.level != "community").order_by(Unit.code)).all()
    communities = session.scalars(select(Unit).where(Unit.level == "community").order_by(Unit.code)).all()
    return [*areas, *communities]


def questionnaire_versions(session: Session) -> list[QuestionnaireVersion]:
    """Stored versions, grouped by questionnaire, newest version first."""
    return list(session.scalars(
        select(QuestionnaireVersion)
        .order_by(QuestionnaireVersion.questionnaire_id, QuestionnaireVersion.version.desc())
    ))


def user_by_username(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username.strip()))


def active_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).where(User.active.is_(True)).order_by(User.username)))


def api_tokens(session: Session) -> list[ApiToken]:
    """Every token, newest first (revoked ones too: the page shows when)."""
    return list(session.scalars(select(ApiToken).order_by(ApiToken.created_at.desc())))
