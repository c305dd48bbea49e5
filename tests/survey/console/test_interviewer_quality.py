"""The interviewer quality page: figures and flags per interviewer, the
effect of leaving each one out on every overall rate, and the office leaving
one's responses out of the results (or counting them again) with a reason.
The results page then shows every rate beside the rate counting everything."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from survey.extensions import db
from survey.models import AuditEvent, Interviewer
from survey.models.types import utcnow
from survey.queries.reporting import ReportOptions, round_report
from survey.usecases import integrity
from tests.factories import submit_responses
from tests.survey.consolekit import build_world, csrf_token, login, new_client
from tests.survey.fieldkit import add_interviewer


@pytest.fixture
def field(app):
    """The district round with 60 residents' responses, three honest
    interviewers (15 varied interviews of 6 minutes each), a newcomer with 5,
    and 张伟, who "interviews" 30 people in 40 seconds each, back to back,
    every answer the first (most favourable) option."""
    world = build_world()
    round_ = world.district_round
    submit_responses(round_, 60, seed=9, screened_share=0.0)
    honest = [add_interviewer(round_, name, 15, seed=seed, end=utcnow() - timedelta(hours=seed))
              for seed, name in ((1, "王芳"), (2, "李强"), (3, "赵敏"))]
    newcomer = add_interviewer(round_, "陈晨", 5, seed=4, end=utcnow() - timedelta(hours=5))
    fabricator = add_interviewer(round_, "张伟", 30, seconds=40, gap_seconds=10, choice=0,
                                 end=utcnow() - timedelta(hours=6))
    integrity.ensure_current(db.session, round_)
    db.session.refresh(round_)
    return world, honest, newcomer, fabricator


def _client(app, who: str):
    client = new_client(app)
    login(client, who)
    return client


def _row(page: str, interviewer: Interviewer) -> str:
    return re.search(rf'<tr id="interviewer-{interviewer.id}"[^>]*>(.*?)</tr>', page, re.S).group(0)


def test_the_office_reads_each_interviewer_s_figures_and_flags(app, field):
    world, honest, newcomer, fabricator = field
    url = f"/console/rounds/{world.district_round.id}/interviewers/quality"
    page = _client(app, "admin").get(url).get_data(as_text=True)
    assert "调查员质量" in page
    fake = _row(page, fabricator)
    flags = re.search(r'data-flags="([^"]*)"', fake).group(1).split()
    assert {"short_interviews", "identical_patterns", "bursts"} <= set(flags)
    assert "访问时长明显偏短" in fake and "访问时长中位数 40 秒" in fake and "相邻答卷间隔过短" in fake
    assert "张伟（" in fake and "<td class=\"num\">30</td>" in fake
    for person in honest:
        assert 'data-flags=""' in _row(page, person)
    assert "样本太少" in _row(page, newcomer) and "data-flags=\"\"" in _row(page, newcomer)
    assert 'action="/console/interviewers/' in page  # the administrator may leave one out

    # Viewers read the same page without the forms; staff never get it.
    viewer = _client(app, "viewer").get(url)
    assert viewer.status_code == 200 and "访问时长明显偏短" in viewer.get_data(as_text=True)
    assert 'action="/console/interviewers/' not in viewer.get_data(as_text=True)
    assert _client(app, "staff_a").get(url).status_code == 403
    # The round page links to it for the office only.
    round_page = f"/console/rounds/{world.district_round.id}"
    assert "interviewer-quality-link" in _client(app, "viewer").get(round_page).get_data(as_text=True)
    assert "interviewer-quality-link" not in _client(app, "staff_a").get(round_page).get_data(as_text=True)


def test_the_page_shows_what_leaving_each_interviewer_out_changes(app, field):
    world, honest, _, fabricator = field
    round_ = world.district_round
    page = _client(app, "admin").get(f"/console/rounds/{round_.id}/interviewers/quality").get_data(as_text=True)
    effects = page[page.index('id="effects"'):]
    for person in (honest[0], fabricator):
        counted, _ = round_report(db.session, round_, ReportOptions(excluded_interviewers=()))
        without, _ = round_report(db.session, round_, ReportOptions(excluded_interviewers=(person.id,)))
        row = re.search(rf'<tr data-interviewer="{person.id}">(.*?)</tr>', effects, re.S).group(1)
        shown = dict(re.findall(r'data-indicator="([^"]+)"[^>]*>([^<]*)</td>', row))
        used = int(re.search(r'<td class="num" data-used>(\d+)</td>', row).group(1))
        assert used == counted.methodology.n_used - without.methodology.n_used
        # 张伟's 40-second interviews are all too fast, a flag the round leaves out: he changes nothing.
        assert used == (0 if person is fabricator else 15)
        rate = {r.key: r for r in counted.overall}
        for r in without.overall:
            if rate[r.key].kind == "rate":
                assert shown[r.key] == f"{100 * (r.rate - rate[r.key].rate):+.1f}", r.key


def test_leaving_an_interviewer_out_and_counting_them_again(app, field):
    world, honest, _, _ = field
    round_ = world.district_round
    round_.excluded_flags = []  # nothing else left out: the comparison column appears for the interviewer alone
    db.session.commit()
    admin = _client(app, "admin")
    results = f"/console/rounds/{round_.id}/results"
    page = admin.get(results).get_data(as_text=True)
    assert "全部计入" not in page and "共140份答卷，采用140份" in page
    wang = honest[0]

    reply = admin.post(f"/console/interviewers/{wang.id}/exclude",
                       data={"csrf_token": csrf_token(admin), "reason": "抽查回访，多名受访者表示未接受访问"})
    assert reply.status_code == 303
    assert reply.headers["Location"].endswith(f"/console/rounds/{round_.id}/interviewers/quality")
    page = admin.get(reply.headers["Location"]).get_data(as_text=True)
    assert "其答卷已从本轮结果中排除" in page
    row = _row(page, wang)
    assert "data-excluded" in row and "抽查回访，多名受访者表示未接受访问" in row and "重新计入" in row

    page = admin.get(results).get_data(as_text=True)
    assert "共140份答卷，采用125份" in page and "剔除（调查员的答卷被排除）：15份。" in page
    assert "全部计入" in page and 'id="counting-everything-note"' in page
    counted, _ = round_report(db.session, round_, ReportOptions(excluded_interviewers=()))
    now, _ = round_report(db.session, round_)
    overall = re.search(r'<tr data-indicator="awareness" data-domain="">(.*?)</tr>', page, re.S).group(1)
    cells = re.findall(r'<td class="num"[^>]*>([^<]*)</td>', overall)
    assert cells[0] == f"{100 * now.overall[0].rate:.1f}%" and cells[1] == f"{100 * counted.overall[0].rate:.1f}%"
    assert 'data-counting-everything' in page

    reply = admin.post(f"/console/interviewers/{wang.id}/include",
                       data={"csrf_token": csrf_token(admin), "reason": "复核后确认访问属实"})
    assert reply.status_code == 303
    page = admin.get(results).get_data(as_text=True)
    assert "全部计入" not in page and "共140份答卷，采用140份" in page
    actions = list(db.session.scalars(select(AuditEvent.action).where(AuditEvent.target == f"interviewer:{wang.id}")
                                      .order_by(AuditEvent.id)))
    assert actions[-2:] == ["interviewer.exclude", "interviewer.include"]
    audit = admin.get("/console/audit").get_data(as_text=True)
    assert "排除调查员的答卷" in audit and "重新计入调查员的答卷" in audit and "排除理由" in audit


def test_voided_and_flagged_responses_are_counted_in_the_comparison_column(app, field):
    world, _, _, fabricator = field
    round_ = world.district_round
    admin = _client(app, "admin")
    # 张伟's 40-second interviews are too fast, a flag the round leaves out by default.
    page = admin.get(f"/console/rounds/{round_.id}/results").get_data(as_text=True)
    assert "剔除（答题过快）：30份。" in page and "全部计入" in page
    counted, _ = round_report(db.session, round_, ReportOptions(excluded_flags=(), include_voided=True,
                                                                 excluded_interviewers=()))
    assert counted.methodology.n_used == 140


def test_refusals_are_in_chinese_and_change_nothing(app, field):
    world, honest, _, _ = field
    wang = honest[0]
    admin = _client(app, "admin")
    url = f"/console/interviewers/{wang.id}/exclude"
    empty = admin.post(url, data={"csrf_token": csrf_token(admin), "reason": "  "})
    assert empty.status_code == 422 and "请填写理由" in empty.get_data(as_text=True)
    long = admin.post(url, data={"csrf_token": csrf_token(admin), "reason": "理" * 501})
    assert long.status_code == 422 and "理由请不超过 500 个字" in long.get_data(as_text=True)
    expired = admin.post(url, data={"reason": "无令牌"})
    assert expired.status_code == 400 and "页面已过期" in expired.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Interviewer, wang.id).excluded_at is None
    again = admin.post(f"/console/interviewers/{wang.id}/include", data={"csrf_token": csrf_token(admin),
                                                                         "reason": "并未排除"})
    assert again.status_code == 409 and "无需恢复" in again.get_data(as_text=True)
    assert admin.post("/console/interviewers/2147483647/exclude",
                      data={"csrf_token": csrf_token(admin), "reason": "x"}).status_code == 404
    viewer = _client(app, "viewer")
    assert viewer.post(url, data={"csrf_token": csrf_token(viewer), "reason": "越权"}).status_code == 403
    assert not list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "interviewer.exclude")))


def test_a_round_without_interviewers_says_so(app):
    world = build_world()
    page = _client(app, "admin").get(f"/console/rounds/{world.street_b_round.id}/interviewers/quality")
    assert page.status_code == 200 and "本轮尚无调查员提交问卷" in page.get_data(as_text=True)
