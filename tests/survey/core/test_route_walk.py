"""The route walk: every console, API and public rule of the app's URL map,
its placeholders filled for a district of two streets (three rounds with
responses), requested as every identity -- anonymous, administrator, viewer,
staff of street A, staff of a community in street B, and an API token of
each role (plus a revoked one) for the API.

The rules are read from ``app.url_map``: a rule without an entry in
``EXPECTATIONS`` fails the walk, so a new route cannot be forgotten.

For every request the walk asserts:

* no 5xx;
* the status the expectations table gives for the identity;
* staff never receive another unit's or a hidden round's name (pages, JSON,
  PDF text, error pages alike), never the overall (district-wide) rows, and
  every chart, PDF and API answer they get draws only their own subtree's rows
  (the chart and PDF renderers are wrapped to record the rows they draw).

Identical renderer inputs are rendered once (a PDF takes a second): the
walk checks what is drawn for every request, and renders each distinct
chart and report once.
"""

from __future__ import annotations

import io
import itertools
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from flask import template_rendered
from pypdf import PdfReader
from sqlalchemy import func, select

from survey.extensions import db
from survey.models import ApiToken, Response, Round, Unit
from survey.models.types import utcnow
from survey.usecases import api_tokens, fieldwork
from survey.usecases.demo import load_demo_population
from survey.usecases.round_setup import create_round_with_channels
from tests.factories import close_round, submit_responses
from tests.survey.consolekit import (
    build_world,
    channel_of,
    csrf_token,
    login,
    make_user,
    new_client,
    unit,
)

SESSION_IDENTITIES = ("anonymous", "viewer", "staff_a", "staff_b", "admin")  # the administrator last: it changes things
TOKEN_IDENTITIES = ("token:admin", "token:viewer", "token:staff_a", "token:staff_b", "token:revoked")
STAFF = ("staff_a", "staff_b")
HUGE = 2**31  # one past the id converter's range
LAST_ID = 2**31 - 1  # in range, no such row
EARLIER_ROUND_NAME = "2025年创文第四次模拟问卷调查"


# --- the world ------------------------------------------------------------------

@dataclass
class Reach:
    """What an identity may see, worked out from the world's definition (not from the app)."""

    units: set[str] | None  # unit codes; None = all
    rounds: set[int]
    admin: bool = False
    reads_all: bool = False

    def sees_unit(self, code: str) -> bool:
        return self.units is None or code in self.units


@dataclass
class Walk:
    ids: dict[str, int | str]
    rounds: dict[int, Round]
    reach: dict[str, Reach]
    clients: dict[str, object]
    tokens: dict[str, str]
    csrf: dict[str, str]
    unit_names: dict[str, str]
    #: (round id, unit code) -> stored responses
    responses: Counter
    failures: list[str] = field(default_factory=list)
    requests: Counter = field(default_factory=Counter)
    urls: set = field(default_factory=set)


def _subtree(code: str) -> set[str]:
    top = unit(code)
    return {top.code, *(u.code for u in top.descendants())}


def _round_area(round_: Round) -> set[str]:
    return {round_.unit.code, *(u.code for u in round_.unit.descendants())}


def build_walk(app) -> Walk:
    world = build_world()
    load_demo_population(db.session)
    r, rb = world.district_round, world.street_b_round
    now = utcnow()
    earlier = create_round_with_channels(
        db.session, None, name=EARLIER_ROUND_NAME, kind="drill", questionnaire_version=r.questionnaire_version,
        unit=unit("D01"), opens_at=now - timedelta(days=40), closes_at=now + timedelta(days=1),
    )
    db.session.commit()
    submit_responses(earlier, 240, seed=11)
    close_round(earlier)
    submit_responses(r, 240, seed=12)
    submit_responses(rb, 120, seed=13)
    spare = make_user("spare", "viewer")
    tokens = {f"token:{name}": api_tokens.create_token(db.session, user, f"walk {name}", None)
              for name, user in world.users.items()}
    tokens["token:revoked"] = api_tokens.create_token(db.session, spare, "revoked", None)
    api_tokens.revoke_token(db.session, _token_ids_of(spare)[-1], world.users["admin"])
    api_tokens.create_token(db.session, spare, "revoked during the walk", None)
    [interviewer] = fieldwork.create_signup_codes(db.session, None, r, 1, ["D01-S01"], practice_only=False, now=now)
    db.session.commit()

    rounds = {x.id: x for x in (r, rb, earlier)}
    all_units = {u.code: u.name for u in db.session.scalars(select(Unit))}
    reach = {"admin": Reach(None, set(rounds), admin=True, reads_all=True),
             "viewer": Reach(None, set(rounds), reads_all=True)}
    for name, top in (("staff_a", "D01-S01"), ("staff_b", "D01-S02-C01")):
        mine = _subtree(top)
        reach[name] = Reach(mine, {i for i, x in rounds.items() if _round_area(x) & mine})
    for name in list(reach):
        reach[f"token:{name}"] = reach[name]
    reach["anonymous"] = reach["token:revoked"] = Reach(set(), set())

    clients = {}
    csrf = {}
    for name in SESSION_IDENTITIES:
        client = new_client(app)
        if name != "anonymous":
            login(client, name)
        clients[name] = client
        csrf[name] = csrf_token(client)
    a1, b1 = channel_of(r, "D01-S01-C01"), channel_of(r, "D01-S02-C01")
    ids = {"R": r.id, "RB": rb.id, "R0": earlier.id, "A1": a1.id, "B1": b1.id, "tokA1": a1.token,
           "tokB1": b1.token, "V": r.questionnaire_version_id, "spare": spare.id,
           "spare_token": _token_ids_of(spare)[-1], "respA": _a_response(r, "D01-S01"),
           "respB": _a_response(r, "D01-S02-C01"), "iv": interviewer.id}
    responses = Counter({(round_id, code): n for round_id, code, n in db.session.execute(
        select(Response.round_id, Unit.code, func.count()).join(Unit, Response.unit_id == Unit.id)
        .group_by(Response.round_id, Unit.code))})
    return Walk(ids=ids, rounds=rounds, reach=reach, clients=clients, tokens=tokens, csrf=csrf,
                unit_names=all_units, responses=responses)


