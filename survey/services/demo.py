"""The demo data set: the standard questionnaire, a district with streets and
communities, and an open drill round with a QR channel per community."""

from __future__ import annotations

from datetime import timedelta

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from questions import STANDARD_QUESTIONNAIRE_PATH

from ..models import Round, Unit
from ..models.types import utcnow
from .questionnaires import import_questionnaire
from .rounds import add_channels, create_round

DEMO_DISTRICT = ("D01", "示范区")
DEMO_STREETS = {
    ("D01-S01", "东风街道"): [("D01-S01-C01", "花园社区"), ("D01-S01-C02", "光明社区"), ("D01-S01-C03", "和平社区")],
    ("D01-S02", "新华街道"): [("D01-S02-C01", "文苑社区"), ("D01-S02-C02", "育才社区"), ("D01-S02-C03", "滨河社区")],
    ("D01-S03", "城南街道"): [("D01-S03-C01", "南苑社区"), ("D01-S03-C02", "幸福社区")],
}
DEMO_ROUND_NAME = "2026年创文第一次模拟问卷调查"


def _unit(session: Session, code: str, name: str, level: str, parent: Unit | None) -> Unit:
    unit = session.scalar(select(Unit).where(Unit.code == code))
    if unit is None:
        unit = Unit(code=code, name=name, level=level, parent=parent)
        session.add(unit)
    return unit


def load_demo(session: Session, open_for: timedelta = timedelta(days=30)) -> Round:
    """Create the demo (or reuse what an earlier run made). Flushes."""
    data = yaml.safe_load(STANDARD_QUESTIONNAIRE_PATH.read_text(encoding="utf-8"))
    version, _ = import_questionnaire(session, data, source=STANDARD_QUESTIONNAIRE_PATH.name)
    district = _unit(session, *DEMO_DISTRICT, "district", None)
    communities = []
    for (street_code, street_name), members in DEMO_STREETS.items():
        street = _unit(session, street_code, street_name, "street", district)
        communities += [_unit(session, code, name, "community", street) for code, name in members]
    session.flush()

    now = utcnow()
    round_ = session.scalar(
        select(Round).where(Round.name == DEMO_ROUND_NAME, Round.closes_at > now).order_by(Round.id.desc())
    )
    if round_ is None:
        round_ = create_round(
            session,
            name=DEMO_ROUND_NAME,
            kind="drill",
            questionnaire_version=version,
            unit=district,
            opens_at=now - timedelta(minutes=5),
            closes_at=now + open_for,
        )
    add_channels(session, round_, communities)
    session.refresh(round_)
    return round_
