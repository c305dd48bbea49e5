"""The console's import page: upload a file of answers, read its preview
(counts, problems by row and column, each column beside its question), map
what was not matched, confirm; every row is stored once, the mapping is
kept for the next file, and only the administrator who uploaded the file
sees or imports it."""

from __future__ import annotations

import html
import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from survey.extensions import db
from survey.models import AuditEvent, ImportMapping, PendingImport, Response, ResponseImport
from survey.models.types import utcnow
from survey.usecases import response_import
from tests.survey.consolekit import build_world, csrf_token, login, make_user, new_client
from tests.survey.usecases.test_response_import import _gb18030_csv, _wjx, _xlsx

TOKEN_URL = re.compile(r"/console/rounds/(\d+)/import/([A-Za-z0-9_-]{43})$")
HIDDEN = re.compile(r'<input type="hidden" name="((?:col\d+)|unit_column|unit)" value="([^"]*)">')
SELECTED = re.compile(r'<select name="col(\d+)"[^>]*>.*?<option value="([^"]*)"[^>]* selected>', re.S)


@pytest.fixture
def world(app):
    return build_world()


def _signed_in(app, who: str = "admin"):
    client = new_client(app)
    login(client, who)
    return client


def _wjx_file(round_, form: str = "text", **kwargs) -> tuple[list[str], list[list[str]]]:
    header, rows, _ = _wjx(round_.questionnaire_version.parsed, form, **kwargs)
    return header, rows


def _upload(client, round_, data: bytes, filename: str = "问卷星.xlsx", token: str | None = None):
    fields = {"file": FileStorage(io.BytesIO(data), filename)}
    if token != "":
        fields["csrf_token"] = token or csrf_token(client)
    # Encoded here, in memory: the test client would spool a large body to a
    # temporary file it never closes.
    boundary, body = encode_multipart(fields)
    return client.post(f"/console/rounds/{round_.id}/import", data=body,
                       content_type=f"multipart/form-data; boundary={boundary}")


def _preview_url(reply) -> str:
    assert reply.status_code == 303, reply.get_data(as_text=True)[:2000]
    location = reply.headers["Location"]
    assert TOKEN_URL.search(location), location
    return location


def _confirm_form(page: str) -> dict[str, str]:
    """The confirm form's hidden fields: the choices as previewed."""
    form = page[page.index('id="import-confirm"'):]
    return {name: html.unescape(value) for name, value in HIDDEN.findall(form)}


def _selected(page: str) -> dict[int, str]:
    return {int(index): html.unescape(value) for index, value in SELECTED.findall(page)}


def _without_column(page: str) -> str:
    start = page.index('id="questions-without-column"')
    return page[start:page.index("</p>", start)]


def _responses(round_) -> int:
    return db.session.scalar(select(func.count()).select_from(Response).where(Response.round_id == round_.id))


def _column(header: list[str], prefix: str) -> int:
    return next(i for i, h in enumerate(header) if h.startswith(prefix))


def test_a_wjx_file_uploads_previews_and_imports_once(app, world):
    round_ = world.district_round
    client = _signed_in(app)
    round_page = client.get(f"/console/rounds/{round_.id}").get_data(as_text=True)
    assert f"/console/rounds/{round_.id}/import" in round_page and "导入答卷（问卷星、纸质录入表）" in round_page
    form = client.get(f"/console/rounds/{round_.id}/import")
    assert form.status_code == 200
    text = form.get_data(as_text=True)
    assert 'accept=".xlsx,.xls,.csv"' in text and "问卷星" in text and "纸质问卷录入表" in text

    header, rows = _wjx_file(round_, "number", multi_split=True)
    url = _preview_url(_upload(client, round_, _xlsx(header, rows)))
    assert db.session.scalar(select(func.count()).select_from(PendingImport)) == 1
    preview = client.get(url)
    assert preview.status_code == 200
    page = preview.get_data(as_text=True)
    assert re.search(r'id="import-source">问卷星<', page)
    assert re.search(r'id="new-rows">3<', page) and re.search(r'id="duplicate-rows">0<', page)
    assert "确认导入 3 份答卷" in page and 'id="import-problems"' not in page
    selected = _selected(page)
    assert selected[_column(header, "3、")] == "q_aware"
    split = [i for i, h in enumerate(header) if h.startswith("第6题(")]
    assert [selected[i] for i in split] == [f"q_activities:{code}" for code in
                                            round_.questionnaire_version.parsed.question("q_activities").codes]
    assert "col0" not in page  # 序号

    done = client.post(url, data={"csrf_token": csrf_token(client), **_confirm_form(page)})
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/console/rounds/{round_.id}")
    assert "已导入 3 份答卷（另有 0 份此前已导入）" in client.get(done.headers["Location"]).get_data(as_text=True)
    assert _responses(round_) == 3
    record = db.session.scalars(select(ResponseImport)).one()
    assert (record.source, record.stored, record.filename) == ("wjx", 3, "问卷星.xlsx")
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "responses.import")) == 1
    assert db.session.scalar(select(func.count()).select_from(PendingImport)) == 0
    # The same token again: the upload is gone.
    again = client.post(url, data={"csrf_token": csrf_token(client), **_confirm_form(page)})
    assert again.status_code == 404
    assert client.get(url).status_code == 404
    assert _responses(round_) == 3
    # The same file uploaded again: nothing new, no button.
    page = client.get(_preview_url(_upload(client, round_, _xlsx(header, rows)))).get_data(as_text=True)
    assert re.search(r'id="new-rows">0<', page) and re.search(r'id="duplicate-rows">3<', page)
    assert 'id="import-confirm"' not in page and 'id="nothing-new"' in page


