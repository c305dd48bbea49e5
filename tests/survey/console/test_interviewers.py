"""The office's interviewers page: sign-up codes made in a batch and printed
as cards whose QR codes decode back to the sign-up URLs, stopping an
interviewer, and clearing practice answers."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from survey.extensions import db
from survey.models import AuditEvent, Interviewer, PracticeResponse, Round
from tests.survey.consolekit import build_world, csrf_token, login, new_client
from tests.survey.interview.phonekit import item, signed_in_phone, sync
from tests.survey.renderers.test_qr import decode_qr, pdftotext, render_page, squash


def _office(app):
    build_world()
    client = new_client(app)
    login(client, "admin")
    return client


def test_a_batch_of_codes_prints_as_cards_whose_codes_open_the_sign_up(app, tmp_path):
    office = _office(app)
    round_id = db.session.scalars(select(Round.id).order_by(Round.id)).first()
    reply = office.post(f"/console/rounds/{round_id}/interviewers",
                        data={"csrf_token": csrf_token(office), "count": "9", "units": ["D01-S01"]})
    assert reply.status_code == 303
    page = office.get(f"/console/rounds/{round_id}/interviewers").get_data(as_text=True)
    codes = re.findall(r'<code class="break-all">([A-Z0-9]{16})</code>', page)
    assert len(codes) == 9 and "<td>东风街道</td>" in page
    pdf = office.get(f"/console/rounds/{round_id}/interviewers/codes.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    path = tmp_path / "codes.pdf"
    path.write_bytes(pdf.data)
    assert "调查员登记码" in squash(pdftotext(path, 1)) and "此码仅可使用一次" in squash(pdftotext(path, 1))
    decoded = {r.text for r in decode_qr(render_page(path, 1, tmp_path, dpi=200))}
    decoded |= {r.text for r in decode_qr(render_page(path, 2, tmp_path, dpi=200))}
    base = app.config["PUBLIC_BASE_URL"]
    assert decoded == {f"{base}/i/join/{code}" for code in codes}
    assert new_client(app).get(f"/i/join/{codes[0]}").status_code == 200
    assert db.session.scalar(select(AuditEvent.details).where(AuditEvent.action == "interviewer.codes"))["count"] == 9


def test_a_stopped_code_opens_nothing_and_a_stopped_phone_sends_nothing(app):
    office = _office(app)
    round_ = db.session.scalars(select(Round).order_by(Round.id)).first()
    phone = signed_in_phone(app, round_, ["D01-S01"])
    interviewer = db.session.scalars(select(Interviewer)).one()
    reply = office.post(f"/console/interviewers/{interviewer.id}/revoke", data={"csrf_token": csrf_token(office)})
    assert reply.status_code == 303
    assert sync(phone, [item(round_.questionnaire_version.parsed, "D01-S01-C01")]).status_code == 401
    again = office.post(f"/console/interviewers/{interviewer.id}/revoke", data={"csrf_token": csrf_token(office)},
                        follow_redirects=True)
    assert "该调查员已被停用" in again.get_data(as_text=True)
    assert office.post(f"/console/interviewers/{interviewer.id}/revoke").status_code == 400  # no CSRF token


def test_practice_answers_are_cleared_by_the_office(app):
    office = _office(app)
    round_ = db.session.scalars(select(Round).order_by(Round.id)).first()
    phone = signed_in_phone(app, round_, ["D01-S01"])
    q = round_.questionnaire_version.parsed
    sync(phone, [item(q, "D01-S01-C01", practice=True), item(q, "D01-S01-C02", practice=True)])
    page = office.get(f"/console/rounds/{round_.id}/interviewers").get_data(as_text=True)
    assert "本轮共保存 2 份练习问卷" in page
    done = office.post(f"/console/rounds/{round_.id}/practice/clear", data={"csrf_token": csrf_token(office)},
                       follow_redirects=True)
    assert "已删除 2 份练习问卷" in done.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(PracticeResponse)) == 0
    assert db.session.scalar(select(AuditEvent.details).where(AuditEvent.action == "practice.clear")) == {"deleted": 2}
