"""A resident on a phone, in headless Debian Chromium driven by Playwright:
the connection drops at submit, the page is reloaded, the answers are still
there, and the response is stored exactly once. (The phone sending again by
itself is in test_faults.py.)"""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import select

from survey.extensions import db
from survey.models import Response
from tests.factories import complete_answers, demo_round
from tests.survey.browserkit import PHONE, answer_everything


def _stored():
    db.session.expire_all()
    return db.session.scalars(select(Response)).all()


def test_answers_survive_a_lost_connection(app, live_server, browser, artifacts):
    round_ = demo_round()
    channel = round_.channels[0]
    questionnaire = round_.questionnaire_version.parsed
    answers = complete_answers(questionnaire, channel.unit.code, choice_index=1)
    context = browser.new_context(**PHONE)
    page = context.new_page()
    page.goto(f"{live_server}/s/{channel.token}")
    expect(page.locator("h1")).to_have_text(questionnaire.title.zh)
    answer_everything(page, questionnaire, answers)
    page.screenshot(path=str(artifacts / "form-phone.png"), full_page=True)

    # The network is gone when the resident presses 提交.
    context.set_offline(True)
    page.get_by_role("button", name="提交").tap()
    expect(page.locator("#unsent")).to_be_visible()
    assert _stored() == []

    # Back online but the server still cannot take them (503, Retry-After a
    # minute, so the phone waits): the resident reloads, every answer is still there.
    def server_not_ready(route):
        if route.request.method == "POST":
            route.fulfill(status=503, headers={"Retry-After": "60"}, body="")
        else:
            route.continue_()

    page.route(f"**/s/{channel.token}", server_not_ready)
    context.set_offline(False)
    page.reload()
    expect(page.locator("#unsent")).to_be_visible()
    satisfaction = next(q for q in questionnaire.questions if q.type == "satisfaction5")
    expect(page.locator(f'input[name="q_{satisfaction.id}"][value="{answers[satisfaction.id]}"]')).to_be_checked()
    text_q = next(q for q in questionnaire.questions if q.type == "text")
    expect(page.locator(f'[name="q_{text_q.id}"]')).to_have_value(answers[text_q.id])
    page.screenshot(path=str(artifacts / "form-phone-restored.png"))
    assert _stored() == []

    # The resident does not wait for the phone's next try.
    page.unroute(f"**/s/{channel.token}")
    page.get_by_role("button", name="提交").tap()
    expect(page.locator("#thanks-message")).to_be_visible()
    page.screenshot(path=str(artifacts / "thanks-phone.png"), full_page=True)
    stored = _stored()
    assert len(stored) == 1
    assert {a.question_id: a.value for a in stored[0].answers}[satisfaction.id] == answers[satisfaction.id]
    # The copy on the phone is gone once the server confirmed.
    assert page.evaluate(f"localStorage.getItem('minyi:{channel.token}')") is None
    context.close()


def test_a_reply_lost_after_the_server_stored_is_not_counted_twice(app, live_server, browser):
    round_ = demo_round()
    channel = round_.channels[1]
    questionnaire = round_.questionnaire_version.parsed
    answers = complete_answers(questionnaire, channel.unit.code)
    context = browser.new_context(**PHONE)
    page = context.new_page()
    page.goto(f"{live_server}/s/{channel.token}")
    answer_everything(page, questionnaire, answers)

    # The request reaches the server, but the reply never reaches the phone.
    def lose_reply(route):
        if route.request.method == "POST":
            route.fetch(max_redirects=0)
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route(f"**/s/{channel.token}", lose_reply)
    page.get_by_role("button", name="提交").tap()
    expect(page.locator("#unsent")).to_be_visible()
    assert len(_stored()) == 1

    # The phone sends again by itself (same ticket): the thank-you page, and
    # nothing more is stored.
    page.unroute(f"**/s/{channel.token}")
    expect(page.locator("#thanks-message")).to_be_visible(timeout=30000)
    assert len(_stored()) == 1
    # Opening the QR link again on this phone says it has taken part.
    page.goto(f"{live_server}/s/{channel.token}")
    expect(page.locator("body")).to_contain_text("已经参与")
    assert len(_stored()) == 1
    context.close()
