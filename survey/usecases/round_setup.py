"""Setting up a round from the console: create it with its channels, set
targets and quotas (suggested by ``analysis.planning``), open and close it,
add site channels. Every change is audit-logged in the caller's transaction;
every function checks everything before it writes, so a refused change
leaves nothing half-done.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from analysis.integrity import FLAGS
from analysis.planning import allocate, sample_size

from ..exceptions import SetupError
from ..models import Channel, PopulationCell, QuestionnaireVersion, Round, RoundQuota, Unit, User
from ..models.round import ROUND_KINDS
from . import audit
from .questionnaires import publish

#: Quality flags stored with each response that a round may leave out of its results.
EXCLUDABLE_FLAGS = FLAGS
SITE_MAX_LENGTH = 100

#: The planner's defaults for a suggested quota per community: a margin of
#: 5 points at 95% for an expected rate of 80% and a design effect of 1.5.
SUGGEST_MARGIN = 0.05
SUGGEST_LEVEL = 0.95
SUGGEST_RATE = 0.8
SUGGEST_DEFF = 1.5


def create_round(
    session: Session,
    *,
    name: str,
    kind: str,
    questionnaire_version: QuestionnaireVersion,
    unit: Unit,
    opens_at: datetime,
    closes_at: datetime,
    targets: dict[str, float] | None = None,
    one_response_per_device: bool = True,
) -> Round:
    """Create a round and publish its questionnaire version. Flushes.

    :raises SetupError: unknown kind, closing before opening, bad targets.
    """
    if kind not in ROUND_KINDS:
        raise SetupError(f"round kind must be one of {', '.join(ROUND_KINDS)}, not {kind!r}")
    if closes_at <= opens_at:
        raise SetupError(_("The round must close after it opens."))
    indicators = questionnaire_version.parsed.indicators
    for key, value in (targets or {}).items():
        if key not in indicators:
            raise SetupError(f"target for unknown indicator {key!r}")
        if not 0 < float(value) <= 1:
            raise SetupError(f"target for {key!r} must be in (0, 1], not {value}")
    round_ = Round(
        name=name,
        kind=kind,
        questionnaire_version=questionnaire_version,
        unit=unit,
        opens_at=opens_at,
        closes_at=closes_at,
        targets=dict(targets or {}),
        one_response_per_device=one_response_per_device,
    )
    publish(questionnaire_version)
    session.add(round_)
    session.flush()
    return round_


def add_channels(session: Session, round_: Round, units: Iterable[Unit], site: str = "") -> list[Channel]:
    """One channel per unit (per site), skipping those that exist. Flushes."""
    existing = {
        (c.unit_id, c.site)
        for c in session.scalars(select(Channel).where(Channel.round_id == round_.id))
    }
    created = []
    for unit in units:
        if (unit.id, site) in existing:
            continue
        channel = Channel(round=round_, unit=unit, site=site)
        session.add(channel)
        created.append(channel)
    session.flush()
    return created


def round_communities(round_: Round) -> list[Unit]:
    """The communities the round covers (its area unit if it has none below it)."""
    area = round_.unit
    found = [u for u in [area, *area.descendants()] if u.level == "community"]
    return found or [area]


def create_round_with_channels(
    session: Session,
    actor: User | None,
    *,
    name: str,
    kind: str,
    questionnaire_version: QuestionnaireVersion,
    unit: Unit,
    opens_at: datetime,
    closes_at: datetime,
    one_response_per_device: bool = True,
    excluded_flags: Iterable[str] = ("too_fast",),
    targets: Mapping[str, float] | None = None,
) -> Round:
    """Create a round, publish its questionnaire version and make one QR
    channel per community it covers. Flushes.

    :raises SetupError: empty name, unknown kind or flag, closing before opening, bad targets.
    """
    name = (name or "").strip()
    if not name:
        raise SetupError(_("The round needs a name."))
    flags = sorted(set(excluded_flags))
    unknown = [f for f in flags if f not in EXCLUDABLE_FLAGS]
    if unknown:
        raise SetupError(_("Unknown quality flag(s): %(flags)s.", flags=", ".join(unknown)))
    round_ = create_round(
        session, name=name, kind=kind, questionnaire_version=questionnaire_version, unit=unit,
        opens_at=opens_at, closes_at=closes_at, targets=dict(targets or {}),
        one_response_per_device=one_response_per_device,
    )
    round_.excluded_flags = flags
    channels = add_channels(session, round_, round_communities(round_))
    audit.record(session, actor, "round.create", f"round:{round_.id}", name=name, kind=kind,
                 unit=unit.code, questionnaire_version=questionnaire_version.id,
                 opens_at=opens_at.isoformat(), closes_at=closes_at.isoformat(),
                 one_response_per_device=one_response_per_device, excluded_flags=flags,
                 channels=len(channels))
    return round_


def set_targets(session: Session, actor: User | None, round_: Round, targets: Mapping[str, float | None]) -> None:
    """Replace the round's own targets; an indicator given None (or left out)
    inherits the questionnaire's default. Targets are shares in (0, 1]. Flushes.

    :raises SetupError: every unknown indicator or out-of-range value, in one message.
    """
    indicators = round_.questionnaire_version.parsed.indicators
    problems = []
    clean: dict[str, float] = {}
    for key, value in targets.items():
        if key not in indicators:
            problems.append(_("Unknown indicator %(key)s.", key=key))
        elif value is not None:
            if not 0 < float(value) <= 1:
                problems.append(_("The target for %(key)s must be above 0%% and at most 100%%.", key=key))
            else:
                clean[key] = round(float(value), 4)
    if problems:
        raise SetupError(" ".join(problems))
    before = dict(round_.targets or {})
    round_.targets = clean
    session.flush()
    audit.record(session, actor, "round.targets", f"round:{round_.id}", before=before, after=clean)


#: Bounds of the per-round statistics settings (the database checks them too).
STATISTICS_SETTING_RANGE = (1, 1000)


def set_excluded_flags(session: Session, actor: User | None, round_: Round, flags: Iterable[str]) -> None:
    """Choose which flagged responses the round's results leave out. Flushes.

    :raises SetupError: an unknown flag.
    """
    chosen = [f for f in EXCLUDABLE_FLAGS if f in set(flags)]
    unknown = sorted(set(flags) - set(EXCLUDABLE_FLAGS))
    if unknown:
        raise SetupError(_("Unknown quality flag(s): %(flags)s.", flags=", ".join(unknown)))
    before = list(round_.excluded_flags or [])
    round_.excluded_flags = chosen
    session.flush()
    audit.record(session, actor, "round.exclusions", f"round:{round_.id}", before=before, after=chosen)


def set_statistics(session: Session, actor: User | None, round_: Round, *, min_verdict_respondents: int,
                   min_weighting_cell: int) -> None:
    """Set when a unit's data carry a verdict and how thin a weighting cell may be. Flushes.

    :raises SetupError: a value that is not a whole number from 1 to 1000.
    """
    low, high = STATISTICS_SETTING_RANGE
    for value in (min_verdict_respondents, min_weighting_cell):
        if not isinstance(value, int) or not low <= value <= high:
            raise SetupError(_("Give a whole number from %(low)s to %(high)s.", low=low, high=high))
    before = {"min_verdict_respondents": round_.min_verdict_respondents,
              "min_weighting_cell": round_.min_weighting_cell}
    round_.min_verdict_respondents = min_verdict_respondents
    round_.min_weighting_cell = min_weighting_cell
    session.flush()
    audit.record(session, actor, "round.statistics", f"round:{round_.id}", before=before,
                 after={"min_verdict_respondents": min_verdict_respondents, "min_weighting_cell": min_weighting_cell})


def set_quotas(session: Session, actor: User | None, round_: Round, quotas: Mapping[int, int | None]) -> None:
    """Replace the round's quotas (unit id -> wanted responses; None removes
    the unit's quota). Only units the round covers. Flushes.

    :raises SetupError: a unit outside the round's area or a negative quota.
    """
    area = {round_.unit_id, *(u.id for u in round_.unit.descendants())}
    problems = []
    for unit_id, quota in quotas.items():
        if unit_id not in area:
            problems.append(_("Unit %(id)s is not in the round's area.", id=unit_id))
        elif quota is not None and (int(quota) != quota or quota < 0):
            problems.append(_("A quota must be a whole number of 0 or more."))
    if problems:
        raise SetupError(" ".join(problems))
    existing = {q.unit_id: q for q in round_.quotas}
    for unit_id, quota in quotas.items():
        row = existing.get(unit_id)
        if quota is None:
            if row is not None:
                round_.quotas.remove(row)
        elif row is None:
            round_.quotas.append(RoundQuota(unit_id=unit_id, quota=int(quota)))
        else:
            row.quota = int(quota)
    session.flush()
    codes = {u.id: u.code for u in session.scalars(select(Unit).where(Unit.id.in_(list(quotas))))}
    audit.record(session, actor, "round.quotas", f"round:{round_.id}",
                 quotas={codes[k]: v for k, v in quotas.items()})


def population_totals(session: Session, units: Iterable[Unit]) -> dict[int, int]:
    """Unit id -> total population in its cells (0 when the unit has none)."""
    ids = [u.id for u in units]
    rows = session.execute(
        select(PopulationCell.unit_id, func.sum(PopulationCell.population))
        .where(PopulationCell.unit_id.in_(ids))
        .group_by(PopulationCell.unit_id)
    )
    totals = {unit_id: 0 for unit_id in ids}
    totals.update({unit_id: int(total or 0) for unit_id, total in rows})
    return totals


@dataclass(frozen=True)
class QuotaSuggestion:
    """Suggested quota per community (unit id -> interviews) and how it was made."""

    quotas: dict[int, int]
    method: str
    #: Communities without population figures (planned without the finite
    #: population correction, or given the minimum when allocating).
    without_population: list[int]


def suggest_quotas(
    session: Session,
    round_: Round,
    method: Literal["sample_size", "allocate"] = "sample_size",
    *,
    total: int | None = None,
    minimum: int = 0,
) -> QuotaSuggestion:
    """Quotas for the round's communities from ``analysis.planning``.

    ``sample_size``: each community on its own, enough for a 5-point margin at
    95% when the rate is near 80% with a design effect of 1.5, corrected for
    its population (``planning.sample_size``). ``allocate``: ``total``
    interviews split in proportion to population with at least ``minimum``
    per community (``planning.allocate``).

    :raises SetupError: unknown method, missing or impossible total.
    """
    communities = round_communities(round_)
    populations = population_totals(session, communities)
    missing = [u.id for u in communities if populations[u.id] <= 0]
    if method == "sample_size":
        quotas = {
            u.id: sample_size(SUGGEST_MARGIN, level=SUGGEST_LEVEL, rate=SUGGEST_RATE, deff=SUGGEST_DEFF,
                              population=populations[u.id] or None)
            for u in communities
        }
    elif method == "allocate":
        if total is None or total <= 0:
            raise SetupError(_("Give the total number of interviews to split."))
        try:
            quotas = allocate(int(total), {u.id: populations[u.id] for u in communities},
                              method="proportional", minimum=int(minimum))
        except ValueError as exc:
            raise SetupError(_("These quotas cannot be split: %(reason)s.", reason=str(exc))) from exc
    else:
        raise SetupError(f"unknown suggestion method {method!r}; use sample_size or allocate")
    return QuotaSuggestion(quotas, method, missing)


def open_now(session: Session, actor: User | None, round_: Round, now: datetime) -> None:
    """Open a round that has not opened yet. Flushes.

    :raises SetupError: the round is already open, or has closed.
    """
    state = round_.state_at(now)
    if state == "open":
        raise SetupError(_("The round is already open."))
    if state == "closed":
        raise SetupError(_("The round has closed; a closed round is not opened again."))
    before = round_.opens_at
    round_.opens_at = now
    session.flush()
    audit.record(session, actor, "round.open", f"round:{round_.id}", before=before.isoformat(),
                 opens_at=now.isoformat())


def close_now(session: Session, actor: User | None, round_: Round, now: datetime) -> None:
    """Close an open round at ``now``. Flushes.

    :raises SetupError: the round is not open.
    """
    if round_.state_at(now) != "open":
        raise SetupError(_("Only an open round can be closed."))
    before = round_.closes_at
    # closes_at must stay after opens_at (a CHECK constraint); a round opened
    # this very instant closes a moment later.
    round_.closes_at = max(now, round_.opens_at + timedelta(seconds=1))
    session.flush()
    audit.record(session, actor, "round.close", f"round:{round_.id}", before=before.isoformat(),
                 closes_at=round_.closes_at.isoformat())


def add_site_channel(session: Session, actor: User | None, round_: Round, unit: Unit, site: str) -> Channel:
    """A further QR channel for a place within a unit (e.g. 北门公告栏). Flushes.

    :raises SetupError: no site name, too long, unit outside the round, or the site exists.
    """
    site = (site or "").strip()
    if not site:
        raise SetupError(_("Name the site where the poster will hang."))
    if len(site) > SITE_MAX_LENGTH:
        raise SetupError(_("The site name is too long (at most %(n)s characters).", n=SITE_MAX_LENGTH))
    area = {round_.unit_id, *(u.id for u in round_.unit.descendants())}
    if unit.id not in area:
        raise SetupError(_("%(unit)s is not in the round's area.", unit=unit.name))
    created = add_channels(session, round_, [unit], site=site)
    if not created:
        raise SetupError(_("%(unit)s already has a channel for %(site)s.", unit=unit.name, site=site))
    channel = created[0]
    audit.record(session, actor, "channel.create", f"channel:{channel.id}", round=round_.id,
                 unit=unit.code, site=site)
    return channel
