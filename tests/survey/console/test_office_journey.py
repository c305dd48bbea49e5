"""The office's whole journey in headless Chromium, on an EMPTY install:
first administrator, units and population from spreadsheets, the standard
questionnaire, a drill round with its QR posters, a resident answering on a
phone, and the rate report (on screen, PDF and Excel). Everything the office
does goes through the console at phone width; screenshots go to
tests/artifacts/ for a person to look at."""

from __future__ import annotations

import csv
import io
import re
import subprocess
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from openpyxl import load_workbook
from playwright.sync_api import expect
from pypdf import PdfReader
from sqlalchemy import func, select

from questions import STANDARD_QUESTIONNAIRE_PATH, load_questionnaire
from survey.extensions import db
from survey.models import Channel, Response, Round
from survey.usecases.demo import simulate_responses
from survey.usecases.users import issue_setup_code
from tests.factories import complete_answers
from tests.survey.browserkit import PHONE, answer_everything

OFFICE_PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2}
ROUND_NAME = "清河区第一次模拟测评"
DISTRICT = ("Q01", "清河区")
STREETS = {
    ("Q01-S01", "东湖街道"): [("Q01-S01-C01", "桃源社区"), ("Q01-S01-C02", "柳岸社区"), ("Q01-S01-C03", "枫林社区")],
    ("Q01-S02", "西山街道"): [("Q01-S02-C01", "松涛社区"), ("Q01-S02-C02", "竹园社区")],
}
COMMUNITIES = [c for members in STREETS.values() for c in members]
# As the office writes them: Chinese gender and age-group labels.
AGE_GROUPS = {"18-29": 800, "30-44": 1000, "45-59": 900, "60岁及以上": 700}


def _units_csv(path):
    """UTF-8 with BOM, as Excel saves "CSV UTF-8"; columns code, name, parent."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["code", "name", "parent"])
    writer.writerow([*DISTRICT, ""])
    for (street_code, street_name), members in STREETS.items():
        writer.writerow([street_code, street_name, DISTRICT[0]])
        for code, name in members:
            writer.writerow([code, name, street_code])
    path.write_text(out.getvalue(), encoding="utf-8-sig")
    return path


def _population_csv(path) -> dict[str, int]:
    """GB18030, as Chinese Excel saves plain CSV; unit code x gender x age group x population."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["单位编码", "性别", "年龄组", "人口"])
    totals = {}
    for index, (code, _name) in enumerate(COMMUNITIES):
        totals[code] = 0
        for gender in ("男", "女"):
            for age, base in AGE_GROUPS.items():
                count = base + 50 * index + (30 if gender == "女" else 0)
                writer.writerow([code, gender, age, count])
                totals[code] += count
    path.write_bytes(out.getvalue().encode("gb18030"))
    return totals


def _beijing(moment: datetime) -> str:
    return moment.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%dT%H:%M")


