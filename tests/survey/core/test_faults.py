"""Faults: the database unreachable, PostgreSQL restarted, a worker killed.

Residents get an honest 503 with Retry-After (never a 500 that claims their
answers were kept), and every answer set that a phone keeps sending with its
ticket is stored exactly once: every thank-you page is one stored response.

The PostgreSQL restart runs on a private server started for the test (initdb
in a temporary folder, its own port), so restarting it disturbs no other
test or program using the machine's server; a cuttable TCP proxy between
the app and the machine's server stands for the network or server going away.
"""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import time
import uuid

import pytest
from sqlalchemy import func, select

from survey import create_app
from survey.extensions import db
from survey.migrate import upgrade_database
from survey.models import Answer, Response
from survey.usecases.demo import load_demo
from tests.conftest import BACKENDS, app_config
from tests.factories import complete_answers, demo_round
from tests.survey import faultkit
from tests.survey.formpage import parse_form

pytestmark = pytest.mark.committed  # servers, pools and locks of their own

KEPT = {"X-Minyi-Answers-Kept": "1"}
NOT_KEPT_CLAIM = "已保存在本机"


def _text(reply) -> str:
    return reply.get_data(as_text=True)


def _stored_rows() -> list[tuple[str, int, int]]:
    """(submission key, answer rows, answers in the response's answer set) per stored response."""
    db.session.expire_all()
    answer_rows = dict(db.session.execute(select(Answer.response_id, func.count()).group_by(Answer.response_id)).all())
    return [(r.submission_key, answer_rows.get(r.id, 0), len(r.answer_data)) for r in db.session.scalars(select(Response))]


def _answer_rows() -> int:
    return db.session.scalar(select(func.count()).select_from(Answer))


def _assert_honest_503(reply, *, kept_claim: bool | None = None) -> int:
    """A 503 with a whole number of seconds in Retry-After, no stack trace."""
    assert reply.status_code == 503, reply.status_code
    seconds = reply.headers.get("Retry-After", "")
    assert seconds.isdigit() and 1 <= int(seconds) <= 120, seconds
    body = reply.get_data(as_text=True) if hasattr(reply, "get_data") else reply.text
    for leak in ("Traceback", "OperationalError", "psycopg", "sqlite3", "sqlalchemy"):
        assert leak not in body, leak
    if kept_claim is not None:
        assert (NOT_KEPT_CLAIM in body) is kept_claim, body
    return int(seconds)


# --------------------------------------------------------------------------
# Unit level: an app whose database cannot be reached at all


DEAD_DATABASES = {
    "postgresql": lambda tmp_path: f"postgresql://postgres@127.0.0.1:{faultkit.free_port()}/nowhere",
    "sqlite": lambda tmp_path: f"sqlite:///{tmp_path / 'missing-folder' / 'minyi.sqlite3'}",
}


