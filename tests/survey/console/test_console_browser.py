"""An office user in headless Chromium: signs in, opens a round's results,
downloads the PDF report; screenshots and rendered pages to look at."""

from __future__ import annotations

import subprocess

from playwright.sync_api import expect
from sqlalchemy import select

from survey.extensions import db
from survey.models import User
from survey.usecases.demo import load_demo_population
from tests.factories import demo_round, submit_responses


def test_office_user_downloads_the_round_report(app, live_server, browser, artifacts, tmp_path):  # noqa: F811
    round_ = demo_round()
    load_demo_population(db.session)
    db.session.commit()
    submit_responses(round_, 240, seed=3)
    user = User(username="wang", role="admin")
    user.set_password("correct-horse")
    db.session.add(user)
    db.session.commit()

    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.goto(f"{live_server}/console/login")
    page.fill("#username", "wang")
    page.fill("#password", "correct-horse")
    page.get_by_role("button", name="登录").click()
    page.get_by_role("link", name=round_.name).first.click()
    page.goto(f"{live_server}/console/rounds/{round_.id}/results")
    expect(page.locator("#summary table")).to_be_visible()
    expect(page.locator("#summary")).to_contain_text("知晓率")
    expect(page.locator("#methodology")).to_contain_text("加权")
    page.screenshot(path=str(artifacts / "console-results.png"), full_page=True)

    with page.expect_download() as waiting:
        page.click("#download-pdf")
    download = waiting.value
    pdf = tmp_path / "report.pdf"
    download.save_as(pdf)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert round_.name.replace(" ", "") in text.replace(" ", "")
    assert "知晓率" in text
    subprocess.run(["pdftoppm", "-r", "60", "-png", "-f", "1", "-l", "3", str(pdf), str(artifacts / "console-report")],
                   check=True)
    assert db.session.scalars(select(User)).one().username == "wang"
    context.close()
