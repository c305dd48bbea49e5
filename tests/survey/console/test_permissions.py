"""The permission matrix: every role x every console page, download and
change, including URL guessing of another unit's round, channel, poster and
progress. Expected statuses: 200 page, 302 redirect (sign-in, or done),
403 not allowed for the role, 404 outside the staff member's units, 422 a
form the role may send but that was empty."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from survey.extensions import db
from survey.models import User
from tests.survey.consolekit import build_world, channel_of, csrf_token, login, new_client

#: The table's columns.
ROLES = ("anonymous", "admin", "viewer", "staff_a", "staff_b")
#: The order the roles try: the administrator last, so that its changes
#: (closing a round, deactivating the viewer) come after the others' tries.
ORDER = ("anonymous", "viewer", "staff_a", "staff_b", "admin")

#: (method, url, form data, expected status for anonymous, admin, viewer, staff_a, staff_b)
#: {R} district round, {RB} street B's round, {A1}/{B1} the district round's
#: channels of a community in street A / in street B (staff_b's own),
#: {V} questionnaire version, {viewer} the viewer's account id, {uA}/{uB}
#: the ids of those two communities.
MATRIX = [
    # The first administrator's page exists only while there is no account.
    ("GET", "/console/welcome", None, (404, 404, 404, 404, 404)),
    ("POST", "/console/welcome", {"username": "late", "password": "a-long-password",
                                  "confirm": "a-long-password"}, (404, 404, 404, 404, 404)),
    # Every account changes its own password (an empty form: 422).
    ("GET", "/console/password", None, (302, 200, 200, 200, 200)),
    ("POST", "/console/password", {}, (302, 422, 422, 422, 422)),
    ("GET", "/console/", None, (302, 200, 200, 200, 200)),
    ("GET", "/console/rounds/{R}", None, (302, 200, 200, 200, 200)),
    ("GET", "/console/rounds/{RB}", None, (302, 200, 200, 404, 200)),
    ("GET", "/console/rounds/99999", None, (302, 404, 404, 404, 404)),
    ("GET", "/console/rounds/{R}/posters.pdf", None, (302, 200, 200, 200, 200)),
    ("GET", "/console/rounds/{RB}/posters.pdf", None, (302, 200, 200, 404, 200)),
    ("GET", "/console/channels/{A1}/poster.pdf", None, (302, 200, 200, 200, 404)),
    ("GET", "/console/channels/{B1}/poster.pdf", None, (302, 200, 200, 404, 200)),
    ("GET", "/console/channels/{A1}/qr.png", None, (302, 200, 200, 200, 404)),
    ("GET", "/console/channels/{B1}/qr.png", None, (302, 200, 200, 404, 200)),
    ("GET", "/console/channels/99999/poster.pdf", None, (302, 404, 404, 404, 404)),
    ("GET", "/console/rounds/{R}/progress", None, (302, 200, 200, 200, 200)),
    ("GET", "/console/rounds/{R}/progress.json", None, (302, 200, 200, 200, 200)),
    ("GET", "/console/rounds/{RB}/progress", None, (302, 200, 200, 404, 200)),
    ("GET", "/console/rounds/{RB}/progress.json", None, (302, 200, 200, 404, 200)),
    ("GET", "/console/rounds/new", None, (302, 200, 403, 403, 403)),
    ("GET", "/console/rounds/{R}/setup", None, (302, 200, 403, 403, 403)),
    ("GET", "/console/rounds/{RB}/setup?suggest=sample_size", None, (302, 200, 403, 403, 403)),
    ("GET", "/console/units", None, (302, 200, 200, 200, 200)),
    ("GET", "/console/questionnaires", None, (302, 200, 200, 200, 200)),
    ("GET", "/console/questionnaires/{V}/preview", None, (302, 200, 200, 200, 200)),
    ("GET", "/console/questionnaires/99999/preview", None, (302, 404, 404, 404, 404)),
    ("GET", "/console/accounts", None, (302, 200, 403, 403, 403)),
    ("GET", "/console/audit", None, (302, 200, 403, 403, 403)),
    ("GET", "/console/audit.csv", None, (302, 200, 403, 403, 403)),
    ("POST", "/console/rounds/new", {}, (302, 422, 403, 403, 403)),
    ("POST", "/console/rounds/{R}/targets", {}, (302, 302, 403, 403, 403)),
    ("POST", "/console/rounds/{R}/quotas", {}, (302, 302, 403, 403, 403)),
    ("POST", "/console/rounds/{RB}/quotas", {}, (302, 302, 403, 403, 403)),
    ("POST", "/console/rounds/{R}/statistics", {}, (302, 422, 403, 403, 403)),
    ("POST", "/console/rounds/{RB}/statistics", {"min_verdict_respondents": "15", "min_weighting_cell": "25"},
     (302, 302, 403, 403, 403)),
    ("POST", "/console/rounds/{RB}/close", {}, (302, 302, 403, 403, 403)),
    ("POST", "/console/rounds/{RB}/exclusions", {}, (302, 302, 403, 403, 403)),
    ("POST", "/console/rounds/{R}/open", {}, (302, 422, 403, 403, 403)),
    ("POST", "/console/units/import", {}, (302, 422, 403, 403, 403)),
    ("POST", "/console/population/import", {}, (302, 422, 403, 403, 403)),
    ("POST", "/console/questionnaires", {}, (302, 422, 403, 403, 403)),
    ("POST", "/console/accounts", {}, (302, 422, 403, 403, 403)),
    ("POST", "/console/accounts/{viewer}/password", {"reset-password": "short"}, (302, 422, 403, 403, 403)),
    ("POST", "/console/accounts/{viewer}/deactivate", {}, (302, 302, 403, 403, 403)),
    # Site channels: staff may add them in their own units; another unit's id is a 404.
    ("POST", "/console/rounds/{R}/channels", {"unit": "{uA}", "site": "北门公告栏"}, (302, 302, 403, 302, 404)),
    ("POST", "/console/rounds/{R}/channels", {"unit": "{uB}", "site": "菜市场"}, (302, 302, 403, 404, 302)),
    ("POST", "/console/rounds/{RB}/channels", {"unit": "{uB}", "site": "小区门口"}, (302, 302, 403, 404, 302)),
    # Results and their downloads; staff get their own unit's report, the workbook and raw data are the office's.
    ("GET", "/console/rounds/{R}/results", None, (302, 200, 200, 200, 200)),
    ("GET", "/console/rounds/{RB}/results", None, (302, 200, 200, 404, 200)),
    ("GET", "/console/rounds/99999/results", None, (302, 404, 404, 404, 404)),
    ("GET", "/console/rounds/{R}/results?unit=D01-S02-C01", None, (302, 200, 200, 404, 200)),
    ("GET", "/console/rounds/{R}/report.pdf", None, (302, 200, 200, 200, 200)),
    ("GET", "/console/rounds/{R}/report.pdf?unit=D01-S01-C01", None, (302, 200, 200, 200, 404)),
    ("GET", "/console/rounds/{RB}/report.pdf", None, (302, 200, 200, 404, 200)),
    ("GET", "/console/rounds/{R}/results.xlsx", None, (302, 200, 200, 403, 403)),
    ("GET", "/console/rounds/{R}/responses.csv", None, (302, 200, 200, 403, 403)),
    ("GET", "/console/rounds/{R}/charts/rates.png", None, (302, 200, 200, 200, 200)),
    ("GET", "/console/rounds/{RB}/charts/ranking.png", None, (302, 200, 200, 404, 200)),
    # A comparison is a round the user may see, or a 404 (staff_a may not see street B's round).
    ("GET", "/console/rounds/{R}/charts/change.png?compare={RB}", None, (302, 200, 200, 404, 200)),
    ("GET", "/console/rounds/{R}/results?compare={RB}", None, (302, 200, 200, 404, 200)),
    ("GET", "/console/rounds/{R}/report.pdf?compare={RB}", None, (302, 200, 200, 404, 200)),
    ("GET", "/console/rounds/{RB}/results?compare={R}", None, (302, 200, 200, 404, 200)),
    ("GET", "/console/rounds/{R}/results?compare=9999999999", None, (302, 404, 404, 404, 404)),
    ("GET", "/console/rounds/{R}/results?compare=last", None, (302, 400, 400, 400, 400)),
    ("GET", "/console/rounds/{R}/charts/rates.png?unit=D01-S02", None, (302, 200, 200, 404, 404)),
    # A round's responses: the office reads all, staff their own units' (voiding: administrators and
    # staff within their units); the archive and deleting are the administrator's.
    ("GET", "/console/rounds/{R}/review", None, (302, 200, 200, 200, 200)),
    ("GET", "/console/rounds/{RB}/review", None, (302, 200, 200, 404, 200)),
    ("GET", "/console/responses/99999", None, (302, 404, 404, 404, 404)),
    ("POST", "/console/responses/99999/void", {"reason": "重复"}, (302, 404, 404, 404, 404)),
    ("GET", "/console/rounds/{R}/archive.zip", None, (302, 200, 403, 403, 403)),
    ("GET", "/console/rounds/{R}/delete", None, (302, 200, 403, 403, 403)),
    ("POST", "/console/rounds/{R}/delete", {}, (302, 422, 403, 403, 403)),
    # Paper questionnaires: typed in by the office and by staff for their own communities (an empty form: 422).
    ("GET", "/console/rounds/{R}/paper", None, (302, 200, 403, 200, 200)),
    ("GET", "/console/rounds/{RB}/paper", None, (302, 200, 403, 404, 200)),
    ("GET", "/console/rounds/{R}/paper/template.xlsx", None, (302, 200, 403, 200, 200)),
    ("POST", "/console/rounds/{R}/paper", {}, (302, 422, 403, 422, 422)),
    ("POST", "/console/rounds/{R}/paper", {"community": "D01-S02-C01"}, (302, 422, 403, 404, 422)),
    # Importing a file of answers is the administrator's; an upload is its uploader's alone (none here: 404).
    ("GET", "/console/rounds/{R}/import", None, (302, 200, 403, 403, 403)),
    ("GET", "/console/rounds/99999/import", None, (302, 404, 403, 403, 403)),
    ("POST", "/console/rounds/{R}/import", {}, (302, 422, 403, 403, 403)),
    ("GET", "/console/rounds/{R}/import/no-such-token", None, (302, 404, 403, 403, 403)),
    ("POST", "/console/rounds/{R}/import/no-such-token", {}, (302, 404, 403, 403, 403)),
    # Field drills: interviewers' sign-up codes and practice answers are the administrator's.
    ("GET", "/console/rounds/{R}/interviewers", None, (302, 200, 403, 403, 403)),
    ("POST", "/console/rounds/{R}/interviewers", {"count": "2"}, (302, 303, 403, 403, 403)),
    ("POST", "/console/rounds/{R}/interviewers", {"count": "0"}, (302, 422, 403, 403, 403)),
    ("GET", "/console/rounds/{R}/interviewers/codes.pdf", None, (302, 302, 403, 403, 403)),
    ("POST", "/console/interviewers/99999/revoke", {}, (302, 404, 403, 403, 403)),
    # Interviewer quality is the office's to read; leaving an interviewer out is the administrator's.
    ("GET", "/console/rounds/{R}/interviewers/quality", None, (302, 200, 200, 403, 403)),
    ("GET", "/console/rounds/{RB}/interviewers/quality", None, (302, 200, 200, 404, 403)),
    ("GET", "/console/rounds/99999/interviewers/quality", None, (302, 404, 404, 404, 404)),
    ("POST", "/console/interviewers/99999/exclude", {"reason": "代填"}, (302, 404, 403, 403, 403)),
    ("POST", "/console/interviewers/99999/include", {"reason": "复核"}, (302, 404, 403, 403, 403)),
    ("POST", "/console/rounds/{R}/practice/clear", {}, (302, 303, 403, 403, 403)),
    ("GET", "/console/api-tokens", None, (302, 200, 403, 403, 403)),
    ("POST", "/console/api-tokens", {"name": "统计系统", "username": "viewer"}, (302, 200, 403, 403, 403)),
    ("POST", "/console/api-tokens/99999/revoke", {}, (302, 302, 403, 403, 403)),
    # A unit outside the round's area: refused with a message (302 back to the round page).
    ("POST", "/console/rounds/{RB}/channels", {"unit": "{uA}", "site": "越界"}, (302, 302, 403, 404, 404)),
]

#: Console endpoints another engineer's tests cover (results and their downloads).
NOT_HERE = {"console.login", "console.logout"}


def _ids(world) -> dict[str, str]:
    r, rb = world.district_round, world.street_b_round
    a1, b1 = channel_of(r, "D01-S01-C01"), channel_of(r, "D01-S02-C01")
    return {"R": r.id, "RB": rb.id, "A1": a1.id, "B1": b1.id, "V": r.questionnaire_version_id,
            "viewer": world.users["viewer"].id, "uA": a1.unit_id, "uB": b1.unit_id}


@pytest.mark.parametrize(("method", "url", "data", "expected"), MATRIX,
                         ids=[f"{m} {u}{' ' + str(d) if d else ''}" for m, u, d, _ in MATRIX])
def test_permission_matrix(app, method, url, data, expected):
    world = build_world()
    ids = _ids(world)
    got = {}
    for role in ORDER:
        client = new_client(app)
        token = csrf_token(client)
        if role != "anonymous":
            login(client, role)
            token = csrf_token(client)
        target = url.format(**ids)
        if method == "GET":
            reply = client.get(target)
        else:
            form = {k: v.format(**ids) for k, v in (data or {}).items()}
            reply = client.post(target, data={"csrf_token": token, **form})
        got[role] = reply.status_code
        if role == "anonymous" and reply.status_code == 302:
            assert "/console/login" in reply.headers["Location"]
        db.session.expire_all()
    assert got == dict(zip(ROLES, expected))


def test_every_console_route_is_in_the_matrix(app):
    covered = set()
    adapter = app.url_map.bind("localhost")
    for method, url, _, _ in MATRIX:
        path = url.split("?")[0].format(R=1, RB=2, A1=1, B1=2, V=1, viewer=1, uA=1, uB=2)
        endpoint, _ = adapter.match(path, method=method)
        covered.add((endpoint, method))
    routes = {(rule.endpoint, method) for rule in app.url_map.iter_rules()
              if rule.endpoint.startswith("console.") and rule.endpoint not in NOT_HERE
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert routes - covered == set()


def test_post_without_csrf_token_is_refused(app):
    world = build_world()
    client = new_client(app)
    login(client, "admin")
    assert client.post(f"/console/rounds/{world.district_round.id}/close").status_code == 400
    db.session.refresh(world.district_round)
    assert world.district_round.state_at(world.district_round.opens_at) == "open"


def test_staff_see_only_their_units_channels_and_posters(app):
    world = build_world()
    round_ = world.district_round
    for role, prefix, count in (("staff_a", "D01-S01-", 3), ("staff_b", "D01-S02-C01", 1)):
        client = new_client(app)
        login(client, role)
        page = client.get(f"/console/rounds/{round_.id}").get_data(as_text=True)
        for channel in round_.channels:
            assert (channel.token in page) == channel.unit.code.startswith(prefix), (role, channel.unit.code)
        pdf = client.get(f"/console/rounds/{round_.id}/posters.pdf")
        assert len(PdfReader(io.BytesIO(pdf.data)).pages) == count
        progress = client.get(f"/console/rounds/{round_.id}/progress.json").get_json()
        assert {row["code"] for row in progress["rows"] if row["kind"] == "unit"} == {
            c.unit.code for c in round_.channels if c.unit.code.startswith(prefix)}
        overview = client.get("/console/").get_data(as_text=True)
        assert round_.name in overview
        assert (world.street_b_round.name in overview) == (role == "staff_b")
    admin = new_client(app)
    login(admin, "admin")
    pdf = admin.get(f"/console/rounds/{round_.id}/posters.pdf")
    assert len(PdfReader(io.BytesIO(pdf.data)).pages) == len(round_.channels)


def test_units_page_shows_staff_only_their_subtree(app):
    build_world()
    client = new_client(app)
    login(client, "staff_a")
    page = client.get("/console/units").get_data(as_text=True)
    assert "东风街道" in page and "花园社区" in page
    assert "新华街道" not in page and "示范区" not in page
    assert 'id="upload-units"' not in page


def test_sessions_expire_and_deactivation_ends_them(app):
    build_world()
    client = new_client(app)
    reply = login(client, "viewer")
    cookie = reply.headers["Set-Cookie"]
    assert "Expires=" in cookie  # a permanent session, ended by PERMANENT_SESSION_LIFETIME
    assert app.permanent_session_lifetime.total_seconds() == 8 * 3600
    assert client.get("/console/").status_code == 200
    world_viewer = db.session.scalars(select(User).where(User.username == "viewer")).one()
    world_viewer.active = False
    db.session.commit()
    assert client.get("/console/").status_code == 302  # signed out at the next request


def test_result_scope_decisions(app):
    """``access.scope_for``: the one place that decides a results view's unit, rows and comparison."""
    from survey.queries import access
    from tests.survey.consolekit import make_user, unit

    world = build_world()
    r, rb = world.district_round, world.street_b_round
    staff_district = make_user("staff_d", "staff", unit("D01"))
    users = {**world.users, "staff_d": staff_district}

    def scope(name, round_, unit_code=None, compare=None):
        return access.scope_for(db.session, users[name], round_, unit_code, compare)

    # Office: the whole area, every row; ?unit= narrows to that unit's subtree.
    assert scope("viewer", r).unit is None and scope("viewer", r).shows(None) and scope("viewer", r).codes is None
    narrowed = scope("admin", r, "D01-S02")
    assert narrowed.unit.code == "D01-S02" and not narrowed.shows(None)
    assert narrowed.shows("D01-S02-C03") and not narrowed.shows("D01-S01-C01")
    # Staff: their own unit, never the overall rows -- unless the round's whole area is theirs.
    a = scope("staff_a", r)
    assert a.unit.code == "D01-S01" and not a.shows(None) and a.shows("D01-S01-C02") and not a.shows("D01-S02")
    assert scope("staff_b", rb).unit.code == "D01-S02-C01" and not scope("staff_b", rb).shows("D01-S02-C02")
    assert scope("staff_d", rb).unit is None and scope("staff_d", rb).shows(None)
    # Out of reach (404): another street's round, unit or comparison, and ids that are no round.
    for name, round_, code, compare in (("staff_a", rb, None, None), ("staff_a", r, "D01-S02", None),
                                        ("staff_b", r, "D01-S02", None), ("staff_a", r, None, str(rb.id)),
                                        ("admin", r, "NO-SUCH", None), ("admin", r, "x" * 65, None),
                                        ("admin", r, None, "2147483648"), ("admin", r, None, "99999")):
        with pytest.raises(access.OutOfReach):
            scope(name, round_, code, compare)
    # Malformed (400): a comparison that is no number, or the round itself.
    for compare in ("last", "-1", str(r.id)):
        with pytest.raises(access.BadScopeRequest):
            scope("admin", r, None, compare)
    assert scope("staff_b", r, None, str(rb.id)).compare == rb
    # The comparison picker: the rounds the user may see, the round itself left out.
    assert access.visible_rounds(db.session, users["staff_a"], besides=r) == []
    assert access.visible_rounds(db.session, users["staff_b"], besides=r) == [rb]


