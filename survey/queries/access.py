"""Who may see what, decided here for every console page, chart, download
and API answer. Office administrators see everything; viewers see
everything, read-only; unit staff see their own unit and the units under it.

The decisions views ask:

* a round: ``visible_round`` / ``can_see_round`` (it covers one of the user's units);
* a unit (``?unit=CODE``), a channel (its unit), quotas, communities:
  ``can_see_unit``, ``visible_channels``, ``visible_quotas``, ``visible_communities``;
* a round's results: ``scope_for(session, user, round, unit_code, compare_id)``
  gives a ``ResultScope`` -- the unit the figures are about, the unit codes
  whose rows may be shown, and the round to compare with (one the user may
  see) -- and every results view takes its rows, ranking, weak items,
  changes and chart data through it. Staff never get the overall
  (whole-area) rows unless the round's whole area is theirs;
* downloads of raw answers: ``can_download_raw`` (the office's only);
* interviewer quality: ``can_read_interviewer_quality`` (the office's only);
* single responses (the review pages): reading a response is reading its
  round and unit (``can_see_round`` and ``can_see_unit``: the office all,
  staff their own units' responses); voiding or restoring one is
  ``can_review_unit`` (administrators all, staff within their own units,
  viewers never);
* changes: ``can_change`` (set-up), ``can_change_unit`` and
  ``can_add_site_channels`` (QR site channels).

Views never decide themselves; anything outside the user's reach is
answered 404, so that URL guessing learns nothing. tests/survey/core/test_route_walk.py
walks every route as every role against these decisions.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from analysis.ranking import RankedUnit
from analysis.report import WEAK_ITEMS, ChangeRow, IndicatorResult, Report, WeakItem

from ..input_guard import parse_id
from ..models import Round, RoundQuota, Unit, User
from .reporting import ReportOptions, report_input

WRITE_ROLES = ("admin",)


def visible_unit_ids(session: Session, user: User) -> set[int] | None:
    """Unit ids the user may see; None means all units."""
    if user.role in ("admin", "viewer"):
        return None
    if user.unit is None:
        return set()
    return {user.unit.id, *(u.id for u in user.unit.descendants())}


def can_see_unit(session: Session, user: User, unit: Unit) -> bool:
    visible = visible_unit_ids(session, user)
    return visible is None or unit.id in visible


def can_change(user: User) -> bool:
    """Set-up changes (units, questionnaires, rounds, accounts) are the office's."""
    return user.role in WRITE_ROLES


def top_units(session: Session, user: User) -> list[Unit]:
    """The highest units the user may see (their own, or the tree roots)."""
    if user.role in ("admin", "viewer"):
        return list(session.scalars(select(Unit).where(Unit.parent_id.is_(None)).order_by(Unit.code)))
    return [user.unit] if user.unit is not None else []


def visible_unit_codes(session: Session, user: User) -> set[str] | None:
    """Codes of the units the user may see; None means all."""
    ids = visible_unit_ids(session, user)
    if ids is None:
        return None
    return {code for code in session.scalars(select(Unit.code).where(Unit.id.in_(ids)))}


def can_see_round(session: Session, user: User, round_) -> bool:
    """A round is visible when it covers any unit the user may see."""
    ids = visible_unit_ids(session, user)
    if ids is None:
        return True
    area = {round_.unit_id, *(u.id for u in round_.unit.descendants())}
    return bool(area & ids)


# --- console roles (issue 4 item 1) -----------------------------------------
# admin: everything; viewer: reads everything, changes nothing; staff: reads
# its own unit and the units under it, and may add QR site channels there.


def can_read_all(user: User) -> bool:
    """Administrators and viewers read every unit; staff only their subtree."""
    return user.role in ("admin", "viewer")


def can_change_unit(session: Session, user: User, unit: Unit) -> bool:
    """Unit-level changes (a QR site channel): administrators anywhere, staff
    within their own units; viewers never."""
    if user.role == "admin":
        return True
    return user.role == "staff" and can_see_unit(session, user, unit)


def can_review_unit(session: Session, user: User, unit: Unit) -> bool:
    """Voiding or restoring a response of ``unit`` (with a reason, audited):
    administrators anywhere, staff within their own units (their fieldwork,
    their responses to vouch for); viewers read responses but never decide."""
    if user.role == "admin":
        return True
    return user.role == "staff" and can_see_unit(session, user, unit)


