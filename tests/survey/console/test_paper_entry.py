"""Paper questionnaires typed in at the office: typed option numbers become
the questionnaire's codes, each sheet is stored once (mode ``paper``, who
typed it, no QR channel), the results count it; staff type in for their own
communities only, viewers not at all. One sheet typed in a browser with the
keyboard alone."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from survey.extensions import db
from survey.models import AuditEvent, Response
from survey.models.types import utcnow
from survey.queries.reporting import round_report
from survey.usecases import paper_entry
from tests.survey.consolekit import PASSWORD, build_world, csrf_token, login, new_client

COMMUNITY_A = "D01-S01-C01"  # in street A (staff_a's)
COMMUNITY_B = "D01-S02-C01"  # staff_b's own community


@pytest.fixture
def world(app):
    return build_world()


def _signed_in(app, who: str):
    client = new_client(app)
    login(client, who)
    return client


def _rows(round_) -> dict[str, paper_entry.PaperRow]:
    return {row.question.id: row for row in paper_entry.typed_rows(round_.questionnaire_version.parsed)}


def _sheet(round_, **changes) -> dict[str, str]:
    """A full sheet as a clerk types it: the eligible option of each screening
    question, the first option elsewhere, options 1 and 3 of multiple choices,
    the lowest number, a few words; ``changes`` by question id."""
    typed = {}
    for qid, row in _rows(round_).items():
        q = row.question
        if q.screening is not None:
            typed[row.name] = str(q.codes.index(sorted(q.screening.eligible)[0]) + 1)
        elif q.kind.multiple:
            typed[row.name] = "1 3"
        elif q.options:
            typed[row.name] = "1"
        elif q.kind.widget == "number":
            typed[row.name] = str(int(q.min or 0))
        else:
            typed[row.name] = "路灯坏了"
        if qid in changes:
            typed[row.name] = changes.pop(qid)
    assert not changes, f"no such questions: {changes}"
    return typed


def _post(client, round_, typed, *, community=COMMUNITY_A, sheet="", key=None, token=True, follow=False):
    data = {"community": community, "sheet": sheet, "entry_key": key or paper_entry.new_entry_key(), **typed}
    if token:
        data["csrf_token"] = csrf_token(client)
    return client.post(f"/console/rounds/{round_.id}/paper", data=data, follow_redirects=follow)


def _paper_responses(round_) -> list[Response]:
    return list(db.session.scalars(select(Response).where(Response.round_id == round_.id, Response.mode == "paper")
                                   .order_by(Response.id)))


def _text(reply) -> str:
    return reply.get_data(as_text=True)


# --- typed numbers -> answers -----------------------------------------------------

def test_typed_numbers_become_the_questionnaires_codes(app, world):
    round_ = world.district_round
    rows = _rows(round_)
    admin = _signed_in(app, "admin")
    typed = _sheet(round_, q_participation="2", q_activities="1 2",  # "no": the follow-up is skipped
                   q_improve="2、6,1", q_sat_overall="６", q_support="3")
    reply = _post(admin, round_, typed, sheet="a-017")
    assert reply.status_code == 302
    [stored] = _paper_responses(round_)
    answers = stored.answer_data
    q = {qid: row.question for qid, row in rows.items()}
    assert answers["q_participation"] == q["q_participation"].options[1].code
    assert "q_activities" not in answers  # typed, but the question did not apply
    assert answers["q_improve"] == [q["q_improve"].options[i].code for i in (0, 1, 5)]  # option order
    assert answers["q_sat_overall"] == "unknown"  # full-width ６: the sixth option, 不了解
    assert answers["q_support"] == q["q_support"].options[2].code
    assert answers["q_gender"] == q["q_gender"].options[0].code
    assert answers["q_community"] == COMMUNITY_A  # the batch's community
    assert answers["q_suggestion"] == "路灯坏了"
    assert stored.submission_key == f"paper:{round_.id}:D01-S01-C01:A-017"
    assert {a.question_id: a.value for a in stored.answers} == answers

    # the follow-up applies when participation is "yes": its numbers count then
    _post(admin, round_, _sheet(round_, q_participation="1", q_activities="2 5"), sheet="A-018")
    assert _paper_responses(round_)[-1].answer_data["q_activities"] == [
        q["q_activities"].options[1].code, q["q_activities"].options[4].code]


def test_the_stored_sheet_is_paper_entered_by_the_clerk_and_counted(app, world):
    round_ = world.district_round
    before, _ = round_report(db.session, round_)
    admin = _signed_in(app, "admin")
    reply = _post(admin, round_, _sheet(round_), sheet="17", follow=True)
    assert reply.status_code == 200
    page = _text(reply)
    assert "问卷编号 17 已保存" in page and "已录入 1 份" in page
    assert f'<option value="{COMMUNITY_A}" selected>' in page  # the batch's community is kept
    assert 'value="17"' not in page  # the fields are cleared for the next sheet
    [stored] = _paper_responses(round_)
    assert stored.mode == "paper" and stored.entered_by_id == world.users["admin"].id
    assert stored.channel_id is None and stored.device_id is None and stored.network_hash is None
    assert stored.unit.code == COMMUNITY_A and stored.status == "complete" and stored.locale == "zh"
    assert stored.started_at == stored.submitted_at
    assert "too_fast" not in stored.quality_flags
    [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "response.paper")).all()
    assert event.target == f"response:{stored.id}" and event.details == {"round": round_.id, "sheet": "17"}
    after, _ = round_report(db.session, round_)
    assert after.methodology.n_rows == before.methodology.n_rows + 1


def test_a_screened_out_sheet_needs_no_further_answers(app, world):
    round_ = world.district_round
    adult = _rows(round_)["q_adult"].question
    ineligible = next(i for i, c in enumerate(adult.codes, start=1) if c not in adult.screening.eligible)
    typed = {"q_q_adult": str(ineligible)}
    reply = _post(_signed_in(app, "admin"), round_, typed)
    assert reply.status_code == 302
    [stored] = _paper_responses(round_)
    assert stored.status == "screened_out" and stored.screened_out_by == "q_adult"


def test_numbers_that_name_no_option_are_refused_naming_the_question(app, world):
    round_ = world.district_round
    rows = _rows(round_)
    admin = _signed_in(app, "admin")
    reply = _post(admin, round_, _sheet(round_, q_aware="7", q_support="1 2", q_sat_order="x", q_sat_traffic=""),
                  sheet="20")
    assert reply.status_code == 422
    page = _text(reply)
    aware, support = rows["q_aware"], rows["q_support"]
    assert f"第 {aware.number} 题：没有选项 7" in page
    assert f"第 {support.number} 题：只能填一个编号" in page
    assert f"第 {rows['q_sat_order'].number} 题：请填选项编号" in page
    assert f"第 {rows['q_sat_traffic'].number} 题：请回答此题" in page
    assert f'href="#p-{aware.name}"' in page  # the summary links to the field
    assert 'value="7"' in page and 'value="20"' in page  # what was typed is kept
    assert 'aria-invalid="true"' in page
    assert _paper_responses(round_) == []
    # no community chosen, a sheet number that is no number
    reply = _post(admin, round_, _sheet(round_), community="", sheet="17/3")
    assert reply.status_code == 422
    assert "请选择这批问卷所属的社区" in _text(reply) and "问卷编号为 1–20 位" in _text(reply)
    assert _paper_responses(round_) == []


def test_option_numbers_unit():
    from questions import load_standard

    questionnaire = load_standard()
    improve = questionnaire.question("q_improve")
    assert paper_entry.option_codes(improve, " 3，1 3;8 ") == [improve.codes[2], improve.codes[0], improve.codes[2],
                                                                improve.codes[7]]
    assert paper_entry.option_codes(improve, "") == []
    for bad in ("0", "9", "1a", "1.5", "9999999"):
        with pytest.raises(ValueError):
            paper_entry.option_codes(improve, bad)
    assert paper_entry.clean_sheet(" ａb-１2 ") == "AB-12"
    assert paper_entry.clean_sheet("  ") is None
    for bad in ("x" * 21, "12 3", "问卷1", "1/2"):
        with pytest.raises(ValueError):
            paper_entry.clean_sheet(bad)
    numbers = [row.number for row in paper_entry.numbered_questions(questionnaire)]
    assert numbers == list(range(1, len(questionnaire.questions) + 1))
    assert paper_entry.community_row(questionnaire).question.id == "q_community"
    assert "q_community" not in {row.question.id for row in paper_entry.typed_rows(questionnaire)}


# --- each sheet once ----------------------------------------------------------------

def test_the_same_sheet_number_is_stored_once(app, world):
    round_ = world.district_round
    admin = _signed_in(app, "admin")
    assert _post(admin, round_, _sheet(round_), sheet="0042").status_code == 302
    again = _post(admin, round_, _sheet(round_), sheet="0042", follow=True)  # typed twice, the same answers
    assert again.status_code == 200 and "问卷编号 0042 已录入，未重复保存" in _text(again)
    other = _post(admin, round_, _sheet(round_, q_aware="2"), sheet="0042")  # another sheet, the number mistyped
    assert other.status_code == 409
    page = _text(other)
    assert "问卷编号 0042 已录入，未重复保存" in page and "请核对问卷编号" in page
    assert len(_paper_responses(round_)) == 1
    # the same number in another round is another sheet
    assert _post(admin, world.street_b_round, _sheet(world.street_b_round), community=COMMUNITY_B,
                 sheet="0042").status_code == 302
    assert len(_paper_responses(world.street_b_round)) == 1


def test_a_double_submit_without_sheet_number_is_stored_once(app, world):
    round_ = world.district_round
    admin = _signed_in(app, "admin")
    key = paper_entry.new_entry_key()
    assert _post(admin, round_, _sheet(round_), key=key).status_code == 302
    again = _post(admin, round_, _sheet(round_), key=key, follow=True)
    assert again.status_code == 200 and "这份问卷已录入，未重复保存" in _text(again)
    assert _post(admin, round_, _sheet(round_)).status_code == 302  # a new form: a new sheet
    assert len(_paper_responses(round_)) == 2
    # a form without its key (tampered) is refused, and gets a fresh one
    reply = _post(admin, round_, _sheet(round_), key="short")
    assert reply.status_code == 422 and "表单已过期" in _text(reply)
    assert 'value="short"' not in _text(reply)
    assert len(_paper_responses(round_)) == 2


def test_each_fresh_page_carries_a_new_key_and_the_count(app, world):
    round_ = world.district_round
    admin = _signed_in(app, "admin")
    keys = [re.search(r'id="entry-key" name="entry_key" type="hidden" value="([^"]+)"|'
                      r'name="entry_key" type="hidden" value="([^"]+)"',
                      _text(admin.get(f"/console/rounds/{round_.id}/paper"))) for _ in range(2)]
    values = [m.group(1) or m.group(2) for m in keys]
    assert values[0] != values[1] and all(paper_entry.ENTRY_KEY_PATTERN.fullmatch(v) for v in values)
    page = _text(admin.get(f"/console/rounds/{round_.id}/paper?community={COMMUNITY_A}"))
    assert "已录入 0 份" in page and f'<option value="{COMMUNITY_A}" selected>' in page
    assert "/static/paper.js" in page and "<script>" not in page and "style=" not in page


# --- who may type in --------------------------------------------------------------------

def test_staff_type_in_for_their_own_communities_only(app, world):
    round_ = world.district_round
    staff_a = _signed_in(app, "staff_a")
    page = _text(staff_a.get(f"/console/rounds/{round_.id}/paper"))
    assert COMMUNITY_A in page and COMMUNITY_B not in page and "新华街道" not in page
    assert _post(staff_a, round_, _sheet(round_), community=COMMUNITY_B, sheet="1").status_code == 404
    assert _paper_responses(round_) == []
    assert _post(staff_a, round_, _sheet(round_), community=COMMUNITY_A, sheet="1").status_code == 302
    [stored] = _paper_responses(round_)
    assert stored.entered_by_id == world.users["staff_a"].id
    # staff_b: their one community, chosen already; street B's round is theirs too
    staff_b = _signed_in(app, "staff_b")
    page = _text(staff_b.get(f"/console/rounds/{world.street_b_round.id}/paper"))
    assert f'<option value="{COMMUNITY_B}" selected>' in page
    assert _post(staff_b, round_, _sheet(round_), community=COMMUNITY_A, sheet="2").status_code == 404
    assert staff_a.get(f"/console/rounds/{world.street_b_round.id}/paper").status_code == 404
    # the round page links to it for those who may
    assert 'id="paper-link"' in _text(staff_a.get(f"/console/rounds/{round_.id}"))


def test_viewers_may_not_type_in(app, world):
    round_ = world.district_round
    viewer = _signed_in(app, "viewer")
    assert viewer.get(f"/console/rounds/{round_.id}/paper").status_code == 403
    assert _post(viewer, round_, _sheet(round_), sheet="1").status_code == 403
    assert 'id="paper-link"' not in _text(viewer.get(f"/console/rounds/{round_.id}"))
    assert _paper_responses(round_) == []


def test_a_post_without_csrf_token_is_refused(app, world):
    round_ = world.district_round
    admin = _signed_in(app, "admin")
    assert _post(admin, round_, _sheet(round_), sheet="9", token=False).status_code == 400
    assert _paper_responses(round_) == []


# --- when -------------------------------------------------------------------------------

def test_not_before_the_round_opens_but_after_it_closes(app, world):
    round_ = world.district_round
    admin = _signed_in(app, "admin")
    now = utcnow()
    round_.opens_at, round_.closes_at = now + timedelta(days=1), now + timedelta(days=8)
    db.session.commit()
    page = admin.get(f"/console/rounds/{round_.id}/paper")
    assert page.status_code == 200 and "尚未开始" in _text(page) and 'id="paper-form"' not in _text(page)
    reply = _post(admin, round_, _sheet(round_), sheet="1")
    assert reply.status_code == 422 and "尚未开始" in _text(reply)
    assert _paper_responses(round_) == []

    round_.opens_at, round_.closes_at = now - timedelta(days=8), now - timedelta(days=1)
    db.session.commit()
    page = _text(admin.get(f"/console/rounds/{round_.id}/paper"))
    assert 'id="closed-note"' in page and "仍可补录" in page
    assert _post(admin, round_, _sheet(round_), sheet="1").status_code == 302
    assert len(_paper_responses(round_)) == 1


def test_entered_count_is_the_clerks_own(app, world):
    round_ = world.district_round
    admin, staff_a = _signed_in(app, "admin"), _signed_in(app, "staff_a")
    for sheet in ("1", "2"):
        _post(admin, round_, _sheet(round_), sheet=sheet)
    _post(staff_a, round_, _sheet(round_), sheet="3")
    assert paper_entry.entered_count(db.session, round_, world.users["admin"]) == 2
    assert "已录入 1 份" in _text(staff_a.get(f"/console/rounds/{round_.id}/paper"))
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "response.paper")) == 3


# --- in a browser: the keyboard alone ------------------------------------------------

def test_a_clerk_types_sheets_with_the_keyboard_alone(app, live_server, browser, artifacts):
    from playwright.sync_api import expect

    world = build_world()
    round_ = world.district_round
    rows = paper_entry.typed_rows(round_.questionnaire_version.parsed)
    first_sheet = _sheet(round_, q_participation="2", q_improve="2 5")  # "no": the follow-up is skipped
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{live_server}/console/login")
    page.focus("#username")
    page.keyboard.type("staff_a")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server}/console/")
    page.goto(f"{live_server}/console/rounds/{round_.id}/paper")

    # the community first (staff_a's street has three): the first one, by arrow key
    expect(page.locator("#p-community")).to_be_focused()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(page.locator("#p-sheet")).to_be_focused()
    page.keyboard.type("B-1")
    page.keyboard.press("Enter")
    for row in rows:
        if row.question.id == "q_activities":
            expect(page.locator(f"#p-{row.name}")).to_be_disabled()  # skipped: Enter went past it
            continue
        expect(page.locator(f"#p-{row.name}")).to_be_focused()
        page.keyboard.type(first_sheet[row.name])
        if row is rows[-1]:
            page.screenshot(path=str(artifacts / "console-paper-entry.png"), full_page=True)
        page.keyboard.press("Enter")  # on the last one: saves the sheet
    expect(page.locator("#entered")).to_contain_text("已录入 1 份")
    expect(page.locator("body")).to_contain_text("问卷编号 B-1 已保存")
    expect(page.locator("#p-sheet")).to_be_focused()  # the next sheet: its number first
    expect(page.locator("#p-sheet")).to_have_value("")
    expect(page.locator("#p-community")).to_have_value(COMMUNITY_A)  # the batch's community kept

    # a second sheet with a number that names no option: the page comes back at that field
    page.keyboard.type("B-2")
    page.keyboard.press("Enter")
    aware = next(row for row in rows if row.question.id == "q_aware")
    for row in rows:
        if row.question.id == "q_activities" or page.locator(f"#p-{row.name}").is_disabled():
            continue
        page.keyboard.type("9" if row is aware else first_sheet[row.name])
        page.keyboard.press("Enter")
    expect(page.locator("#error-summary")).to_contain_text(f"第 {aware.number} 题：没有选项 9")
    expect(page.locator(f"#p-{aware.name}")).to_be_focused()
    page.keyboard.press("Control+A")
    page.keyboard.type("1")
    for row in rows[rows.index(aware):]:
        if row.question.id != "q_activities":
            page.keyboard.press("Enter")  # the rest is kept: Enter through to the end, which saves
    expect(page.locator("#entered")).to_contain_text("已录入 2 份")
    context.close()

    db.session.expire_all()
    stored = _paper_responses(round_)
    assert [r.submission_key for r in stored] == [f"paper:{round_.id}:{COMMUNITY_A}:B-1", f"paper:{round_.id}:{COMMUNITY_A}:B-2"]
    assert all(r.entered_by_id == world.users["staff_a"].id and r.channel_id is None for r in stored)
    assert "q_activities" not in stored[0].answer_data
    improve = round_.questionnaire_version.parsed.question("q_improve")
    assert stored[0].answer_data["q_improve"] == [improve.codes[1], improve.codes[4]]
    assert stored[1].answer_data["q_aware"] == stored[0].answer_data["q_aware"]


def test_a_control_character_typed_into_a_text_answer_is_dropped_not_refused(app, world):
    admin = new_client(app)
    login(admin, "admin")
    round_ = world.district_round
    reply = _post(admin, round_, _sheet(round_, q_suggestion="多组织\x00活动"), sheet="C-1")
    assert reply.status_code == 302
    [stored] = _paper_responses(round_)
    assert stored.answer_data["q_suggestion"] == "多组织活动"