def test_a_column_mapped_by_hand_is_kept_for_the_next_file(app, world):
    round_ = world.district_round
    client = _signed_in(app)
    header, rows = _wjx_file(round_, "text")
    aware = _column(header, "3、")
    header[aware] = "3、请问您之前有没有听说过这件事情"
    data = _gb18030_csv(header, rows)
    url = _preview_url(_upload(client, round_, data, "答卷.csv"))
    page = client.get(url).get_data(as_text=True)
    assert _selected(page)[aware] == ""
    assert re.search(rf'id="column-{aware}"><td>[^<]*<span class="tag bad">未匹配', page)
    aware_text = round_.questionnaire_version.parsed.question("q_aware").text.zh
    assert aware_text in _without_column(page)
    # Chosen by hand, checked again: the column now answers the question.
    query = {name: value for name, value in _confirm_form(page).items()}
    query[f"col{aware}"] = "q_aware"
    page = client.get(url, query_string=query).get_data(as_text=True)
    assert _selected(page)[aware] == "q_aware"
    assert aware_text not in _without_column(page)
    assert _confirm_form(page)[f"col{aware}"] == "q_aware"
    done = client.post(url, data={"csrf_token": csrf_token(client), **_confirm_form(page)})
    assert done.status_code == 302
    saved = {m.header: m.question_id for m in db.session.scalars(select(ImportMapping))}
    assert saved == {header[aware]: "q_aware"}  # only what the user chose, not the automatic matches
    stored = db.session.scalars(select(Response).where(Response.round_id == round_.id)).all()
    assert sorted(r.answer_data.get("q_aware") for r in stored) == ["no", "yes", "yes"]
    # The next file with the same header maps itself.
    rows = [[str(int(r[0]) + 10), *r[1:]] for r in rows]  # new 序号: new rows
    page = client.get(_preview_url(_upload(client, round_, _gb18030_csv(header, rows), "答卷2.csv")))
    page = page.get_data(as_text=True)
    assert _selected(page)[aware] == "q_aware" and "tag bad" not in page
    assert re.search(r'id="new-rows">3<', page)


def test_a_bad_value_is_shown_by_row_and_column_and_nothing_is_stored(app, world):
    round_ = world.district_round
    client = _signed_in(app)
    header, rows = _wjx_file(round_, "text")
    rows[1][_column(header, "3、")] = "很好"
    url = _preview_url(_upload(client, round_, _xlsx(header, rows)))
    page = client.get(url).get_data(as_text=True)
    problems = page[page.index('id="import-problems"'):]
    assert "很好" in problems and "第 3 行" in problems
    assert 'id="import-confirm"' not in page and "确认导入" not in page
    form = {f"col{i}": value for i, value in _selected(page).items()}
    refused = client.post(url, data={"csrf_token": csrf_token(client), **form})
    assert refused.status_code == 422 and "很好" in refused.get_data(as_text=True)
    assert _responses(round_) == 0
    assert db.session.scalar(select(func.count()).select_from(ResponseImport)) == 0
    assert db.session.scalar(select(func.count()).select_from(ImportMapping)) == 0
    assert db.session.scalar(select(func.count()).select_from(PendingImport)) == 1  # still there to fix


