"""Live progress of a round, per unit: what the office watches while a drill runs.

Numbers per community, with street subtotals and a total:

* ``today``: responses submitted since midnight in the office's time zone
  (Asia/Shanghai); ``total``: all stored responses (complete or screened out).
* ``completion_rate`` = complete / (complete + screened out): the share of
  the people who answered who were in the surveyed population and finished.
  Only submitted forms are stored, so abandoned forms are not counted.
* ``usable``: complete responses the results will count, i.e. without a
  quality flag the round excludes; ``attainment`` = usable / quota (the quota
  is the sample size the planner asked for, which only usable responses give).
* ``median_seconds``: median of submitted_at - started_at over complete responses.
* quality flags: as stored with each response by the integrity scoring
  (``survey.usecases.integrity``), brought up to date before counting.

Counts come from SQL aggregates; medians and flags from one pass over the
round's rows in Python (``bench/bench_progress.py`` times it on 100,000 responses).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import DateTime, Text, case, cast, func, select, type_coerce
from sqlalchemy.orm import Session

from analysis.integrity import FLAGS

from ..models import Response, Round, RoundQuota, Unit
from ..usecases import integrity
from ..vocabulary import STATUS_COMPLETE
from .fieldwork import excluded_interviewers

OFFICE_TIMEZONE = "Asia/Shanghai"


@dataclass
class UnitProgress:
    """One row of the progress table (a community, a street subtotal or the total)."""

    code: str
    name: str
    kind: str  # "unit", "subtotal" or "total"
    today: int = 0
    total: int = 0
    complete: int = 0
    screened_out: int = 0
    usable: int = 0
    quota: int | None = None
    completion_rate: float | None = None
    attainment: float | None = None
    median_seconds: float | None = None
    flags: dict[str, int] = field(default_factory=lambda: {f: 0 for f in FLAGS})


@dataclass
class RoundProgress:
    round_id: int
    generated_at: str
    day: str
    timezone: str
    #: Flag -> whether the round's results leave its responses out.
    excluded: dict[str, bool]
    rows: list[UnitProgress]
    total: UnitProgress

    def as_dict(self) -> dict:
        return asdict(self)


def _finish(row: UnitProgress, durations: list[float]) -> None:
    row.completion_rate = row.complete / row.total if row.total else None
    row.attainment = row.usable / row.quota if row.quota else None
    row.median_seconds = round(statistics.median(durations), 1) if durations else None


def round_progress(
    session: Session,
    round_: Round,
    now: datetime,
    visible_unit_ids: set[int] | None = None,
    *,
    timezone: str = OFFICE_TIMEZONE,
) -> RoundProgress:
    """Progress per unit of the round. ``visible_unit_ids`` (None = all)
    limits the rows, subtotals and total to what the user may see; bursts are
    always found over the whole round (a burst may cross units)."""
    integrity.ensure_current(session, round_)
    tz = ZoneInfo(timezone)
    local_now = now.astimezone(tz)
    day_start = local_now.replace(hour=0, minute=0, second=0, microsecond=0)

    counts = {
        unit_id: (total, complete, today)
        for unit_id, total, complete, today in session.execute(
            select(
                Response.unit_id,
                func.count(),
                func.sum(case((Response.status == STATUS_COMPLETE, 1), else_=0)),
                func.sum(case((Response.submitted_at >= day_start, 1), else_=0)),
            )
            .where(Response.round_id == round_.id)
            .group_by(Response.unit_id)
        )
    }
    # Plain (naive UTC) datetimes: skipping the UTC TypeDecorator and parsing
    # flags only where there are any keep this pass fast on 100,000 rows.
    naive = DateTime()
    rows = session.execute(
        select(Response.id, Response.unit_id, Response.status, type_coerce(Response.started_at, naive),
               type_coerce(Response.submitted_at, naive),
               Response.voided_at.is_not(None) | Response.interviewer_id.in_(excluded_interviewers(session, round_)),
               cast(Response.quality_flags, Text))
        .where(Response.round_id == round_.id)
    ).all()
    excluded_flags = set(round_.excluded_flags or [])
    quotas = dict(session.execute(
        select(RoundQuota.unit_id, RoundQuota.quota).where(RoundQuota.round_id == round_.id)).all())

    # Per-unit pass: flags, usable counts and durations.
    durations: dict[int, list[float]] = defaultdict(list)
    flag_counts: dict[int, dict[str, int]] = defaultdict(lambda: {f: 0 for f in FLAGS})
    usable: dict[int, int] = defaultdict(int)
    known = set(FLAGS)
    for _id, unit_id, status, started_at, submitted_at, voided, flags_text in rows:
        flags = set(integrity.flags_from_text(flags_text))
        if flags:
            counter = flag_counts[unit_id]
            for flag in flags & known:
                counter[flag] += 1
        if status == STATUS_COMPLETE:
            durations[unit_id].append((submitted_at - started_at).total_seconds())
            if not voided and not (flags and flags & excluded_flags):
                usable[unit_id] += 1

    # Rows: every community of the round's area, plus any unit that has responses.
    area = round_.unit
    area_units = [area, *area.descendants()]
    units = {u.id: u for u in area_units}
    extra_ids = set(counts) - set(units)
    if extra_ids:
        units.update({u.id: u for u in session.scalars(select(Unit).where(Unit.id.in_(extra_ids)))})
    row_units = [u for u in units.values() if u.level == "community" or u.id in counts or u.id in quotas]
    if visible_unit_ids is not None:
        row_units = [u for u in row_units if u.id in visible_unit_ids]

    def street_of(unit: Unit) -> Unit:
        return unit.street

    groups: dict[int, list[Unit]] = defaultdict(list)
    streets: dict[int, Unit] = {}
    for unit in row_units:
        street = street_of(unit)
        groups[street.id].append(unit)
        streets[street.id] = street

    def unit_row(unit: Unit) -> UnitProgress:
        total, complete, today = counts.get(unit.id, (0, 0, 0))
        row = UnitProgress(unit.code, unit.name, "unit", today=int(today or 0), total=int(total),
                           complete=int(complete or 0), usable=usable[unit.id], quota=quotas.get(unit.id),
                           flags=dict(flag_counts[unit.id]))
        row.screened_out = row.total - row.complete
        _finish(row, durations[unit.id])
        return row

    def sum_row(code: str, name: str, kind: str, members: list[Unit], quota: int | None) -> UnitProgress:
        row = UnitProgress(code, name, kind, quota=quota)
        for unit in members:
            total, complete, today = counts.get(unit.id, (0, 0, 0))
            row.total += int(total)
            row.complete += int(complete or 0)
            row.today += int(today or 0)
            row.usable += usable[unit.id]
            for flag, n in flag_counts[unit.id].items():
                row.flags[flag] += n
        row.screened_out = row.total - row.complete
        _finish(row, [d for unit in members for d in durations[unit.id]])
        return row

    def group_quota(street: Unit, members: list[Unit]) -> int | None:
        # A street's own quota if set (and the reader may see the street);
        # otherwise the quotas of its communities they may see add up.
        if street.id in quotas and (visible_unit_ids is None or street.id in visible_unit_ids):
            return quotas[street.id]
        found = [quotas[u.id] for u in members if u.id in quotas]
        return sum(found) if found else None

    table: list[UnitProgress] = []
    group_quotas = []
    for street_id in sorted(groups, key=lambda i: streets[i].code):
        street = streets[street_id]
        members = sorted(groups[street_id], key=lambda u: (u.id != street.id, u.code))
        quota = group_quota(street, members)
        if quota is not None:
            group_quotas.append(quota)
        table += [unit_row(u) for u in members]
        if street.level != "community" and (visible_unit_ids is None or street.id in visible_unit_ids):
            table.append(sum_row(street.code, street.name, "subtotal", members, quota))
    total = sum_row(area.code, area.name, "total", row_units, sum(group_quotas) if group_quotas else None)
    return RoundProgress(
        round_id=round_.id,
        generated_at=now.isoformat(),
        day=local_now.date().isoformat(),
        timezone=timezone,
        excluded={flag: flag in excluded_flags for flag in FLAGS},
        rows=table,
        total=total,
    )