@pytest.mark.parametrize("backend", sorted(DEAD_DATABASES))
def test_unreachable_database_answers_503_with_retry_after_everywhere(backend, tmp_path):
    dead = create_app(app_config(DEAD_DATABASES[backend](tmp_path), tmp_path, WTF_CSRF_ENABLED=False))
    client = dead.test_client()

    # First opening of the form: nothing was kept, and nothing says so.
    reply = client.get("/s/abcdefgh")
    seconds = _assert_honest_503(reply, kept_claim=False)
    html = _text(reply)
    assert "问卷暂时无法打开" in html and "稍后再试" in html
    assert f"{seconds} 秒后自动重试" in html
    assert reply.headers["Refresh"] == str(seconds)  # the browser reloads by itself, no script needed
    assert reply.headers["Cache-Control"] == "no-store"

    # Answers posted by the form script, which kept them on the phone first.
    reply = client.post("/s/abcdefgh", data={"ticket": "x", "q_a": "1"}, headers=KEPT)
    _assert_honest_503(reply, kept_claim=True)
    assert "自动提交" in _text(reply)
    assert "Refresh" not in reply.headers  # a POST is never repeated by reloading

    # The same answers posted without the script: the phone did not keep them.
    reply = client.post("/s/abcdefgh", data={"ticket": "x", "q_a": "1"})
    _assert_honest_503(reply, kept_claim=False)
    assert "尚未提交" in _text(reply) and "再次点击“提交”" in _text(reply)
    assert "不会被重复计算" in _text(reply)

    # The office's console and the API: 503 too, never 500.
    reply = client.get("/console/login")
    _assert_honest_503(reply)
    assert "暂时无法连接数据库" in _text(reply)
    reply = client.get("/api/v1/rounds/1/results", headers={"Authorization": "Bearer nothing"})
    _assert_honest_503(reply)
    assert reply.is_json and "unavailable" in reply.get_json()["error"]

    # A signed-in office worker (a session naming an account) gets the same
    # 503: the page must not try to load the account from the dead database.
    signed_in = dead.test_client()
    with signed_in.session_transaction() as session:
        session["_user_id"] = "1"
        session["_session_version"] = 0
    for url in ("/console/", "/console/rounds/1/results", "/s/abcdefgh"):
        _assert_honest_503(signed_in.get(url))

    # English on request.
    reply = client.get("/s/abcdefgh?lang=en")
    _assert_honest_503(reply)
    assert "The survey is briefly unavailable" in _text(reply)


def test_internal_error_page_claims_nothing_was_kept(app, client, monkeypatch):
    round_ = demo_round()
    channel = round_.channels[0]
    form = parse_form(_text(client.get(f"/s/{channel.token}")))

    def broken(*args, **kwargs):
        raise RuntimeError("bug")

    monkeypatch.setattr("survey.usecases.submission.evaluate_answers", broken)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    answers = form.fields(complete_answers(round_.questionnaire_version.parsed, channel.unit.code))
    for headers in ({}, KEPT):
        reply = client.post(f"/s/{channel.token}", data=answers, headers=headers)
        assert reply.status_code == 500
        assert NOT_KEPT_CLAIM not in _text(reply) and "可能没有提交成功" in _text(reply)


def test_no_free_database_connection_answers_503(app, tmp_path):
    """Every pooled connection busy past the pool's timeout: 503, then
    served again once one is free."""
    round_ = demo_round()
    channel = round_.channels[0]
    tight = create_app(app_config(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path, SQLALCHEMY_ENGINE_OPTIONS={
        "pool_size": 1, "max_overflow": 0, "pool_timeout": 0.2, "pool_pre_ping": True}))
    client = tight.test_client()
    with tight.app_context():
        held = db.engine.connect()
        try:
            reply = client.get(f"/s/{channel.token}")
            _assert_honest_503(reply, kept_claim=False)
            assert "问卷暂时无法打开" in _text(reply)
        finally:
            held.close()
        assert client.get(f"/s/{channel.token}").status_code == 200
        db.session.remove()  # the requests shared this app context's session
        db.engine.dispose()


# --------------------------------------------------------------------------
# The connection to PostgreSQL cut and restored (Flask test client)


@pytest.fixture
def proxy(app, backend):
    if backend != "postgresql":
        pytest.skip("a TCP connection to cut exists on PostgreSQL only")
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    host, port = re.search(r"@([^:/@]+):(\d+)/", url).groups()
    proxy = faultkit.CuttableProxy(host, int(port))
    yield proxy
    proxy.close()