def test_rows_without_a_community_take_one_chosen_for_the_whole_file(app, world):
    round_ = world.district_round
    client = _signed_in(app)
    header, rows = _wjx_file(round_, "text")
    last = len(header) - 1
    header, rows = header[:last], [r[:last] for r in rows]  # no community question in the file
    url = _preview_url(_upload(client, round_, _xlsx(header, rows)))
    page = client.get(url).get_data(as_text=True)
    assert "社区所在列" in page and "全部答卷属于" in page and "光明社区" in page
    assert 'id="import-confirm"' not in page
    query = {f"col{i}": value for i, value in _selected(page).items()}
    page = client.get(url, query_string={**query, "unit": "D01-S02-C01"}).get_data(as_text=True)
    assert 'id="import-problems"' not in page and "确认导入 3 份答卷" in page
    form = _confirm_form(page)
    assert form["unit"] == "D01-S02-C01"
    assert client.post(url, data={"csrf_token": csrf_token(client), **form}).status_code == 302
    assert {r.unit.code for r in db.session.scalars(select(Response).where(Response.round_id == round_.id))} == {
        "D01-S02-C01"}


def test_unreadable_and_too_large_files_get_the_form_again(app, world):
    round_ = world.district_round
    client = _signed_in(app)
    for data, name in ((b"PK\x03\x04 not really a workbook", "x.xlsx"), (b"", "empty.csv"),
                       (b"%PDF-1.4", "answers.pdf")):
        reply = _upload(client, round_, data, name)
        assert reply.status_code == 422, name
        assert 'id="problems"' in reply.get_data(as_text=True)
    limit = response_import.MAX_UPLOAD_BYTES
    over = _upload(client, round_, b"a" * (limit + 1), "big.csv")
    assert over.status_code == 422 and "20 MB" in over.get_data(as_text=True)
    # Beyond what the request may carry: refused before it is read, with the same form.
    far_over = _upload(client, round_, b"a" * (limit + 2 * 1024 * 1024), "bigger.csv")
    assert far_over.status_code == 422 and "20 MB" in far_over.get_data(as_text=True)
    assert 'type="file"' in far_over.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(PendingImport)) == 0


def test_only_administrators_and_only_the_uploader(app, world):
    round_ = world.district_round
    header, rows = _wjx_file(round_, "text")
    data = _xlsx(header, rows)
    for who in ("viewer", "staff_a", "staff_b"):
        client = _signed_in(app, who)
        assert client.get(f"/console/rounds/{round_.id}/import").status_code == 403
        assert _upload(client, round_, data).status_code == 403
        assert "导入答卷" not in client.get(f"/console/rounds/{round_.id}").get_data(as_text=True)
    admin = _signed_in(app)
    assert admin.get("/console/rounds/99999/import").status_code == 404
    url = _preview_url(_upload(admin, round_, data))
    page = admin.get(url).get_data(as_text=True)
    form = _confirm_form(page)
    for who in ("viewer", "staff_a"):
        client = _signed_in(app, who)
        assert client.get(url).status_code == 403
        assert client.post(url, data={"csrf_token": csrf_token(client), **form}).status_code == 403
    make_user("admin2", "admin")
    other = _signed_in(app, "admin2")
    assert other.get(url).status_code == 404
    assert other.post(url, data={"csrf_token": csrf_token(other), **form}).status_code == 404
    # The same token under another round is no upload either.
    elsewhere = url.replace(f"/rounds/{round_.id}/", f"/rounds/{world.street_b_round.id}/")
    assert admin.get(elsewhere).status_code == 404
    # No CSRF token: refused before anything is read.
    assert admin.post(url, data=form).status_code == 400
    assert _upload(admin, round_, data, token="").status_code == 400
    assert _responses(round_) == 0
    assert admin.post(url, data={"csrf_token": csrf_token(admin), **form}).status_code == 302
    assert _responses(round_) == 3


def test_uploads_older_than_a_day_go_when_a_new_one_is_made(app, world):
    round_ = world.district_round
    admin = world.users["admin"]
    header, rows = _wjx_file(round_, "text")
    data = _xlsx(header, rows)
    now = utcnow()
    old = response_import.stash_upload(db.session, admin, round_, "old.xlsx", data, now - timedelta(days=2))
    recent = response_import.stash_upload(db.session, admin, round_, "recent.xlsx", data, now - timedelta(hours=2))
    db.session.commit()
    old_token, recent_token = old.token, recent.token
    response_import.stash_upload(db.session, admin, round_, "new.xlsx", data, now)
    db.session.commit()
    assert response_import.pending_upload(db.session, admin, round_, old_token) is None
    assert response_import.pending_upload(db.session, admin, round_, recent_token) is not None
    assert response_import.pending_upload(db.session, world.users["viewer"], round_, recent_token) is None
    assert response_import.pending_upload(db.session, admin, world.street_b_round, recent_token) is None