def _a_response(round_: Round, code: str) -> int:
    """A response of ``round_`` from the unit ``code`` or below it."""
    codes = _subtree(code)
    return next(r.id for r in db.session.scalars(select(Response).where(Response.round_id == round_.id)
                                                  .order_by(Response.id)) if r.unit.code in codes)


def _token_ids_of(user) -> list[int]:
    return list(db.session.scalars(select(ApiToken.id).where(ApiToken.user_id == user.id).order_by(ApiToken.id)))


# --- what each route answers (the expectations table) ------------------------------

#: Values tried for each placeholder name; ``any(...)`` placeholders take each of their options.
#: Strings name entries of ``Walk.ids``.
PLACEHOLDERS: dict[str, list] = {
    "round_id": ["R", "RB", "R0", 0, LAST_ID, HUGE, 10**20],
    "channel_id": ["A1", "B1", 0, LAST_ID, HUGE],
    "version_id": ["V", 0, LAST_ID, HUGE],
    "user_id": ["spare", 0, LAST_ID, HUGE],
    "token_id": ["spare_token", 0, LAST_ID, HUGE],
    "token": ["tokA1", "tokB1", "no-such-token", "x" * 300],
    "key": ["no-such-receipt"],
    "response_id": ["respA", "respB", 0, LAST_ID, HUGE],
    "interviewer_id": ["iv", 0, LAST_ID, HUGE],
    "code": ["no-such-code", "x" * 300],
}

#: Query strings tried on every results view of an existing round ({R}, {RB}, {R0} are round ids).
RESULT_QUERIES = ["", "compare={R0}", "compare={RB}", "compare={R}", f"compare={HUGE}", "compare=0",
                  "compare=last", "unit=D01-S01", "unit=D01-S02-C01", "unit=D01-S02-C02", "unit=D01",
                  "unit=NO-SUCH-UNIT", "ci=guess"]
#: The PDF takes a second to draw: the comparisons and the units that matter.
PDF_QUERIES = ["", "compare={R0}", "compare={RB}", f"compare={HUGE}", "unit=D01-S01", "unit=D01-S02-C02"]
API_QUERIES = ["", "by=street", "by=none", "by=planet", "unit=D01-S01", "unit=D01-S02-C01", "unit=D01-S02-C02",
               "unit=NO-SUCH-UNIT", "ci=guess"]


@dataclass(frozen=True)
class Case:
    """One request: identity, method, path, query, and the placeholder values used."""

    identity: str
    method: str
    path: str
    query: str
    values: dict

    @property
    def url(self) -> str:
        return self.path + ("?" + self.query if self.query else "")


Expectation = Callable[["Walk", Case], "int | set[int]"]


def _round_of(walk: Walk, case: Case) -> int | None:
    """The round id of the case's path, None when it is no existing round."""
    value = case.values.get("round_id")
    return value if value in walk.rounds else None


def _path_ok(case: Case) -> bool:
    """Whether every id in the path is within the id converter's range."""
    return all(not isinstance(v, int) or 1 <= v <= LAST_ID for v in case.values.values())


def _query(case: Case) -> dict[str, str]:
    return dict(part.split("=", 1) for part in case.query.split("&") if part)


def signed_in_page(walk: Walk, case: Case) -> int:
    return 302 if case.identity == "anonymous" else 200