def test_cut_connection_then_the_same_ticket_stores_once(app, proxy, tmp_path):
    round_ = demo_round()
    channel = round_.channels[0]
    answers = complete_answers(round_.questionnaire_version.parsed, channel.unit.code)
    proxied = create_app(app_config(proxy.url(app.config["SQLALCHEMY_DATABASE_URI"]), tmp_path))
    cut_after_the_view = []

    @proxied.after_request
    def _cut(response):
        if cut_after_the_view:
            proxy.cut()
        return response

    client = proxied.test_client()
    try:
        form = parse_form(_text(client.get(f"/s/{channel.token}")))
        data = form.fields(answers)

        proxy.cut()
        reply = client.get(f"/s/{channel.token}")
        _assert_honest_503(reply, kept_claim=False)
        assert "问卷暂时无法打开" in _text(reply)
        for _ in range(3):
            reply = client.post(f"/s/{channel.token}", data=data, headers=KEPT)
            _assert_honest_503(reply, kept_claim=True)
        reply = client.post(f"/s/{channel.token}", data=data)
        _assert_honest_503(reply, kept_claim=False)
        assert _stored_rows() == []
        assert proxy.refused > 0  # the app really tried, and the cut connection refused it

        proxy.restore()
        first = client.post(f"/s/{channel.token}", data=data, headers=KEPT)
        assert first.status_code == 303, _text(first)[:300]
        again = client.post(f"/s/{channel.token}", data=data, headers=KEPT)
        assert again.status_code == 303 and again.headers["Location"] == first.headers["Location"]
        key = faultkit.submission_key(app.config["SECRET_KEY"], form.ticket)
        assert first.headers["Location"].endswith(f"/done/{key}")
        assert [row[0] for row in _stored_rows()] == [key]
        assert client.get(first.headers["Location"]).status_code == 200

        # The connection dies after the thank-you page was made, before the
        # request's transaction is ended: the page still reaches the phone.
        cut_after_the_view.append(True)
        reply = client.get(first.headers["Location"])
        assert reply.status_code == 200 and "thanks-message" in _text(reply)
    finally:
        with proxied.app_context():
            db.engine.dispose()


def test_locked_sqlite_answers_503_then_stores_once(app, backend, client, monkeypatch):
    if backend != "sqlite":
        pytest.skip("SQLite's write lock")
    round_ = demo_round()
    channel = round_.channels[0]
    answers = complete_answers(round_.questionnaire_version.parsed, channel.unit.code)
    form = parse_form(_text(client.get(f"/s/{channel.token}")))
    data = form.fields(answers)

    # Another writer holds the lock longer than the busy timeout (a short
    # one here, for new connections: the test's requests share its session).
    monkeypatch.setattr("survey.database._busy_timeout_ms", 200)
    db.session.remove()
    db.engine.dispose()
    path = app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        # Reading goes on under the write lock (WAL): the form still opens.
        assert client.get(f"/s/{channel.token}").status_code == 200
        started = time.perf_counter()
        reply = client.post(f"/s/{channel.token}", data=data, headers=KEPT)
        _assert_honest_503(reply, kept_claim=True)
        assert 0.2 <= time.perf_counter() - started < 10  # it waited the busy timeout first
        reply = client.post(f"/s/{channel.token}", data=data)
        _assert_honest_503(reply, kept_claim=False)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert _stored_rows() == []

    reply = client.post(f"/s/{channel.token}", data=data, headers=KEPT)
    assert reply.status_code == 303
    assert client.post(f"/s/{channel.token}", data=data).headers["Location"] == reply.headers["Location"]
    assert len(_stored_rows()) == 1
    monkeypatch.undo()
    db.session.remove()
    db.engine.dispose()


# --------------------------------------------------------------------------
# Streams of submissions against gunicorn while something breaks


def _phones(round_, count: int) -> list[faultkit.Phone]:
    questionnaire = round_.questionnaire_version.parsed
    channels = [(c.token, c.unit.code) for c in round_.channels]
    phones = []
    for i in range(count):
        token, unit_code = channels[i % len(channels)]
        phones.append(faultkit.Phone(token, complete_answers(questionnaire, unit_code, choice_index=i % 3)))
    return phones


def _check(report: dict) -> None:
    assert report["problems"] == [], report
    assert report["thanked"] == report["phones"] == report["stored"] == report["distinct_keys"], report
    assert not any(name.endswith(" 500") for name in report["outcomes"]), report["outcomes"]