def visible_channels(session: Session, user: User, round_) -> list:
    """The round's channels whose unit the user may see."""
    ids = visible_unit_ids(session, user)
    return [c for c in round_.channels if ids is None or c.unit_id in ids]


# --- the decisions every console and API view asks --------------------------

#: Longest unit code the database stores (``units.code``).
MAX_CODE_LENGTH = 64


class OutOfReach(LookupError):
    """A round, unit or comparison the user may not see (or that does not
    exist): answered 404, so that guessing learns nothing."""


class BadScopeRequest(ValueError):
    """A malformed request (a comparison id that is no number, a round
    compared with itself): answered 400."""


def visible_round(session: Session, user: User, round_id: int | str | None) -> Round | None:
    """The round with this id if the user may see it; None otherwise (also
    for ids that are no row id at all)."""
    number = parse_id(str(round_id)) if round_id is not None else None
    round_ = session.get(Round, number) if number is not None else None
    return round_ if round_ is not None and can_see_round(session, user, round_) else None


def visible_rounds(session: Session, user: User, *, besides: Round | None = None) -> list[Round]:
    """The rounds the user may see, newest first (``besides`` left out: the
    rounds a round can be compared with)."""
    rounds = session.scalars(select(Round).order_by(Round.opens_at.desc(), Round.id.desc()))
    return [r for r in rounds if (besides is None or r.id != besides.id) and can_see_round(session, user, r)]


def visible_communities(session: Session, user: User) -> list[Unit]:
    """The communities the user may see, by code (e.g. a questionnaire preview's choices)."""
    ids = visible_unit_ids(session, user)
    query = select(Unit).where(Unit.level == "community").order_by(Unit.code)
    if ids is not None:
        query = query.where(Unit.id.in_(ids))
    return list(session.scalars(query))


def can_add_site_channels(user: User) -> bool:
    """Administrators, and staff within their own units (see can_change_unit)."""
    return user.role in ("admin", "staff")


def paper_entry_communities(session: Session, user: User, round_: Round) -> list[Unit]:
    """The communities of the round's area whose paper questionnaires the
    user may type in, by code: administrators all of them, staff those within
    their own units, viewers none (they change nothing: 403)."""
    if user.role not in ("admin", "staff"):
        return []
    ids = visible_unit_ids(session, user)
    area = [round_.unit, *round_.unit.descendants()]
    return sorted((u for u in area if u.level == "community" and (ids is None or u.id in ids)),
                  key=lambda u: u.code)


def visible_quotas(session: Session, user: User, round_: Round) -> list[RoundQuota]:
    """The round's quotas of units the user may see, by unit code."""
    ids = visible_unit_ids(session, user)
    return sorted((q for q in round_.quotas if ids is None or q.unit_id in ids), key=lambda q: q.unit.code)


def can_download_raw(user: User) -> bool:
    """The workbook and the raw CSV hold every response of the round: the
    office's (administrators and viewers), never a unit's staff."""
    return can_read_all(user)


def can_read_interviewer_quality(user: User) -> bool:
    """Interviewer quality (each volunteer's figures and flags, across the
    whole round): the office's, administrators and viewers; never a unit's
    staff. Excluding an interviewer is a change: ``can_change``."""
    return can_read_all(user)


def sees_whole_round(session: Session, user: User, round_: Round) -> bool:
    """Whether the round's overall figures (its whole area) are the user's:
    administrators and viewers always; staff only when the round's area lies
    within their own units."""
    ids = visible_unit_ids(session, user)
    return ids is None or round_.unit_id in ids


def _unit_by_code(session: Session, code: str) -> Unit | None:
    if not code or len(code) > MAX_CODE_LENGTH or "\x00" in code:
        return None  # no such code can be stored; PostgreSQL refuses NUL in text
    return session.scalar(select(Unit).where(Unit.code == code))


def _subtree_codes(unit: Unit) -> set[str]:
    return {unit.code, *(u.code for u in unit.descendants())}


