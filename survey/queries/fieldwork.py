"""What the office and an interviewer's phone read about a field drill:
the round's interviewers with their counts, and the quota per community and
gender x age-group cell with what is still missing."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from analysis.planning import allocate

from ..models import Interviewer, PopulationCell, PracticeResponse, Response, Round, RoundQuota, Unit
from ..vocabulary import STATUS_COMPLETE


def excluded_interviewers(session: Session, round_: Round) -> list[int]:
    """Ids of the round's interviewers the office left out of its results."""
    return list(session.scalars(select(Interviewer.id).where(Interviewer.round_id == round_.id,
                                                             Interviewer.excluded_at.is_not(None))))


def interviewers_of(session: Session, round_: Round) -> list[Interviewer]:
    return list(session.scalars(select(Interviewer).where(Interviewer.round_id == round_.id)
                                .order_by(Interviewer.id)))


def unclaimed_codes(session: Session, round_: Round) -> list[Interviewer]:
    """Sign-up slots still waiting for a phone (what the printable sheet shows)."""
    return list(session.scalars(select(Interviewer).where(
        Interviewer.round_id == round_.id, Interviewer.signup_code.is_not(None),
        Interviewer.revoked_at.is_(None)).order_by(Interviewer.id)))


def counts_by_interviewer(session: Session, round_: Round) -> dict[int, tuple[int, int]]:
    """Interviewer id -> (responses stored, practice answers)."""
    real = dict(session.execute(select(Response.interviewer_id, func.count())
                                .where(Response.round_id == round_.id, Response.interviewer_id.is_not(None))
                                .group_by(Response.interviewer_id)).all())
    practice = dict(session.execute(select(PracticeResponse.interviewer_id, func.count())
                                    .where(PracticeResponse.round_id == round_.id)
                                    .group_by(PracticeResponse.interviewer_id)).all())
    return {i: (real.get(i, 0), practice.get(i, 0)) for i in set(real) | set(practice)}


def practice_count(session: Session, round_: Round) -> int:
    return session.scalar(select(func.count()).select_from(PracticeResponse)
                          .where(PracticeResponse.round_id == round_.id)) or 0


@dataclass(frozen=True)
class CellQuota:
    gender: str
    gender_label: str
    age_group: str
    age_label: str
    #: Interviews wanted in the cell (the community's sample size shared out by population).
    target: int
    done: int

    @property
    def missing(self) -> int:
        return max(0, self.target - self.done)


@dataclass(frozen=True)
class UnitQuota:
    code: str
    name: str
    #: The community's sample size in the round; None when the office set none.
    quota: int | None
    #: Complete, counted responses of the community, by anyone.
    done: int
    #: ... of them by this interviewer.
    mine: int
    cells: list[CellQuota]

    @property
    def missing(self) -> int | None:
        return None if self.quota is None else max(0, self.quota - self.done)


def quota_view(session: Session, interviewer: Interviewer, communities: dict[str, str]) -> list[UnitQuota]:
    """Per community of the interviewer: the round's sample size, split over
    gender x age-group cells in proportion to the population (largest
    remainder, so the cells add up), and how many are done in each."""
    round_ = interviewer.round
    questionnaire = round_.questionnaire_version.parsed
    by_var = {q.variable: q for q in questionnaire.questions if q.variable in ("gender", "age_group")}
    units = {u.code: u for u in session.scalars(select(Unit).where(Unit.code.in_(list(communities))))}
    ids = [u.id for u in units.values()]
    quotas = dict(session.execute(select(RoundQuota.unit_id, RoundQuota.quota)
                                  .where(RoundQuota.round_id == round_.id, RoundQuota.unit_id.in_(ids))).all())
    population: dict[int, dict[tuple[str, str], int]] = {}
    for cell in session.scalars(select(PopulationCell).where(PopulationCell.unit_id.in_(ids))):
        population.setdefault(cell.unit_id, {})[(cell.gender, cell.age_group)] = cell.population
    counted = ((Response.round_id == round_.id) & (Response.status == STATUS_COMPLETE) & Response.voided_at.is_(None)
               & Response.interviewer_id.not_in(excluded_interviewers(session, round_)))
    gender_q, age_q = by_var.get("gender"), by_var.get("age_group")
    done_cells: Counter[tuple[int, str, str]] = Counter()
    if gender_q is not None and age_q is not None and ids:
        # Counted in Python: grouping by a JSON path expression differs per backend
        # (PostgreSQL binds each path as its own parameter); a community has a few hundred rows.
        done_cells = Counter((unit_id, gender or "", age or "") for unit_id, gender, age in session.execute(
            select(Response.unit_id, Response.answer_data[gender_q.id].as_string(),
                   Response.answer_data[age_q.id].as_string()).where(counted, Response.unit_id.in_(ids))))
    done = dict(session.execute(select(Response.unit_id, func.count()).where(counted, Response.unit_id.in_(ids))
                                .group_by(Response.unit_id)).all())
    mine = dict(session.execute(select(Response.unit_id, func.count())
                                .where(counted, Response.interviewer_id == interviewer.id)
                                .group_by(Response.unit_id)).all())

    def words(question, code: str) -> str:
        try:
            return question.option(code).label.zh
        except KeyError:
            return code

    result = []
    for code, name in communities.items():
        unit = units.get(code)
        if unit is None:
            continue
        quota = quotas.get(unit.id)
        cells: list[CellQuota] = []
        pops = population.get(unit.id)
        # Cells in the questionnaire's option order, as the phone lists them; population
        # cells coded otherwise than the questionnaire cannot be matched and give none.
        order = [(g, a) for g in gender_q.codes for a in age_q.codes if (g, a) in (pops or {})] \
            if gender_q is not None and age_q is not None else []
        if quota is not None and order and sum(pops[c] for c in order) > 0:
            targets = allocate(quota, {f"{g}|{a}": pops[(g, a)] for g, a in order})
            cells = [CellQuota(g, words(gender_q, g), a, words(age_q, a), targets[f"{g}|{a}"],
                               done_cells.get((unit.id, g, a), 0)) for g, a in order]
        result.append(UnitQuota(code, name, quota, done.get(unit.id, 0), mine.get(unit.id, 0), cells))
    return result