def test_cut_connection_during_a_stream_under_gunicorn(app, proxy, tmp_path):
    round_ = demo_round()
    phones = _phones(round_, 60)
    secret = app.config["SECRET_KEY"]
    url = proxy.url(app.config["SQLALCHEMY_DATABASE_URI"])
    with faultkit.gunicorn(url, secret, instance_path=str(tmp_path)) as server:
        faultkit.open_forms(phones, server.base)

        def cut_for_a_while(thanked):
            assert faultkit.wait_until(lambda: thanked() >= 15, timeout=60)
            at = thanked()
            proxy.cut()
            # While cut, a resident opening the form is told the truth.
            reply = phones[0].session.get(f"{server.base}/s/{phones[0].token}", timeout=30)
            time.sleep(2.0)
            proxy.restore()
            return at, reply

        result = faultkit.stream(phones, server.base, threads=10, timeout=120, chaos=cut_for_a_while)
    cut_at, reply_while_cut = result.chaos
    assert cut_at < len(phones)
    _assert_honest_503(reply_while_cut, kept_claim=False)
    assert "问卷暂时无法打开" in reply_while_cut.text
    report = faultkit.exactly_once_report(phones, secret, _stored_rows(), _answer_rows())
    _check(report)
    assert report["outcomes"].get("POST 503", 0) > 0, report["outcomes"]


@pytest.mark.skipif("postgresql" not in BACKENDS, reason="PostgreSQL tests not selected")
def test_postgresql_restart_during_a_stream(tmp_path):
    if faultkit.postgresql_bindir() is None:
        pytest.skip("PostgreSQL server programs not installed")
    server_db = faultkit.PrivatePostgres()
    try:
        url = server_db.create_database(f"minyi_faults_{uuid.uuid4().hex[:8]}")
        secret = "fault-test-secret"
        app = create_app(app_config(url, tmp_path, SECRET_KEY=secret))
        upgrade_database(app)
        with app.app_context():
            round_ = load_demo(db.session)
            db.session.commit()
            phones = _phones(round_, 120)
            db.session.remove()
            db.engine.dispose()
        with faultkit.gunicorn(url, secret, instance_path=str(tmp_path)) as web:
            faultkit.open_forms(phones, web.base)

            def restart(thanked):
                assert faultkit.wait_until(lambda: thanked() >= 30, timeout=60)
                at = thanked()
                seconds = server_db.restart("fast")
                return at, seconds

            result = faultkit.stream(phones, web.base, threads=12, timeout=180, chaos=restart)
        restarted_at, restart_seconds = result.chaos
        assert restarted_at < len(phones)
        with app.app_context():
            report = faultkit.exactly_once_report(phones, secret, _stored_rows(), _answer_rows())
            db.session.remove()
            db.engine.dispose()
        print(f"\nPostgreSQL restart ({restart_seconds:.1f} s) after {restarted_at} thank-yous: {report}")
        _check(report)
        failed = sum(n for name, n in report["outcomes"].items() if not name.endswith((" 303", " 200")))
        assert failed > 0, report["outcomes"]  # the restart was felt by the stream
    finally:
        server_db.close()


def test_worker_killed_mid_request_during_a_stream(app, tmp_path):
    round_ = demo_round()
    phones = _phones(round_, 120)
    secret = app.config["SECRET_KEY"]
    with faultkit.gunicorn(app.config["SQLALCHEMY_DATABASE_URI"], secret, instance_path=str(tmp_path)) as server:
        faultkit.open_forms(phones, server.base)

        def kill_workers(thanked):
            kills = []
            for share, everyone in ((0.15, False), (0.4, True), (0.65, False)):
                assert faultkit.wait_until(lambda: len(server.worker_pids()) >= 2, timeout=90), server.worker_pids()
                assert faultkit.wait_until(lambda share=share: thanked() >= share * len(phones), timeout=90), (
                    thanked(), kills, server.worker_pids(), faultkit.outcomes_so_far(phones))
                pids = server.worker_pids()
                for pid in pids if everyone else pids[:1]:
                    os.kill(pid, signal.SIGKILL)
                    kills.append((thanked(), pid))
            return kills

        result = faultkit.stream(phones, server.base, threads=12, timeout=180, chaos=kill_workers)
    kills = result.chaos
    assert len(kills) >= 4 and kills[0][0] < len(phones)
    report = faultkit.exactly_once_report(phones, secret, _stored_rows(), _answer_rows())
    print(f"\nworkers killed {kills}: {report}")
    _check(report)
    cut = sum(n for name, n in report["outcomes"].items() if "Error" in name or "Disconnected" in name)
    assert cut > 0, report["outcomes"]  # some requests were in flight when their worker died