@dataclass(frozen=True)
class ResultScope:
    """What one user may see of one round's results, asked for with
    ``?unit=CODE`` and ``?compare=ID``: every results page, chart, download
    and API answer takes its rows through here.

    ``unit`` is the unit the figures are about (None: the round's whole
    area); ``codes`` the units whose rows may be shown (None: all). Staff
    always have a unit and codes: the overall (whole-area) rows, and the
    overall change rows, are never theirs unless the round's whole area is
    within their units.
    """

    round: Round
    unit: Unit | None
    codes: frozenset[str] | None
    compare: Round | None

    @property
    def shows_overall(self) -> bool:
        return self.unit is None

    def shows(self, domain: str | None) -> bool:
        """Whether a row of this domain (a unit code; None = overall) may be shown."""
        if domain is None:
            return self.shows_overall
        return self.codes is None or domain in self.codes

    # -- the report's parts, cut to the scope -------------------------------

    def headline(self, report: Report) -> list[IndicatorResult]:
        """The main rows: the whole area's, or the scope unit's own."""
        return list(report.overall) if self.unit is None else report.rows_for(self.unit.code)

    def streets(self, report: Report) -> list[IndicatorResult]:
        return [r for r in report.by_street if self.shows(r.domain)]

    def communities(self, report: Report) -> list[IndicatorResult]:
        return [r for r in report.by_unit if self.shows(r.domain)]

    def ranking(self, report: Report) -> list[RankedUnit]:
        return [r for r in report.ranking if self.shows(r.unit)]

    def weak_items(self, report: Report) -> list[WeakItem]:
        """The worst items among those shown (not the whole area's worst, cut)."""
        return [w for w in report.all_weak_items if self.shows(w.domain)][:WEAK_ITEMS]

    def changes(self, report: Report) -> list[ChangeRow]:
        return [c for c in report.changes if self.shows(c.domain)]

    def chart_changes(self, report: Report) -> list[ChangeRow]:
        """The change chart: the whole area's change rows, or, for a unit,
        the change rows of its subtree (never the overall ones)."""
        if self.unit is None:
            return [c for c in report.changes if c.domain is None]
        return [c for c in report.changes if c.domain is not None and self.shows(c.domain)]

    def unjudged(self, report: Report) -> int:
        """How many of the shown results have too few data for a verdict."""
        shown = {id(r): r for r in (*self.headline(report), *self.streets(report), *self.communities(report))}
        return sum(r.verdict == "insufficient" for r in shown.values())

    def pdf_units(self) -> tuple[str | None, tuple[str, ...]]:
        """The unit a PDF report is about (None: the round's) and its sub-units."""
        if self.unit is None:
            return None, ()
        return self.unit.code, tuple(u.code for u in self.unit.descendants())


def scope_for(session: Session, user: User, round_: Round, unit_code: str | None = None,
              compare_id: int | str | None = None) -> ResultScope:
    """The scope of ``round_``'s results for ``user``.

    :raises OutOfReach: the round, the unit or the round to compare with is
        not the user's to see (or does not exist).
    :raises BadScopeRequest: ``compare_id`` is no number, or the round itself.
    """
    if not can_see_round(session, user, round_):
        raise OutOfReach("round")
    visible = visible_unit_codes(session, user)
    if unit_code:
        unit = _unit_by_code(session, unit_code)
        if unit is None or (visible is not None and unit.code not in visible):
            raise OutOfReach("unit")
    elif sees_whole_round(session, user, round_):
        unit = None
    else:
        unit = user.unit  # staff: their own unit, never the whole area
    if unit is None:
        codes = None if visible is None else frozenset(visible)
    else:
        codes = frozenset(_subtree_codes(unit) if visible is None else _subtree_codes(unit) & visible)
    compare = None
    if compare_id not in (None, ""):
        if isinstance(compare_id, str) and not compare_id.strip().isdigit():
            raise BadScopeRequest("compare")
        compare = visible_round(session, user, compare_id)
        if compare is None:
            raise OutOfReach("compare")
        if compare.id == round_.id:
            raise BadScopeRequest("compare")
    return ResultScope(round=round_, unit=unit, codes=codes, compare=compare)


def scoped_report(session: Session, round_: Round, options: ReportOptions, report: Report,
                  scope: ResultScope) -> Report:
    """The report with its response counts cut to the scope: a unit's page
    (and every staff page) counts the responses of that unit's subtree, as
    the rounds list and the progress page do, never the whole round's.

    The rows themselves are cut by ``scope`` where they are shown; the
    counts need the per-response arrays, read from the report's cache.
    """
    if scope.shows_overall and scope.codes is None:
        return report
    data = report_input(session, round_, options)
    mine = np.isin(data.unit, sorted(scope.codes)) if scope.codes is not None else np.ones(len(data.unit), bool)
    counts = {"n_rows": int(np.count_nonzero(mine)), "n_used": int(np.count_nonzero(mine & ~data.excluded)),
              # the reasons are counted over the whole round: a unit's page gives only its total left out
              "exclusions": {}}
    return replace(report, methodology=replace(report.methodology, **counts))
