"""The demo data set: the standard questionnaire, a district with streets and
communities, and an open drill round with a QR channel per community."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from analysis.integrity import IntegrityRules
from questions import STANDARD_QUESTIONNAIRE_PATH, standard_definition

from ..models import PopulationCell, Round, Unit
from ..models.types import utcnow
from .questionnaires import import_questionnaire
from .round_setup import add_channels, create_round
from .submission import Ticket, submit_response

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
    data = standard_definition()
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
            opens_at=now - timedelta(days=7),  # a drill under way for a week
            closes_at=now + open_for,
        )
    add_channels(session, round_, communities)
    session.refresh(round_)
    return round_


#: Demo population by age group (per community and gender): older residents
#: are fewer in the population than among the people a drill reaches.
DEMO_AGE_POPULATION = {"18_29": 900, "30_44": 1100, "45_59": 1000, "60_plus": 800}


def load_demo_population(session: Session) -> int:
    """Population cells for every demo community (replacing earlier ones). Flushes."""
    communities = [
        session.scalar(select(Unit).where(Unit.code == code))
        for members in DEMO_STREETS.values() for code, _ in members
    ]
    created = 0
    for index, unit in enumerate(communities):
        for gender in ("male", "female"):
            for age_group, base in DEMO_AGE_POPULATION.items():
                cell = session.scalar(select(PopulationCell).where(
                    PopulationCell.unit_id == unit.id, PopulationCell.gender == gender,
                    PopulationCell.age_group == age_group))
                if cell is None:
                    cell = PopulationCell(unit=unit, gender=gender, age_group=age_group, population=0)
                    session.add(cell)
                    created += 1
                cell.population = base + 37 * index
    session.flush()
    return created


def simulate_responses(session: Session, round_: Round, count: int, seed: int = 1,
                       screened_share: float = 0.05) -> None:
    """Store ``count`` plausible responses through the real submission service:
    mostly favourable answers (the first options), some screened out, older
    residents over-represented as in a real drill. Flushes; the caller commits."""
    rng = random.Random(seed)
    questionnaire = round_.questionnaire_version.parsed
    channels = list(round_.channels)
    now = utcnow()
    earliest = max(round_.opens_at, now - timedelta(days=7))
    for i in range(count):
        channel = channels[rng.randrange(len(channels))]
        # Communities differ a little, so rankings have something to show.
        skew = 0.35 + 0.3 * (channel.id % 5) / 4
        raw: dict[str, list[str]] = {}
        for q in questionnaire.questions:
            if q.screening is not None:
                eligible = sorted(q.screening.eligible)
                others = [o.code for o in q.options if o.code not in q.screening.eligible]
                raw[q.id] = [others[0] if others and rng.random() < screened_share else eligible[0]]
            elif q.kind.answers_unit:
                raw[q.id] = [channel.unit.code]
            elif q.kind.multiple:
                raw[q.id] = [rng.choice(q.options).code]
            elif q.variable == "age_group":
                raw[q.id] = [rng.choices(q.options, [1, 2, 3, 4][: len(q.options)])[0].code]
            elif q.options:
                weights = [max(0.04, skew ** k) for k in range(len(q.options))]
                raw[q.id] = [rng.choices(q.options, weights)[0].code]
        # Residents arrive on their own over the days the round has been open,
        # as the integrity checks expect of people who are not a burst.
        submitted = now - (now - earliest) * rng.random()
        ticket = Ticket(f"demo-{round_.id}-{seed}-{i}", channel.id, submitted - timedelta(minutes=rng.randint(3, 30)))
        submit_response(session, channel, ticket, raw, device_id=None, network=None, now=submitted,
                        locale="zh", rules=IntegrityRules(), ticket_lifetime=timedelta(hours=6))