# --------------------------------------------------------------------------
# The phone in Chromium: it waits, says so, and sends again by itself


def _phone_page(browser, base: str, channel, answers):
    from playwright.sync_api import expect

    from tests.survey.browserkit import PHONE, answer_everything

    context = browser.new_context(**PHONE)
    page = context.new_page()
    posts = []
    page.on("request", lambda request: posts.append(request.url) if request.method == "POST" else None)
    page.goto(f"{base}/s/{channel.token}")
    answer_everything(page, channel.round.questionnaire_version.parsed, answers)
    expect(page.get_by_role("button", name="提交")).to_be_enabled()
    return context, page, posts


def test_phone_waits_and_sends_by_itself_when_the_server_is_back(app, backend, browser, tmp_path, artifacts):
    """The server answers 503 (PostgreSQL: the app's real 503 with the
    connection cut; SQLite: the same reply played by the network layer) for
    the first submit: the page says it is waiting and when it will try, tries
    again by itself, and the thank-you page appears once the server is back."""
    from playwright.sync_api import expect

    round_ = demo_round()
    channel = round_.channels[0]
    answers = complete_answers(round_.questionnaire_version.parsed, channel.unit.code, choice_index=1)
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    proxy = None
    if backend == "postgresql":
        host, port = re.search(r"@([^:/@]+):(\d+)/", url).groups()
        proxy = faultkit.CuttableProxy(host, int(port))
        url = proxy.url(url)
    try:
        with faultkit.gunicorn(url, app.config["SECRET_KEY"], instance_path=str(tmp_path)) as server:
            context, page, posts = _phone_page(browser, server.base, channel, answers)
            replies = []
            page.on("response", lambda r: replies.append((r.status, r.headers.get("retry-after")))
                    if r.request.method == "POST" else None)
            if proxy:
                proxy.cut()
            else:
                served = []

                def unavailable_twice(route):
                    if route.request.method == "POST" and len(served) < 2:
                        served.append(1)
                        route.fulfill(status=503, headers={"Retry-After": "2"}, body="")
                    else:
                        route.continue_()

                page.route(f"**/s/{channel.token}", unavailable_twice)

            page.get_by_role("button", name="提交").tap()
            expect(page.locator("#unsent")).to_be_visible()
            expect(page.locator("#unsent-kept")).to_be_visible()  # localStorage holds them: it may say so
            expect(page.locator("#unsent-kept")).to_contain_text("已保存在本机")
            expect(page.locator("#retry-status")).to_contain_text(re.compile(r"\d+ 秒后自动重试"))
            page.locator("#unsent").scroll_into_view_if_needed()
            page.screenshot(path=str(artifacts / f"form-phone-waiting-{backend}.png"))
            assert replies and replies[0] == (503, replies[0][1]) and replies[0][1].isdigit(), replies
            assert _stored_rows() == []
            stored_copy = page.evaluate(f"JSON.parse(localStorage.getItem('minyi:{channel.token}'))")
            assert stored_copy["pending"] is True

            if proxy:
                # The server asked for Retry-After seconds: the phone waits
                # at least that long, then tries again by itself.
                # form.js waits Retry-After plus up to as much again (at most
                # 5 s) of jitter, so that phones cut off together do not return together.
                seconds = int(replies[0][1])
                first_reply = time.monotonic()
                deadline = first_reply + 2 * seconds + 10
                while len(posts) < 2 and time.monotonic() < deadline:
                    page.wait_for_timeout(200)
                assert len(posts) >= 2, posts
                assert _stored_rows() == []
                proxy.restore()
            expect(page.locator("#thanks-message")).to_be_visible(timeout=60000)
            assert len(posts) >= (2 if proxy else 3), posts  # one tap, the rest by itself
            assert page.evaluate(f"localStorage.getItem('minyi:{channel.token}')") is None
            rows = _stored_rows()
            assert len(rows) == 1 and rows[0][0] == faultkit.submission_key(
                app.config["SECRET_KEY"], stored_copy["ticket"])
            context.close()
    finally:
        if proxy:
            proxy.close()