def test_a_staff_members_weak_items_are_the_worst_of_their_own_units(app):
    """The area's ten worst items may all lie elsewhere: a street's page lists
    its own worst items, not the area's list cut to the street (then empty)."""
    from analysis.report import WEAK_ITEMS, Report, WeakItem
    from survey.queries import access

    world = build_world()

    def item(domain, rate):
        return WeakItem("awareness", "知晓率", domain, domain, rate, rate - 0.1, rate + 0.1, 0.8, "fail", 0.0)

    elsewhere = [item(f"D01-S02-C0{i % 3 + 1}", 0.30 + i / 100) for i in range(12)]
    mine = [item("D01-S01-C01", 0.60), item("D01-S01-C02", 0.65)]
    worst_first = sorted(elsewhere + mine, key=lambda w: w.rate)
    report = Report(overall=[], by_street=[], by_unit=[], ranking=[], ranking_basis="composite",
                    weak_items=worst_first[:WEAK_ITEMS], changes=[], methodology=None, all_weak_items=worst_first)
    assert not any(w.domain.startswith("D01-S01") for w in report.weak_items)  # the area's list has none of them
    staff_a = access.scope_for(db.session, world.users["staff_a"], world.district_round, None, None)
    assert staff_a.weak_items(report) == mine
    office = access.scope_for(db.session, world.users["admin"], world.district_round, None, None)
    assert office.weak_items(report) == worst_first[:WEAK_ITEMS]