def test_office_goes_from_an_empty_install_to_a_printed_report(
    app, live_server, browser, artifacts, tmp_path, backend  # noqa: F811
):
    def shot(page, name):
        page.screenshot(path=str(artifacts / f"journey-{backend}-{name}.png"), full_page=True)

    questionnaire = load_questionnaire(STANDARD_QUESTIONNAIRE_PATH)
    office = browser.new_context(**OFFICE_PHONE, accept_downloads=True)
    page = office.new_page()
    nav = page.get_by_role("navigation")

    # 1. The empty install asks for its first administrator, with the code init-db printed.
    setup_code = issue_setup_code(db.session)
    db.session.commit()
    page.goto(f"{live_server}/console/login")
    expect(page).to_have_url(re.compile(r"/console/welcome$"))
    expect(page.get_by_role("heading", name="欢迎使用民意")).to_be_visible()
    shot(page, "1-welcome")
    page.fill("#setup_code", setup_code)
    page.fill("#username", "office")
    page.fill("#password", "a-long-password")
    page.fill("#confirm", "a-long-password")
    page.get_by_role("button", name="创建管理员账户").click()
    expect(page).to_have_url(re.compile(r"/console/units$"))
    expect(page.get_by_role("alert")).to_contain_text("请先导入本区的街道和社区")
    expect(page.locator("header.bar")).to_contain_text("office · 管理员")

    # 2. Units, then population, from spreadsheets.
    page.locator("#units-file").set_input_files(_units_csv(tmp_path / "单位.csv"))
    page.locator("#upload-units").get_by_role("button", name="导入").click()
    expect(page.get_by_role("alert")).to_have_text("单位导入完成：新建8个，更新0个。")
    totals = _population_csv(tmp_path / "人口.csv")
    page.locator("#population-file").set_input_files(tmp_path / "人口.csv")
    page.locator("#upload-population").get_by_role("button", name="导入").click()
    expect(page.get_by_role("alert")).to_have_text("人口数据导入完成：5个单位共40条。")
    expect(page.locator("#problems")).to_have_count(0)
    for code, name in [DISTRICT, *STREETS, *COMMUNITIES]:
        unit = page.locator(f"ul.tree li:has(> span.muted:text-is('{code}'))")
        expect(unit.locator(":scope > strong")).to_have_text(name)
        if code in totals:
            expect(unit.locator(":scope > .tag")).to_have_text(f"人口{totals[code]}")
    district = page.locator(f"ul.tree li:has(> span.muted:text-is('{DISTRICT[0]}'))")
    expect(district.locator("li")).to_have_count(len(STREETS) + len(COMMUNITIES))
    shot(page, "2-units")

    # 3. The standard questionnaire: upload, then preview.
    nav.get_by_role("link", name="问卷").click()
    page.locator("#file").set_input_files(STANDARD_QUESTIONNAIRE_PATH)
    page.locator("#upload-questionnaire").get_by_role("button", name="上传").click()
    expect(page.get_by_role("alert")).to_have_text("已保存civilization_standard的第1版。")
    row = page.get_by_role("row", name=re.compile("civilization_standard"))
    expect(row).to_contain_text(questionnaire.title.zh)
    expect(row).to_contain_text("草稿")
    row.get_by_role("link", name="预览").click()
    expect(page.locator("#preview-notice")).to_contain_text("第1版预览")
    expect(page.get_by_role("heading", level=1)).to_have_text(questionnaire.title.zh)
    aware = next(q for q in questionnaire.questions if q.indicator == "awareness")
    expect(page.get_by_text(aware.text.zh)).to_be_visible()
    page.get_by_role("link", name="返回问卷列表").click()

    # 4. A drill over the district, open since an hour ago for two weeks (Beijing time).
    nav.get_by_role("link", name="测评轮次").click()
    page.get_by_role("link", name="新建测评轮次").click()
    page.get_by_label("名称", exact=True).fill(ROUND_NAME)
    page.get_by_label("模拟测评").check()
    page.get_by_label("问卷版本").select_option(label=f"{questionnaire.title.zh} · v1")
    page.get_by_label("测评范围").select_option(label=DISTRICT[1])
    now = datetime.now(ZoneInfo("UTC"))
    page.get_by_label("开始时间（北京时间）").fill(_beijing(now - timedelta(hours=1)))
    page.get_by_label("结束时间（北京时间）").fill(_beijing(now + timedelta(days=14)))
    page.get_by_role("button", name="创建测评轮次").click()
    expect(page).to_have_url(re.compile(r"/console/rounds/\d+/setup$"))
    expect(page.get_by_role("alert")).to_contain_text(f"共{len(COMMUNITIES)}个二维码渠道")
    expect(page.locator("#close-now")).to_be_visible()  # open now
    for _code, name in COMMUNITIES:
        expect(page.locator("#quotas")).to_contain_text(name)
    shot(page, "3-round-setup")

    page.get_by_role("link", name="二维码渠道").click()
    channels = page.locator("section.channel")
    expect(channels).to_have_count(len(COMMUNITIES))
    with page.expect_download() as waiting:
        page.get_by_role("link", name="下载全部海报（PDF）").click()
    posters = tmp_path / "posters.pdf"
    waiting.value.save_as(posters)
    assert posters.read_bytes().startswith(b"%PDF")
    assert len(PdfReader(posters).pages) == len(COMMUNITIES)

    # 5. A resident scans the first poster's code and answers on a phone.
    first = channels.first
    link = first.get_by_role("link", name=re.compile(r"^http:\/\/127\.0\.0\.1:\d+\/s\/[\w-]+$"))
    url = link.get_attribute("href")
    assert url == link.inner_text()
    community = next((code, name) for code, name in COMMUNITIES if name in first.locator("strong").inner_text())
    resident = browser.new_context(**PHONE)
    phone = resident.new_page()
    phone.goto(url)
    expect(phone.get_by_role("heading", level=1)).to_have_text(questionnaire.title.zh)
    expect(phone.locator("header.bar")).to_contain_text(f"{ROUND_NAME} · {community[1]}")
    answer_everything(phone, questionnaire, complete_answers(questionnaire, community[0]))
    phone.get_by_role("button", name="提交").tap()
    expect(phone.locator("#thanks-message")).to_be_visible()
    resident.close()
    round_ = db.session.scalars(select(Round)).one()
    stored = db.session.scalars(select(Response)).one()
    assert (stored.status, stored.channel.unit.code) == ("complete", community[0])
    assert {c.unit.code for c in db.session.scalars(select(Channel))} == {code for code, _ in COMMUNITIES}

    simulate_responses(db.session, round_, 200, seed=5)
    db.session.commit()
    assert db.session.scalar(select(func.count(Response.id))) == 201

    # 6. The results, reached from the rounds list, on screen and downloaded.
    nav.get_by_role("link", name="测评轮次").click()
    page.get_by_role("link", name="测评结果与报告").click()
    expect(page).to_have_url(re.compile(rf"/console/rounds/{round_.id}/results$"))
    expect(page.get_by_role("heading", level=2)).to_contain_text(f"{ROUND_NAME} · 测评结果")
    expect(page.locator("main")).to_contain_text("共201份答卷")
    awareness = page.locator('#summary tr[data-indicator="awareness"]')
    expect(awareness).to_contain_text("知晓率")
    expect(awareness.locator("td.num").first).to_have_text(re.compile(r"^\d{1,3}\.\d%$"))
    expect(page.locator("#methodology")).to_contain_text("按街道×性别×年龄组的人口数加权")
    expect(page.locator("#methodology")).not_to_contain_text("未加权")
    expect(page.locator("#methodology")).to_contain_text("甄别未通过")  # reasons in words, not codes
    expect(page.locator("#methodology")).to_contain_text("Korn–Graubard")
    shot(page, "4-results")

    with page.expect_download() as waiting:
        page.locator("#download-pdf").click()
    report = tmp_path / "report.pdf"
    waiting.value.save_as(report)
    text = subprocess.run(["pdftotext", "-layout", str(report), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert ROUND_NAME in text.replace(" ", "")
    assert "知晓率" in text
    assert "事后分层加权" in "".join(text.split())

    with page.expect_download() as waiting:
        page.get_by_role("link", name="下载Excel工作簿").click()
    workbook_path = tmp_path / "results.xlsx"
    waiting.value.save_as(workbook_path)
    workbook = load_workbook(workbook_path, read_only=True)
    assert {"汇总", "原始数据"} <= set(workbook.sheetnames)
    sheet = workbook["原始数据"]
    header = next(sheet.iter_rows(max_row=1, values_only=True))
    raw = [r for r in sheet.iter_rows(min_row=2, values_only=True) if any(v is not None for v in r)]
    assert len(raw) == 201
    assert raw[0][header.index("unit_code")] == community[0]  # the resident's answers, first
    workbook.close()
    office.close()
