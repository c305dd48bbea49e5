"""The interviewer's phone in headless Chromium at phone width, against
gunicorn on SQLite and PostgreSQL, through a network that can be cut:
sign up, lose the network, complete three questionnaires, close and reopen
the browser (the page comes from the service worker, the queue from
IndexedDB), get the network back, and all three are stored exactly once,
attributed, with the quota view updated. Practice answers never reach the
results, the workbook or the PDF; a voided response leaves the rates and
comes back when restored."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import func, select

from survey.extensions import db
from survey.models import Interviewer, PracticeResponse, Response, RoundQuota
from survey.models.types import utcnow
from survey.queries.reporting import round_report
from survey.usecases import review
from survey.usecases.demo import load_demo_population
from tests.factories import complete_answers, demo_round
from tests.survey.browserkit import CHROMIUM_ARGS, PHONE, answer_everything
from tests.survey.consolekit import login, make_user, new_client, unit
from tests.survey.faultkit import CuttableProxy
from tests.survey.interview.phonekit import signup_code

COMMUNITY = "D01-S01-C01"
TIMEOUT_MS = 20_000


@pytest.fixture
def network(live_server):
    """The phone's network: a relay to the server that can be cut, for the
    page and its service worker alike (Chromium's offline emulation does not
    reach service workers)."""
    relay = CuttableProxy("127.0.0.1", int(live_server.rsplit(":", 1)[1]))
    relay.base = f"http://127.0.0.1:{relay.port}"
    yield relay
    relay.close()


def _launch(playwright, profile, offline=False):
    context = playwright.chromium.launch_persistent_context(
        str(profile), executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS, offline=offline,
        locale="zh-CN", timezone_id="Asia/Shanghai", **PHONE)
    context.set_default_timeout(TIMEOUT_MS)
    return context


def _waiting(page) -> int:
    return int(page.locator("#waiting-count").inner_text())


def _fill_one(page, questionnaire, choice: int) -> None:
    answers = complete_answers(questionnaire, COMMUNITY, choice)
    # The phone asks in interview order; answering in that order keeps follow-ups visible.
    ordered = type("Ordered", (), {"questions": questionnaire.interview_order})
    answer_everything(page, ordered, answers)
    page.locator("#save").tap()


def _respondents(round_) -> int:
    db.session.expire_all()
    report, _ = round_report(db.session, round_)
    return report.methodology.n_used


def test_an_interviewer_works_offline_and_every_questionnaire_arrives_once(app, network, tmp_path, artifacts,
                                                                           backend):
    from playwright.sync_api import expect, sync_playwright

    # A test's thumb answers twenty questions in seconds: every questionnaire is
    # "too fast" for an interview, and this round counts flagged ones.
    round_ = demo_round(excluded_flags=[])
    load_demo_population(db.session)
    db.session.add(RoundQuota(round_id=round_.id, unit_id=unit(COMMUNITY).id, quota=40))
    db.session.commit()
    questionnaire = round_.questionnaire_version.parsed
    code = signup_code(round_, [COMMUNITY])
    before = _respondents(round_)
    profile = tmp_path / "phone"

    with sync_playwright() as playwright:
        context = _launch(playwright, profile)
        page = context.new_page()
        page.goto(f"{network.base}/i/join/{code}")
        page.fill("#name", "赵志愿")
        page.locator("button[type=submit]").tap()
        page.wait_for_url(re.compile(r"/i/$"))
        expect(page.locator("#quota-body")).to_contain_text("还差 40 份")
        # The service worker keeps the page as it installs: no reload needed before going offline.
        page.evaluate("navigator.serviceWorker.ready.then(() => true)")
        page.wait_for_function("caches.keys().then(ks => Promise.all(ks.map(k => caches.open(k).then(c => c.match('/i/'))))).then(rs => rs.some(Boolean))")

        network.cut()
        context.set_offline(True)
        for choice in range(3):
            _fill_one(page, questionnaire, choice)
            expect(page.locator("#waiting-count")).to_have_text(str(choice + 1))
        expect(page.locator("#net-state")).to_contain_text("无网络")
        page.screenshot(path=str(artifacts / f"interviewer-offline-{backend}.png"), full_page=True)
        assert db.session.scalar(select(func.count()).select_from(Response)) == 0
        context.close()

        # The browser is reopened still without a network: the page and the queue are there.
        context = _launch(playwright, profile, offline=True)
        page = context.pages[0] if context.pages else context.new_page()
        page.goto(f"{network.base}/i/")
        expect(page.locator("#waiting-count")).to_have_text("3")
        expect(page.locator("#items li.waiting")).to_have_count(3)

        network.restore()
        context.set_offline(False)  # the phone's "online" event sends the queue
        expect(page.locator("#waiting-count")).to_have_text("0", timeout=60_000)
        expect(page.locator("#items li.stored")).to_have_count(3)
        expect(page.locator("#items li.stored").first).to_contain_text("服务器已于")
        expect(page.locator("#quota-body")).to_contain_text("其中您完成 3 份")
        expect(page.locator("#quota-body")).to_contain_text("还差 37 份")
        page.screenshot(path=str(artifacts / f"interviewer-synced-{backend}.png"), full_page=True)

        # Practice: saved and confirmed, counted nowhere.
        page.locator("label:has(#practice)").tap()
        _fill_one(page, questionnaire, 0)
        expect(page.locator("#items li.stored")).to_have_count(4)
        context.close()

    db.session.expire_all()
    stored = db.session.scalars(select(Response).where(Response.round_id == round_.id)).all()
    assert len(stored) == 3 and len({r.submission_key for r in stored}) == 3
    assert {r.mode for r in stored} == {"interviewer"}
    assert all("too_fast" in r.quality_flags for r in stored)
    interviewer = db.session.scalars(select(Interviewer)).one()
    assert interviewer.name == "赵志愿" and {r.interviewer_id for r in stored} == {interviewer.id}
    assert db.session.scalar(select(func.count()).select_from(PracticeResponse)) == 1
    assert _respondents(round_) == before + 3

    office = new_client(app)
    make_user("office", "admin")
    login(office, "office")
    workbook = load_workbook(io.BytesIO(office.get(f"/console/rounds/{round_.id}/results.xlsx").data), read_only=True)
    raw = workbook["原始数据"]
    rows = list(raw.iter_rows(min_row=2, values_only=True))
    assert len(rows) == 3
    pdf = office.get(f"/console/rounds/{round_.id}/report.pdf")
    text = re.sub(r"\s+", "", "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages))
    assert f"有效答卷：{before + 3}份（共收到{before + 3}份）" in text  # the practice one is not received at all

    # A voided response leaves the rates; restored, it counts again.
    user = _user("office")
    review.void_response(db.session, stored[0], user, "访问对象不符", utcnow())
    db.session.commit()
    assert _respondents(round_) == before + 2
    review.restore_response(db.session, stored[0], user, "核实无误", utcnow())
    db.session.commit()
    assert _respondents(round_) == before + 3


def _user(username: str):
    from survey.models import User

    return db.session.scalars(select(User).where(User.username == username)).one()