def test_phone_offline_sends_when_back_online_and_on_next_opening(app, live_server, browser):
    from playwright.sync_api import expect

    round_ = demo_round()
    first, second = round_.channels[0], round_.channels[1]
    questionnaire = round_.questionnaire_version.parsed

    # Offline at submit: the phone waits; back online, it sends at once.
    context, page, _ = _phone_page(browser, live_server, first,
                                       complete_answers(questionnaire, first.unit.code))
    context.set_offline(True)
    page.get_by_role("button", name="提交").tap()
    expect(page.locator("#retry-status")).to_contain_text("秒后自动重试")
    assert _stored_rows() == []
    context.set_offline(False)
    expect(page.locator("#thanks-message")).to_be_visible(timeout=15000)
    assert len(_stored_rows()) == 1
    context.close()

    # Offline at submit, and the browser is closed before the network is back:
    # the next opening of the same QR link sends the kept answers by itself.
    context, page, _ = _phone_page(browser, live_server, second,
                                       complete_answers(questionnaire, second.unit.code))
    context.set_offline(True)
    page.get_by_role("button", name="提交").tap()
    expect(page.locator("#unsent")).to_be_visible()
    page.close()
    context.set_offline(False)
    page = context.new_page()
    page.goto(f"{live_server}/s/{second.token}")
    expect(page.locator("#thanks-message")).to_be_visible(timeout=15000)
    rows = _stored_rows()
    assert len(rows) == 2 and len({key for key, _, _ in rows}) == 2
    # Opening it once more: already answered, nothing more stored.
    page.goto(f"{live_server}/s/{second.token}")
    expect(page.locator("body")).to_contain_text("已经参与")
    assert len(_stored_rows()) == 2
    context.close()


def test_form_reopened_during_the_outage_reloads_itself_and_sends(app, proxy, browser, tmp_path):
    """The phone kept unsent answers; the resident opens the QR link again
    while the database is away: a 503 page that reloads itself, then the
    form, which sends the kept answers without a tap."""
    from playwright.sync_api import expect

    round_ = demo_round()
    channel = round_.channels[0]
    answers = complete_answers(round_.questionnaire_version.parsed, channel.unit.code)
    url = proxy.url(app.config["SQLALCHEMY_DATABASE_URI"])
    with faultkit.gunicorn(url, app.config["SECRET_KEY"], instance_path=str(tmp_path)) as server:
        context, page, _ = _phone_page(browser, server.base, channel, answers)
        context.set_offline(True)
        page.get_by_role("button", name="提交").tap()
        expect(page.locator("#unsent")).to_be_visible()
        page.close()
        context.set_offline(False)

        proxy.cut()
        page = context.new_page()
        reply = page.goto(f"{server.base}/s/{channel.token}")
        assert reply.status == 503 and reply.headers["retry-after"].isdigit()
        expect(page.locator("h1")).to_have_text("问卷暂时无法打开")
        assert NOT_KEPT_CLAIM not in page.content()
        time.sleep(1)
        assert _stored_rows() == []
        proxy.restore()
        expect(page.locator("#thanks-message")).to_be_visible(timeout=30000)
        assert len(_stored_rows()) == 1
        context.close()