def admin_page(walk: Walk, case: Case) -> int:
    if not _path_ok(case):
        return 404
    if case.identity == "anonymous":
        return 302
    if not walk.reach[case.identity].admin:
        return 403
    if "round_id" in case.values and _round_of(walk, case) is None:
        return 404
    return 200


def admin_change(admin_status: int | set[int]) -> Expectation:
    """A change only the administrator may make; an empty form gets ``admin_status``."""

    def expect(walk: Walk, case: Case):
        status = admin_page(walk, case)
        if status != 200:
            return status
        for name in ("user_id", "token_id", "version_id"):
            if case.values.get(name) == LAST_ID:
                return {302, 404, 422}  # no such row: refused or a no-op
        return admin_status

    return expect


def round_page(walk: Walk, case: Case) -> int:
    """A page of one round: 404 outside the user's reach."""
    if not _path_ok(case):
        return 404
    if case.identity == "anonymous":
        return 302
    round_id = _round_of(walk, case)
    return 200 if round_id in walk.reach[case.identity].rounds else 404


def _scope_status(walk: Walk, case: Case) -> int:
    """What the results scope answers for ?unit= and ?compare= (200 if all is well)."""
    status = round_page(walk, case)
    if status != 200:
        return status
    reach = walk.reach[case.identity]
    query = _query(case)
    code = query.get("unit")
    if code and (code not in walk.unit_names or not reach.sees_unit(code)):
        return 404
    compare = query.get("compare")
    if compare:
        if not compare.isdigit():
            return 400
        if int(compare) not in reach.rounds:
            return 404
        if int(compare) == _round_of(walk, case):
            return 400
    if query.get("ci") == "guess":
        return 400
    return 200


def results_view(walk: Walk, case: Case) -> int:
    return _scope_status(walk, case)


def raw_download(walk: Walk, case: Case) -> int:
    """The whole round's raw answers: administrators and viewers only."""
    status = _scope_status(walk, case)
    if status == 200 and not walk.reach[case.identity].reads_all:
        return 403
    return status


def raw_csv(walk: Walk, case: Case) -> int:
    status = round_page(walk, case)
    if status == 200 and not walk.reach[case.identity].reads_all:
        return 403
    return status


def posters(walk: Walk, case: Case) -> int:
    return round_page(walk, case)  # every identity that sees a round has channels in it here


def channel_file(walk: Walk, case: Case) -> int:
    if not _path_ok(case):
        return 404
    if case.identity == "anonymous":
        return 302
    channel = case.values.get("channel_id")
    code = {walk.ids["A1"]: "D01-S01-C01", walk.ids["B1"]: "D01-S02-C01"}.get(channel)
    return 200 if code is not None and walk.reach[case.identity].sees_unit(code) else 404


def preview(walk: Walk, case: Case) -> int:
    if not _path_ok(case):
        return 404
    if case.identity == "anonymous":
        return 302
    return 200 if case.values.get("version_id") == walk.ids["V"] else 404


def site_channel(walk: Walk, case: Case) -> int:
    """Staff and administrators add site channels; an empty form names no unit (404)."""
    status = round_page(walk, case)
    if status != 200:
        return status
    if case.identity == "viewer":
        return 403
    return 404


def review_list(walk: Walk, case: Case) -> int:
    """A round's responses: every identity that sees the round (staff get their own units' rows)."""
    return round_page(walk, case)


def paper_entry(walk: Walk, case: Case) -> int:
    """Paper entry: a round within reach (404), not for viewers (403); an empty form gets 422."""
    status = round_page(walk, case)
    if status == 200 and case.identity == "viewer":
        return 403
    return 422 if status == 200 and case.method == "POST" else status


def import_upload_of(walk: Walk, case: Case) -> int:
    """An uploaded file's preview or confirmation: the office's; the walk uploads none (404)."""
    status = admin_page(walk, case)
    return 404 if status == 200 else status


def signup_sheet(walk: Walk, case: Case) -> int:
    """The printable sign-up cards: the office's; the walk's round has one unused code, others none."""
    status = admin_page(walk, case)
    return 302 if status == 200 and case.values["round_id"] != walk.ids["R"] else status


def interviewer_change(walk: Walk, case: Case) -> int:
    """Stopping an interviewer: the office's; an id that is no interviewer is 404."""
    status = admin_page(walk, case)
    if status != 200:
        return status
    return 303 if case.values["interviewer_id"] == walk.ids["iv"] else 404


def interviewer_quality(walk: Walk, case: Case) -> int:
    """Interviewer quality: read by the office (administrators and viewers); 403 for staff."""
    return raw_csv(walk, case)


def interviewer_decision(walk: Walk, case: Case) -> int:
    """Leaving an interviewer out or counting them again: the administrator's; an empty form is 422."""
    status = admin_page(walk, case)
    if status != 200:
        return status
    return 422 if case.values["interviewer_id"] == walk.ids["iv"] else 404


