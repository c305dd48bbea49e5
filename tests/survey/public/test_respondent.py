"""The resident's path through the test client: QR URL -> form -> error ->
corrected -> stored once -> thank-you page, in Chinese."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from survey.extensions import db
from survey.models import Answer, Response
from survey.models.types import utcnow
from tests.factories import close_round, complete_answers, demo_round
from tests.survey.formpage import checked_values, parse_form


@pytest.fixture
def round_(app):
    return demo_round()


def _url(channel) -> str:
    return f"/s/{channel.token}"


def _response_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Response))


def test_full_path_in_chinese(app, client, round_):
    channel = round_.channels[0]
    questionnaire = round_.questionnaire_version.parsed
    page = client.get(_url(channel))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert questionnaire.title.zh in html
    assert channel.unit.name in html
    assert 'lang="zh-CN"' in html
    form = parse_form(html)

    # First try: one required question left out.
    answers = complete_answers(questionnaire, channel.unit.code)
    required = next(q for q in questionnaire.questions if q.required and q.type == "satisfaction5")
    partial = {k: v for k, v in answers.items() if k != required.id}
    first = client.post(_url(channel), data=form.fields(partial))
    assert first.status_code == 422
    error_html = first.get_data(as_text=True)
    assert "请回答此题" in error_html
    assert f'id="err-{required.id}"' in error_html
    # What the resident had answered is still there.
    some_answered = next(q for q in questionnaire.questions if q.type == "yes_no" and q.screening is None)
    assert checked_values(error_html, some_answered.id) == [answers[some_answered.id]]
    assert _response_count() == 0

    # Corrected: stored, and sent to the thank-you page.
    second = client.post(_url(channel), data=form.fields(answers))
    assert second.status_code == 303
    thanks = client.get(second.headers["Location"])
    thanks_html = thanks.get_data(as_text=True)
    assert thanks.status_code == 200
    assert "谢谢" in thanks_html or "感谢" in thanks_html
    assert questionnaire.knowledge_card.title.zh in thanks_html
    assert "富强" in thanks_html  # the core values are taught after answering

    stored = db.session.scalars(select(Response)).all()
    assert len(stored) == 1
    response = stored[0]
    assert response.status == "complete"
    assert response.unit_id == channel.unit_id
    assert response.round_id == round_.id
    stored_answers = {a.question_id: a.value for a in response.answers}
    assert stored_answers[required.id] == answers[required.id]
    # Anonymous: no raw address anywhere in the row.
    assert "127.0.0.1" not in repr(vars(response))


def test_same_submission_twice_is_stored_once(app, client, round_):
    channel = round_.channels[1]
    questionnaire = round_.questionnaire_version.parsed
    form = parse_form(client.get(_url(channel)).get_data(as_text=True))
    data = form.fields(complete_answers(questionnaire, channel.unit.code))
    first = client.post(_url(channel), data=data)
    again = client.post(_url(channel), data=data)
    assert first.status_code == again.status_code == 303
    assert first.headers["Location"] == again.headers["Location"]
    assert _response_count() == 1
    assert db.session.scalar(select(func.count()).select_from(Answer)) == len(
        db.session.scalars(select(Response)).one().answers
    )


def test_second_response_from_same_device_is_refused_politely(app, client, round_):
    channel = round_.channels[0]
    questionnaire = round_.questionnaire_version.parsed
    answers = complete_answers(questionnaire, channel.unit.code)
    form_a = parse_form(client.get(_url(channel)).get_data(as_text=True))
    form_b = parse_form(client.get(_url(channel)).get_data(as_text=True))  # a second tab
    assert client.post(_url(channel), data=form_a.fields(answers)).status_code == 303
    refused = client.post(_url(channel), data=form_b.fields(answers))
    assert refused.status_code == 409
    assert "已经参与" in refused.get_data(as_text=True)
    assert client.get(_url(channel)).status_code == 409
    assert _response_count() == 1


def test_device_limit_can_be_turned_off_per_round(app, client, round_):
    round_.one_response_per_device = False
    db.session.commit()
    channel = round_.channels[0]
    answers = complete_answers(round_.questionnaire_version.parsed, channel.unit.code)
    for _ in range(2):
        form = parse_form(client.get(_url(channel)).get_data(as_text=True))
        assert client.post(_url(channel), data=form.fields(answers)).status_code == 303
    assert _response_count() == 2


def test_screened_out_resident_is_thanked_and_counted_as_screened_out(app, client, round_):
    channel = round_.channels[0]
    questionnaire = round_.questionnaire_version.parsed
    screen = questionnaire.screening_questions[0]
    ineligible = next(o.code for o in screen.options if o.code not in screen.screening.eligible)
    form = parse_form(client.get(_url(channel)).get_data(as_text=True))
    answer = client.post(_url(channel), data=form.fields({screen.id: ineligible}))
    assert answer.status_code == 303
    html = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert screen.screening.message.zh in html
    response = db.session.scalars(select(Response)).one()
    assert response.status == "screened_out"
    assert response.screened_out_by == screen.id
    assert [a.question_id for a in response.answers] == [screen.id]


def test_respondent_picks_a_neighbouring_community(app, client, round_):
    channel = round_.channels[0]
    neighbour = next(u for u in channel.unit.parent.children if u.id != channel.unit_id)
    answers = complete_answers(round_.questionnaire_version.parsed, neighbour.code)
    form = parse_form(client.get(_url(channel)).get_data(as_text=True))
    assert client.post(_url(channel), data=form.fields(answers)).status_code == 303
    assert db.session.scalars(select(Response)).one().unit_id == neighbour.id


def test_unknown_token_gets_a_chinese_page(client, app):
    page = client.get("/s/not-a-real-token")
    assert page.status_code == 404
    html = page.get_data(as_text=True)
    assert "二维码" in html
    assert "Traceback" not in html


def test_closed_and_not_yet_open_rounds(app, client, round_):
    channel = round_.channels[0]
    round_.opens_at = utcnow() + timedelta(days=1)
    round_.closes_at = utcnow() + timedelta(days=2)
    db.session.commit()
    page = client.get(_url(channel))
    assert page.status_code == 403
    assert "尚未开始" in page.get_data(as_text=True)

    close_round(round_)
    page = client.get(_url(channel))
    assert page.status_code == 403
    assert "已经结束" in page.get_data(as_text=True)


def test_submit_after_close_is_refused_but_earlier_submission_still_thanks(app, client, round_):
    channel = round_.channels[0]
    answers = complete_answers(round_.questionnaire_version.parsed, channel.unit.code)
    early = parse_form(client.get(_url(channel)).get_data(as_text=True))
    round_.one_response_per_device = False
    db.session.commit()
    late = parse_form(client.get(_url(channel)).get_data(as_text=True))
    assert client.post(_url(channel), data=early.fields(answers)).status_code == 303
    close_round(round_)
    assert client.post(_url(channel), data=late.fields(answers)).status_code == 403
    # A retry of the stored submission still gets its thank-you.
    assert client.post(_url(channel), data=early.fields(answers)).status_code == 303
    assert _response_count() == 1


def test_forged_ticket_and_missing_csrf_change_nothing(app, client, round_):
    channel = round_.channels[0]
    answers = complete_answers(round_.questionnaire_version.parsed, channel.unit.code)
    form = parse_form(client.get(_url(channel)).get_data(as_text=True))
    forged = form.fields(answers) | {"ticket": form.ticket[:-3] + "abc"}
    page = client.post(_url(channel), data=forged)
    assert page.status_code == 400
    assert "重新扫描" in page.get_data(as_text=True)
    no_csrf = form.fields(answers)
    del no_csrf["csrf_token"]
    page = client.post(_url(channel), data=no_csrf)
    assert page.status_code == 400
    html = page.get_data(as_text=True)
    assert "Traceback" not in html
    # A plain POST keeps nothing on the phone: the page must not say it does.
    assert "保存在本机" not in html and "重复提交只计一次" in html
    # A ticket from another community's form is refused too.
    other = round_.channels[1]
    page = client.post(_url(other), data=form.fields(answers))
    assert page.status_code == 400
    assert _response_count() == 0


def test_english_is_available(app, client, round_):
    channel = round_.channels[0]
    questionnaire = round_.questionnaire_version.parsed
    page = client.get(_url(channel) + "?lang=en")
    html = page.get_data(as_text=True)
    assert 'lang="en"' in html
    assert questionnaire.title.en in html
    assert "Submit" in html
    # The choice sticks for the next page.
    assert 'lang="en"' in client.get(_url(channel)).get_data(as_text=True)


def test_questionnaire_page_is_light(app, client, round_):
    page = client.get(_url(round_.channels[0]))
    assert len(page.get_data()) < 60 * 1024
    html = page.get_data(as_text=True)
    # Script and style come from this site's own cacheable static files
    # (the Content-Security-Policy allows no inline code), nothing from elsewhere.
    import re

    for src in re.findall(r'(?:src|href)="([^"#?]+)"', html):
        assert src.startswith("/static/") or src.startswith("/s/"), src


def test_every_question_has_a_label(app, client, round_):
    html = client.get(_url(round_.channels[0])).get_data(as_text=True)
    questionnaire = round_.questionnaire_version.parsed
    for q in questionnaire.questions:
        if q.options or q.type == "community":
            assert f'name="q_{q.id}"' in html
    assert html.count("<legend>") + html.count('class="qtext"') == len(questionnaire.questions)


def test_server_error_page_is_chinese_and_keeps_nothing(app, client, round_, monkeypatch):
    channel = round_.channels[0]
    form = parse_form(client.get(_url(channel)).get_data(as_text=True))

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr("survey.usecases.submission.evaluate_answers", broken)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    reply = client.post(_url(channel), data=form.fields(complete_answers(round_.questionnaire_version.parsed, channel.unit.code)))
    assert reply.status_code == 500
    html = reply.get_data(as_text=True)
    assert "出错了" in html and "再次点击“提交”" in html
    # The server cannot know the phone kept the answers: it does not say so.
    assert "已保存在本机" not in html
    assert "RuntimeError" not in html and "Traceback" not in html
    assert _response_count() == 0


def test_quality_flags_are_kept(app, client, round_):
    channel = round_.channels[0]
    questionnaire = round_.questionnaire_version.parsed
    form = parse_form(client.get(_url(channel)).get_data(as_text=True))
    # Submitted within a second of opening, every scale item the same answer.
    client.post(_url(channel), data=form.fields(complete_answers(questionnaire, channel.unit.code)))
    response = db.session.scalars(select(Response)).one()
    assert set(response.quality_flags) == {"too_fast", "straight_lined"}


def test_already_answered_page_forgets_the_phone_copy(app, client, round_):
    channel = round_.channels[0]
    form = parse_form(client.get(_url(channel)).get_data(as_text=True))
    client.post(_url(channel), data=form.fields(complete_answers(round_.questionnaire_version.parsed, channel.unit.code)))
    html = client.get(_url(channel)).get_data(as_text=True)
    # page.js removes the copy named here (the browser test runs it).
    assert f'data-forget-answers="minyi:{channel.token}"' in html
    assert "/static/page.js" in html