def one_response(admin_status: int | None = None) -> Expectation:
    """One response: 404 unless its round and unit are within reach; deciding
    on it is the administrator's, and staff's within their units (403 for viewers)."""

    def expect(walk: Walk, case: Case) -> int:
        if not _path_ok(case):
            return 404
        if case.identity == "anonymous":
            return 302
        reach = walk.reach[case.identity]
        response = db.session.get(Response, case.values["response_id"])
        if response is None or response.round_id not in reach.rounds or not reach.sees_unit(response.unit.code):
            return 404
        if admin_status is not None:
            return admin_status if reach.admin or not reach.reads_all else 403  # staff: within reach here
        return 200

    return expect


def api_results(walk: Walk, case: Case) -> int:
    if not _path_ok(case):
        return 404
    if case.identity not in walk.tokens or case.identity == "token:revoked":
        return 401
    reach = walk.reach[case.identity]
    if _round_of(walk, case) not in reach.rounds:
        return 404
    query = _query(case)
    if query.get("by") == "planet" or query.get("ci") == "guess":
        return 400
    code = query.get("unit")
    if code and (code not in walk.unit_names or not reach.sees_unit(code)):
        return 404
    return 200


def public_file(walk: Walk, case: Case) -> int:
    return 200 if case.values.get("token") in (walk.ids["tokA1"], walk.ids["tokB1"]) else 404


def always(status: int | set[int]) -> Expectation:
    return lambda walk, case: status


#: (endpoint, method) -> (expectation, query strings, form sent).
EXPECTATIONS: dict[tuple[str, str], tuple[Expectation, list[str], dict | None]] = {
    # sign-in
    ("console.login", "GET"): (always(200), [""], None),
    ("console.login", "POST"): (always({400, 401, 422, 429}), [""], {}),
    ("console.logout", "POST"): (always(302), [""], {}),
    ("console.change_password", "GET"): (signed_in_page, [""], None),
    ("console.change_password", "POST"): (lambda walk, case: 302 if case.identity == "anonymous" else 422, [""], {}),
    ("console.welcome", "GET"): (always(404), [""], None),
    ("console.welcome", "POST"): (always(404), [""], {}),
    # pages every account reads (scoped inside)
    ("console.rounds", "GET"): (signed_in_page, [""], None),
    ("console.units", "GET"): (signed_in_page, [""], None),
    ("console.questionnaires", "GET"): (signed_in_page, [""], None),
    ("console.preview_questionnaire", "GET"): (preview, [""], None),
    # a round and its files
    ("console.round_channels", "GET"): (round_page, [""], None),
    ("console.round_posters", "GET"): (posters, [""], None),
    ("console.round_progress", "GET"): (round_page, [""], None),
    ("console.round_progress_json", "GET"): (round_page, [""], None),
    ("console.channel_poster", "GET"): (channel_file, [""], None),
    ("console.channel_qr", "GET"): (channel_file, [""], None),
    ("console.add_site_channel", "POST"): (site_channel, [""], {}),
    # results, charts and downloads
    ("console.results", "GET"): (results_view, RESULT_QUERIES, None),
    ("console.chart", "GET"): (results_view, RESULT_QUERIES, None),
    ("console.report_pdf", "GET"): (results_view, PDF_QUERIES, None),
    ("console.results_workbook", "GET"): (raw_download, ["", "compare={RB}", "unit=D01-S02-C02"], None),
    ("console.responses_csv", "GET"): (raw_csv, [""], None),
    # review of single responses; export, then delete a round
    ("console.review_responses", "GET"): (review_list, ["", "flag=flagged", "flag=too_fast", "mode=paper",
                                                         "interviewer=1", "page=99999999"], None),
    ("console.review_response", "GET"): (one_response(), [""], None),
    ("console.decide_response", "POST"): (one_response(admin_status=422), [""], {}),
    ("console.round_archive", "GET"): (admin_page, [""], None),
    # paper questionnaires typed in: the office and staff (their own communities); an empty form: 422
    ("console.paper_entry_page", "GET"): (paper_entry, ["", "community=D01-S02-C01"], None),
    ("console.enter_paper_sheet", "POST"): (paper_entry, [""], {}),
    ("console.paper_entry_template", "GET"): (paper_entry, [""], None),
    # importing a file of answers: the office's; an empty upload is 422
    ("console.import_form", "GET"): (admin_page, [""], None),
    ("console.import_upload", "POST"): (admin_change(422), [""], {}),
    ("console.import_preview", "GET"): (import_upload_of, ["", "col7=q_aware&unit=D01-S01-C01"], None),
    ("console.import_confirm", "POST"): (import_upload_of, [""], {}),
    ("console.delete_round_page", "GET"): (admin_page, [""], None),
    ("console.delete_round", "POST"): (admin_change(422), [""], {}),
    # set-up: the office's
    ("console.new_round", "GET"): (admin_page, [""], None),
    ("console.new_round", "POST"): (admin_change(422), [""], {}),
    ("console.round_setup_page", "GET"): (admin_page, ["", "suggest=sample_size"], None),
    ("console.set_round_targets", "POST"): (admin_change(302), [""], {}),
    ("console.set_round_quotas", "POST"): (admin_change(302), [""], {}),
    ("console.set_round_statistics", "POST"): (admin_change(422), [""], {}),
    ("console.set_round_exclusions", "POST"): (admin_change(302), [""], {}),
    ("console.open_or_close_round", "POST"): (admin_change({302, 422}), [""], {}),
    ("console.import_units_upload", "POST"): (admin_change(422), [""], {}),
    ("console.import_population_upload", "POST"): (admin_change(422), [""], {}),
    ("console.upload_questionnaire", "POST"): (admin_change(422), [""], {}),
    ("console.accounts", "GET"): (admin_page, [""], None),
    ("console.create_account", "POST"): (admin_change(422), [""], {}),
    ("console.set_account_active", "POST"): (admin_change(302), [""], {}),
    ("console.reset_account_password", "POST"): (admin_change(422), [""], {}),
    ("console.audit_log", "GET"): (admin_page, [""], None),
    ("console.audit_csv", "GET"): (admin_page, [""], None),
    ("console.api_token_list", "GET"): (admin_page, [""], None),
    ("console.api_token_list", "POST"): (admin_change(200), [""], {}),
    ("console.api_token_revoke", "POST"): (admin_change(302), [""], {}),
    # field drills: interviewers' sign-up codes, practice answers
    ("console.interviewers", "GET"): (admin_page, [""], None),
    ("console.create_signup_codes", "POST"): (admin_change(422), [""], {}),
    ("console.signup_sheet", "GET"): (signup_sheet, [""], None),
    ("console.revoke_interviewer", "POST"): (interviewer_change, [""], {}),
    ("console.clear_practice", "POST"): (admin_change(303), [""], {}),
    # interviewer quality, and leaving an interviewer's responses out
    ("console.interviewer_quality", "GET"): (interviewer_quality, [""], None),
    ("console.decide_interviewer", "POST"): (interviewer_decision, [""], {}),
    # the interviewer's phone: nothing without its own sign-in (no console identity has one)
    ("interview.join", "GET"): (always(404), [""], None),
    ("interview.join", "POST"): (always(404), [""], {}),
    ("interview.home", "GET"): (always(401), [""], None),
    ("interview.service_worker", "GET"): (always(200), [""], None),
    ("interview.state", "GET"): (always(401), [""], None),
    ("interview.sync", "POST"): (always(400), [""], {}),
    # the API
    ("api.round_results", "GET"): (api_results, API_QUERIES, None),
    # residents' pages
    ("public.questionnaire", "GET"): (public_file, [""], None),
    ("public.submit", "POST"): (always({400, 404, 422}), [""], {}),
    ("public.thanks", "GET"): (always(404), [""], None),
    ("public.poster", "GET"): (public_file, [""], None),
    ("public.qr_code", "GET"): (public_file, [""], None),
}

WALKED_BLUEPRINTS = ("console.", "api.", "public.", "interview.")
PLACEHOLDER = re.compile(r"<(?:(\w+)(?:\(([^)]*)\))?:)?(\w+)>")


def walked_rules(app) -> list[tuple[str, str, str]]:
    """(endpoint, method, rule) of every console, API and public rule."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith(WALKED_BLUEPRINTS):
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                found.append((rule.endpoint, method, rule.rule))
    return sorted(found, key=lambda t: (t[1] != "GET", t[0], t[2]))  # reads first, changes after


def test_every_rule_has_an_expectation(app):
    rules = {(endpoint, method) for endpoint, method, _ in walked_rules(app)}
    assert rules - set(EXPECTATIONS) == set(), "routes the walk does not know: add them to EXPECTATIONS"
    assert set(EXPECTATIONS) - rules == set(), "expectations for routes that no longer exist"
    for _, _, rule in walked_rules(app):
        for converter, _args, name in PLACEHOLDER.findall(rule):
            assert converter == "any" or name in PLACEHOLDERS, f"no values for <{name}> in {rule}"


def _fill(walk: Walk, rule: str) -> list[tuple[str, dict]]:
    """Every path of ``rule`` with its placeholders filled, and the values used."""
    names, choices = [], []
    for converter, args, name in PLACEHOLDER.findall(rule):
        names.append(name)
        if converter == "any":
            choices.append([a.strip() for a in args.split(",")])
        else:
            choices.append([walk.ids[v] if isinstance(v, str) and v in walk.ids else v for v in PLACEHOLDERS[name]])
    paths = []
    for combo in itertools.product(*choices):
        values = dict(zip(names, combo))
        path = PLACEHOLDER.sub(lambda m, values=values: str(values[m.group(3)]), rule)
        paths.append((path, values))
    return paths


# --- what staff must never see -------------------------------------------------------

@dataclass
class Drawn:
    """What the wrapped renderers were handed during one request."""

    results: list[dict] = field(default_factory=list)
    charts: list[tuple[str, list]] = field(default_factory=list)
    pdfs: list[dict] = field(default_factory=list)

    def clear(self) -> None:
        self.results.clear()
        self.charts.clear()
        self.pdfs.clear()


@pytest.fixture
def drawn(app, monkeypatch) -> Drawn:
    """Record the results page's context and every chart and PDF drawn.

    Each distinct input is rendered once (identical inputs give identical
    output; a PDF takes a second): the key holds the inputs' ids, and the
    inputs are kept alive so that no id is reused."""
    from analysis import charts
    from survey.renderers import report_pdf as pdf_module

    record = Drawn()
    rendered: dict = {}
    keep: list = []

    def part(value):
        if isinstance(value, (str, int, float, bool, tuple, type(None))):
            return value
        keep.append(value)
        return id(value)

    def once(key, make):
        if key not in rendered:
            rendered[key] = make()
        return rendered[key]

    def chart_wrapper(name, original):
        def wrapped(rows, *args, **kwargs):
            rows = list(rows)
            record.charts.append((name, rows))
            key = (name, tuple(part(r) for r in rows), tuple(part(a) for a in args),
                   tuple(sorted((k, part(v)) for k, v in kwargs.items())))
            return once(key, lambda: original(rows, *args, **kwargs))
        return wrapped

    for name in ("rates_chart", "ranking_chart", "change_chart"):
        original = getattr(charts, name)
        monkeypatch.setattr(charts, name, chart_wrapper(name, original))
        monkeypatch.setattr(pdf_module, name, chart_wrapper(name, original))  # the PDF's own charts
    original_png = charts.figure_png
    monkeypatch.setattr(charts, "figure_png",
                        lambda fig, **kwargs: once(("png", part(fig), tuple(sorted(kwargs.items()))),
                                                   lambda: original_png(fig, **kwargs)))
    original_pdf = pdf_module.report_pdf

    def pdf_wrapper(report, meta, unit=None, *, sub_units=()):
        sub_units = tuple(sub_units)
        record.pdfs.append({"unit": unit, "sub_units": sub_units, "compared": meta.compared_round_name})
        key = ("pdf", part(report), meta.round_name, meta.compared_round_name, unit, sub_units)
        return once(key, lambda: original_pdf(report, meta, unit, sub_units=sub_units))

    monkeypatch.setattr(pdf_module, "report_pdf", pdf_wrapper)

    def on_render(sender, template, context, **extra):
        if template.name == "console/results.html":
            record.results.append(dict(context))

    template_rendered.connect(on_render, app)
    yield record
    template_rendered.disconnect(on_render, app)


def _forbidden_names(walk: Walk, identity: str) -> set[str]:
    """Names a staff identity must never be shown: rounds it may not see, and
    units outside its reach (except the areas of rounds it may see: a round's
    area is part of what the round is)."""
    reach = walk.reach[identity]
    visible_rounds = [walk.rounds[i] for i in reach.rounds]
    allowed = {r.unit.name for r in visible_rounds}
    names = {r.name for i, r in walk.rounds.items() if i not in reach.rounds}
    names |= {name for code, name in walk.unit_names.items() if not reach.sees_unit(code) and name not in allowed}
    return names


def _body_text(reply) -> str | None:
    kind = reply.mimetype or ""
    if kind == "application/pdf":
        return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(reply.data)).pages)
    if kind.startswith("text/") or kind == "application/json":
        return reply.get_data(as_text=True)
    return None


def _own_responses(walk: Walk, case: Case) -> int:
    """The responses of the case's round within the scope it asks for (?unit=, else the identity's units)."""
    code = _query(case).get("unit")
    reach = walk.reach[case.identity]
    codes = _subtree(code) if code else reach.units
    return sum(n for (round_id, unit_code), n in walk.responses.items()
               if round_id == case.values["round_id"] and unit_code in codes)


def _check_staff(walk: Walk, case: Case, reply, drawn: Drawn, pdf_text: dict) -> list[str]:
    """What a staff identity got: nothing outside its own units."""
    reach = walk.reach[case.identity]
    problems = []

    def outside(domain) -> bool:
        return domain is None or not reach.sees_unit(domain)

    if reply.mimetype == "application/pdf":
        key = hash(reply.data)
        if key not in pdf_text:
            pdf_text[key] = _body_text(reply)
        text = pdf_text[key]
    else:
        text = _body_text(reply)
    if text is not None:
        for name in _forbidden_names(walk, case.identity):
            if name in text:
                problems.append(f"shows {name!r}")
        if 'data-domain=""' in text:
            problems.append("shows overall rows")
    for context in drawn.results:
        rows = [*context["overall"], *context["streets"], *context["communities"], *context["weak_items"],
                *context["changes"]]
        bad = {r.domain for r in rows if outside(r.domain)} | {r.unit for r in context["ranking"] if outside(r.unit)}
        if bad:
            problems.append(f"results rows of {sorted(map(str, bad))}")
        names = {walk.rounds[i].name for i in reach.rounds}
        if context["meta"].compared_round_name not in (None, *names):
            problems.append("results compared with a hidden round")
        if not {r.name for r in context["earlier_rounds"]} <= names:
            problems.append("comparison picker lists a hidden round")
        if context["report"].methodology.n_rows != _own_responses(walk, case):
            problems.append(f"results count {context['report'].methodology.n_rows} responses, "
                            f"not the {_own_responses(walk, case)} of the staff's units")
    for name, rows in drawn.charts:
        domains = {getattr(r, "domain", getattr(r, "unit", None)) for r in rows}
        if any(outside(d) for d in domains):
            problems.append(f"{name} draws {sorted(map(str, domains))}")
    for pdf in drawn.pdfs:
        codes = [pdf["unit"], *pdf["sub_units"]]
        if any(outside(c) for c in codes):
            problems.append(f"PDF about {codes}")
        if pdf["compared"] not in (None, *(walk.rounds[i].name for i in reach.rounds)):
            problems.append("PDF compared with a hidden round")
    if reply.mimetype == "application/json" and reply.status_code == 200:
        body = reply.get_json()
        for row in body.get("results", []):
            if outside(row["domain"]):
                problems.append(f"API row of {row['domain']}")
        if "methodology" in body and body["methodology"]["responses"] != _own_responses(walk, case):
            problems.append(f"API counts {body['methodology']['responses']} responses")
        if "rows" in body:  # progress
            unit_rows = [row for row in body["rows"] if row["kind"] == "unit"]
            if any(outside(row["code"]) for row in unit_rows):
                problems.append("progress rows outside")
            if body["total"]["total"] != sum(row["total"] for row in unit_rows):
                problems.append("progress total is not the sum of the staff's own rows")
    return problems


# --- the walk ------------------------------------------------------------------------

def _send(walk: Walk, case: Case, form: dict | None):
    if case.identity.startswith("token:"):
        client = walk.clients["anonymous"]
        headers = {"Authorization": f"Bearer {walk.tokens[case.identity]}"}
        return client.get(case.url, headers=headers)
    client = walk.clients[case.identity]
    if case.method == "GET":
        return client.get(case.url)
    if case.path == "/console/logout":
        # signing out ends every session of the account: sign out from a
        # separate client, then sign the walk's own client in again
        client = new_client(client.application)
        if case.identity != "anonymous":
            login(client, case.identity)
        reply = client.post(case.url, data={"csrf_token": csrf_token(client), **(form or {})})
        if case.identity != "anonymous":
            login(walk.clients[case.identity], case.identity)
            walk.csrf[case.identity] = csrf_token(walk.clients[case.identity])
        return reply
    return client.post(case.url, data={"csrf_token": walk.csrf[case.identity], **(form or {})})


def test_route_walk(app, drawn, capsys):
    walk = build_walk(app)
    pdf_text: dict = {}
    statuses: Counter = Counter()
    for endpoint, method, rule in walked_rules(app):
        if (endpoint, method) not in EXPECTATIONS:
            walk.failures.append(f"{method} {rule}: not in EXPECTATIONS")
            continue
        expect, queries, form = EXPECTATIONS[(endpoint, method)]
        identities = SESSION_IDENTITIES + (TOKEN_IDENTITIES if endpoint.startswith("api.") else ())
        for path, values in _fill(walk, rule):
            existing_round = values.get("round_id") in walk.rounds
            for query in queries if existing_round or "round_id" not in values else [""]:
                query = query.format(**walk.ids)
                for identity in identities:
                    case = Case(identity, method, path, query, values)
                    drawn.clear()
                    reply = _send(walk, case, form)
                    walk.requests[identity] += 1
                    walk.urls.add((method, case.url))
                    statuses[reply.status_code] += 1
                    if not _path_ok(case):
                        # An id outside 1..2**31-1 matches no rule: no view runs. (Werkzeug may say 405
                        # for a POST when a rule of another method has the same shape.)
                        want = 404 if method == "GET" else {404, 405}
                    else:
                        want = expect(walk, case)
                    wanted = want if isinstance(want, set) else {want}
                    where = f"{identity} {method} {case.url}"
                    if reply.status_code >= 500:
                        walk.failures.append(f"{where}: {reply.status_code}")
                    elif reply.status_code not in wanted:
                        walk.failures.append(f"{where}: {reply.status_code}, expected {sorted(wanted)}")
                    # (residents' pages are anyone's: the names on a poster or form are public)
                    if identity.removeprefix("token:") in STAFF and not endpoint.startswith("public."):
                        walk.failures += [f"{where}: {p}" for p in _check_staff(walk, case, reply, drawn, pdf_text)]
                    db.session.expire_all()
    total = sum(walk.requests.values())
    with capsys.disabled():
        print(f"\nroute walk: {len(walked_rules(app))} rules, {len(walk.urls)} URLs, "
              f"{len(walk.requests)} identities, {total} requests; statuses {dict(sorted(statuses.items()))}")
    assert not walk.failures, f"{len(walk.failures)} problems:\n" + "\n".join(walk.failures[:80])
    assert statuses[200] > 100 and total > 2000  # the walk reached the views, not only refusals


def test_staff_comparison_is_their_own_subtree(app, drawn):
    """The defect of issue 9: a staff member's change chart and comparison
    showed another street's round and the district's overall change."""
    walk = build_walk(app)
    r, rb, earlier = walk.ids["R"], walk.ids["RB"], walk.ids["R0"]
    staff_a, admin = walk.clients["staff_a"], walk.clients["admin"]
    street_a = walk.reach["staff_a"].units

    # A round staff A may not see is no comparison: 404, and its name appears nowhere.
    hidden = walk.rounds[rb].name
    for url in (f"/console/rounds/{r}/charts/change.png?compare={rb}", f"/console/rounds/{r}/results?compare={rb}",
                f"/console/rounds/{r}/report.pdf?compare={rb}"):
        reply = staff_a.get(url)
        assert reply.status_code == 404, url
        assert hidden not in reply.get_data(as_text=True)

    # The picker offers only rounds staff A may see.
    drawn.clear()
    assert staff_a.get(f"/console/rounds/{r}/results").status_code == 200
    assert [x.id for x in drawn.results[0]["earlier_rounds"]] == [earlier]

    # With a round staff A may see, the chart draws street A's communities' changes: never
    # the overall ones, and exactly what an administrator's chart of street A draws.
    drawn.clear()
    reply = staff_a.get(f"/console/rounds/{r}/charts/change.png?compare={earlier}")
    assert reply.status_code == 200 and reply.data.startswith(b"\x89PNG")
    (name, rows), = drawn.charts
    assert name == "change_chart" and rows
    assert {c.domain for c in rows} <= street_a and None not in {c.domain for c in rows}
    drawn.clear()
    assert admin.get(f"/console/rounds/{r}/charts/change.png?compare={earlier}&unit=D01-S01").status_code == 200
    assert [(c.key, c.domain) for c in drawn.charts[0][1]] == [(c.key, c.domain) for c in rows]
    # The administrator's district chart is the overall change, which staff never get.
    drawn.clear()
    admin.get(f"/console/rounds/{r}/charts/change.png?compare={earlier}")
    assert drawn.charts[0][1] and {c.domain for c in drawn.charts[0][1]} == {None}

    # The results page's change table holds the same rows, and names the compared round.
    drawn.clear()
    page = staff_a.get(f"/console/rounds/{r}/results?compare={earlier}")
    assert page.status_code == 200 and EARLIER_ROUND_NAME in page.get_data(as_text=True)
    context = drawn.results[0]
    assert [(c.key, c.domain) for c in context["changes"]] == [(c.key, c.domain) for c in rows]
    assert {row.domain for row in context["overall"]} == {"D01-S01"}


def test_staff_api_rows_are_the_scope_of_their_unit(app):
    """Staff tokens get their subtree's rows (never the overall ones); ?unit= narrows within reach."""
    walk = build_walk(app)
    client = walk.clients["anonymous"]

    def rows(identity, query=""):
        reply = client.get(f"/api/v1/rounds/{walk.ids['R']}/results{query}",
                           headers={"Authorization": f"Bearer {walk.tokens[identity]}"})
        assert reply.status_code == 200, reply.get_data(as_text=True)
        return {(row["indicator"], row["domain"]) for row in reply.get_json()["results"]}

    everything = rows("token:admin")
    mine = rows("token:staff_a")
    assert mine and mine < everything
    assert {domain for _, domain in mine} == walk.reach["staff_a"].units - {"D01-S01"}
    assert rows("token:admin", "?unit=D01-S01") == mine
    assert {d for _, d in rows("token:staff_a", "?unit=D01-S01-C02")} == {"D01-S01-C02"}
    assert {d for _, d in rows("token:staff_a", "?by=street")} == {"D01-S01"}
