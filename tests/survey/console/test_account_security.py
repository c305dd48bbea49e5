"""Sessions end when they should, sign-in is throttled before any password
is hashed, and every sign-in, failure, refusal and sign-out is audited.

Each test sends its sign-ins from addresses of its own where it matters
(``REMOTE_ADDR``); the ``app`` fixture forgets all counts after each test.
"""

from __future__ import annotations

import json
import time
import uuid

import pytest
from sqlalchemy import select

from survey import create_app
from survey.extensions import db
from survey.infrastructure import login_throttle
from survey.models import AuditEvent, User
from tests.conftest import app_config
from tests.survey.consolekit import PASSWORD, csrf_token, login, make_user, new_client

REDIS_URL = "redis://127.0.0.1:6379/0"


def _client(app, address: str = "192.0.2.10"):
    client = new_client(app)
    client.environ_base["REMOTE_ADDR"] = address
    return client


def _sign_in(client, username: str, password: str = PASSWORD):
    return client.post("/console/login", data={"csrf_token": csrf_token(client), "username": username,
                                               "password": password})


def _signed_in(client) -> bool:
    reply = client.get("/console/")
    if reply.status_code == 302:
        assert "/console/login" in reply.headers["Location"]
        return False
    assert reply.status_code == 200
    return True


def _replay(app, client):
    """A new browser holding a copy of ``client``'s session cookie (as a thief would)."""
    cookie = client.get_cookie("session")
    assert cookie is not None
    thief = new_client(app)
    thief.set_cookie("session", cookie.value)
    return thief


def _actions() -> list[str]:
    db.session.expire_all()
    return [e.action for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))]


# --- sessions end on sign-out, password change, reset and deactivation ---------------------

def test_a_cookie_replayed_after_sign_out_no_longer_works(app):
    make_user("clerk", "viewer")
    client = _client(app)
    login(client, "clerk")
    thief = _replay(app, client)
    assert _signed_in(thief)  # the copy works while the session lasts
    other_browser = _client(app)
    login(other_browser, "clerk")

    reply = client.post("/console/logout", data={"csrf_token": csrf_token(client)})
    assert reply.status_code == 302 and reply.headers["Location"].endswith("/console/login")
    assert not _signed_in(client)
    assert not _signed_in(thief)
    assert not _signed_in(other_browser)  # sign-out ends every session of the account
    # Signing in again gives a fresh session that works; the old copy still does not.
    login(client, "clerk")
    assert _signed_in(client) and not _signed_in(thief)


def test_changing_ones_own_password_ends_the_other_sessions(app):
    user = make_user("clerk", "staff", unit=None)
    client, elsewhere = _client(app), _client(app, "192.0.2.11")
    login(client, "clerk")
    login(elsewhere, "clerk")
    thief = _replay(app, client)
    page = client.get("/console/password")
    assert page.status_code == 200 and "修改密码" in page.get_data(as_text=True)

    form = {"csrf_token": csrf_token(client), "own-current": "not-my-password",
            "own-password": "a-new-long-password", "own-confirm": "a-new-long-password"}
    reply = client.post("/console/password", data=form)
    assert reply.status_code == 422 and "当前密码不正确" in reply.get_data(as_text=True)
    assert _signed_in(elsewhere)  # nothing changed

    reply = client.post("/console/password", data={**form, "own-current": PASSWORD})
    assert reply.status_code == 302
    assert _signed_in(client)  # this session goes on
    assert not _signed_in(elsewhere) and not _signed_in(thief)
    db.session.refresh(user)
    assert user.check_password("a-new-long-password")
    assert _sign_in(_client(app), "clerk").status_code == 401  # the old password is gone
    assert "user.password_change" in _actions()


def test_an_administrators_reset_ends_the_accounts_sessions(app):
    make_user("boss", "admin")
    clerk = make_user("clerk", "viewer")
    clerk_browser = _client(app, "192.0.2.12")
    login(clerk_browser, "clerk")
    boss = _client(app)
    login(boss, "boss")
    boss_elsewhere = _client(app, "192.0.2.13")
    login(boss_elsewhere, "boss")

    reply = boss.post(f"/console/accounts/{clerk.id}/password",
                      data={"csrf_token": csrf_token(boss), "reset-password": "reset-by-the-boss"})
    assert reply.status_code == 302
    assert not _signed_in(clerk_browser)
    assert _sign_in(_client(app), "clerk", "reset-by-the-boss").status_code == 302

    # Resetting one's own password keeps this session and ends the others.
    me = db.session.scalars(select(User).where(User.username == "boss")).one()
    reply = boss.post(f"/console/accounts/{me.id}/password",
                      data={"csrf_token": csrf_token(boss), "reset-password": "the-boss-new-one"})
    assert reply.status_code == 302
    assert _signed_in(boss) and not _signed_in(boss_elsewhere)


def test_deactivation_ends_the_sessions_for_good(app):
    make_user("boss", "admin")
    clerk = make_user("clerk", "viewer")
    clerk_browser = _client(app, "192.0.2.12")
    login(clerk_browser, "clerk")
    boss = _client(app)
    login(boss, "boss")
    for action in ("deactivate", "reactivate"):
        reply = boss.post(f"/console/accounts/{clerk.id}/{action}", data={"csrf_token": csrf_token(boss)})
        assert reply.status_code == 302
        assert not _signed_in(clerk_browser)  # reactivation does not bring the old session back
    login(clerk_browser, "clerk")
    assert _signed_in(clerk_browser)


# --- throttling ----------------------------------------------------------------------------

def test_the_sixth_wrong_password_is_refused_with_429_even_if_right(app):
    make_user("clerk", "viewer")
    guesser = _client(app, "198.51.100.1")
    for i in range(5):
        assert _sign_in(guesser, "clerk", f"guess-{i}").status_code == 401
    reply = _sign_in(guesser, "clerk", "guess-5")
    assert reply.status_code == 429
    assert 0 < int(reply.headers["Retry-After"]) <= 15 * 60
    page = reply.get_data(as_text=True)
    assert "失败次数过多" in page and "分钟后再试" in page
    # The right password, from anywhere, waits too: the account is locked, not the address.
    assert _sign_in(guesser, "clerk").status_code == 429
    assert _sign_in(_client(app, "203.0.113.50"), "clerk").status_code == 429
    # Another account at the same address is not locked by the account rule.
    make_user("colleague", "viewer")
    assert _sign_in(guesser, "colleague").status_code == 302


def test_an_administrators_reset_lifts_the_lock(app):
    make_user("boss", "admin")
    clerk = make_user("clerk", "viewer")
    guesser = _client(app, "198.51.100.11")
    for i in range(6):
        _sign_in(guesser, "clerk", f"guess-{i}")
    assert _sign_in(_client(app, "192.0.2.20"), "clerk").status_code == 429
    boss = _client(app)
    login(boss, "boss")
    reply = boss.post(f"/console/accounts/{clerk.id}/password",
                      data={"csrf_token": csrf_token(boss), "reset-password": "a-fresh-password"})
    assert reply.status_code == 302
    assert _sign_in(_client(app, "192.0.2.20"), "clerk", "a-fresh-password").status_code == 302


def test_only_failures_count_toward_the_account_rule(app):
    make_user("clerk", "viewer")
    client = _client(app, "198.51.100.2")
    for _ in range(3):
        for i in range(4):
            assert _sign_in(client, "clerk", f"typo-{i}").status_code == 401
        assert _sign_in(client, "clerk").status_code == 302  # clears the count
        client.post("/console/logout", data={"csrf_token": csrf_token(client)})


def test_the_address_rule_stops_one_address_guessing_many_names(app):
    make_user("clerk", "viewer")
    guesser = _client(app, "198.51.100.3")
    for i in range(20):
        assert _sign_in(guesser, f"name-{i}", "guess").status_code == 401
    reply = _sign_in(guesser, "name-20", "guess")
    assert reply.status_code == 429 and int(reply.headers["Retry-After"]) > 0
    # Even a real account with its password waits at that address ...
    assert _sign_in(guesser, "clerk").status_code == 429
    # ... but not at another one, and the same network's IPv6 /64 counts as one address.
    assert _sign_in(_client(app, "198.51.100.4"), "clerk").status_code == 302
    assert login_throttle.address_key("2001:db8:1:2::1") == login_throttle.address_key("2001:db8:1:2:ffff::9")
    assert login_throttle.address_key("2001:db8:1:2::1") != login_throttle.address_key("2001:db8:1:3::1")


def test_a_throttled_attempt_never_hashes_a_password(app, monkeypatch):
    import survey.models.user as user_model
    import survey.usecases.signin as accounts

    make_user("clerk", "viewer")
    hashes = []
    for module in (user_model, accounts):
        original = module.check_password_hash
        monkeypatch.setattr(module, "check_password_hash",
                            lambda stored, given, original=original: hashes.append(1) or original(stored, given))
    guesser = _client(app, "198.51.100.5")
    for i in range(5):
        assert _sign_in(guesser, "clerk", f"guess-{i}").status_code == 401
    assert _sign_in(guesser, "nobody", "guess").status_code == 401  # an unknown name costs a hash too
    assert len(hashes) == 6
    for i in range(30):
        assert _sign_in(guesser, "clerk", f"more-{i}").status_code == 429
    assert len(hashes) == 6


def test_the_lock_is_lifted_when_the_window_has_passed(database_url, tmp_path):
    quick = create_app(app_config(database_url, tmp_path, LOGIN_LIMIT_PER_ACCOUNT="2 per 2 seconds"))
    try:
        with quick.app_context():
            make_user("clerk", "viewer")
            client = _client(quick, "198.51.100.6")
            assert [_sign_in(client, "clerk", "x").status_code for _ in range(3)] == [401, 401, 429]
            time.sleep(2.2)
            assert _sign_in(client, "clerk").status_code == 302
    finally:
        with quick.app_context():
            db.session.execute(db.delete(AuditEvent))
            db.session.execute(db.delete(User))
            db.session.commit()
            db.engine.dispose()


def test_own_password_changes_count_wrong_current_passwords(app):
    make_user("clerk", "viewer")
    client = _client(app, "198.51.100.7")
    login(client, "clerk")
    form = {"own-password": "a-new-long-password", "own-confirm": "a-new-long-password"}
    for i in range(5):
        reply = client.post("/console/password", data={"csrf_token": csrf_token(client), "own-current": f"x{i}",
                                                       **form})
        assert reply.status_code == 422
    reply = client.post("/console/password", data={"csrf_token": csrf_token(client), "own-current": PASSWORD,
                                                   **form})
    assert reply.status_code == 429 and reply.headers["Retry-After"]
    assert db.session.scalars(select(User)).one().check_password(PASSWORD)


def test_counts_are_shared_through_redis_by_two_app_instances(database_url, tmp_path):
    """Two apps (as two gunicorn workers or machines would be) on one Redis:
    failures made through either count toward one lock."""
    redis = pytest.importorskip("redis")
    server = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        server.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("Redis is not reachable at " + REDIS_URL)
    config = app_config(database_url, tmp_path, RATELIMIT_STORAGE_URI=REDIS_URL)
    first, second = create_app(config), create_app(config)
    name = f"shared-{uuid.uuid4().hex[:8]}"  # other test runs may share this Redis
    address = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.1"
    try:
        with first.app_context():
            make_user(name, "viewer")
            a, b = _client(first, address), _client(second, address)
            codes = [_sign_in(client, name, "wrong").status_code for client in (a, b, a, b, a)]
            assert codes == [401] * 5
            assert _sign_in(b, name).status_code == 429  # five failures, counted across the two apps
            assert _sign_in(a, name).status_code == 429
            assert server.keys(f"*{login_throttle.account_key(name)}*")  # really in Redis
    finally:
        for key in server.scan_iter(f"*{login_throttle.account_key(name)}*"):
            server.delete(key)
        for key in server.scan_iter(f"*login-*{login_throttle.address_key(address)}*"):
            server.delete(key)
        for instance in (first, second):
            with instance.app_context():
                db.session.execute(db.delete(AuditEvent))
                db.session.execute(db.delete(User))
                db.session.commit()
                db.engine.dispose()


def test_an_unreachable_redis_does_not_stop_sign_in(database_url, tmp_path):
    # Nothing listens on port 1: the throttle counts in the process instead.
    dead = create_app(app_config(database_url, tmp_path, RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0"))
    try:
        with dead.app_context():
            make_user("clerk", "viewer")
            client = _client(dead, "198.51.100.8")
            assert [_sign_in(client, "clerk", "x").status_code for _ in range(6)] == [401] * 5 + [429]
    finally:
        with dead.app_context():
            db.session.execute(db.delete(AuditEvent))
            db.session.execute(db.delete(User))
            db.session.commit()
            db.engine.dispose()


# --- the audit log ---------------------------------------------------------------------------

def test_sign_ins_failures_refusals_and_sign_outs_are_audited(app):
    make_user("boss", "admin")
    secret = "Sup3r-secret-guess"
    guesser = _client(app, "198.51.100.9")
    for _ in range(5):
        assert _sign_in(guesser, "boss", secret).status_code == 401
    for _ in range(3):
        assert _sign_in(guesser, "boss", secret).status_code == 429
    long_name = "x" * 70
    assert _sign_in(_client(app, "198.51.100.10"), long_name, secret).status_code == 401
    assert _actions() == ["login.failed"] * 5 + ["login.throttled"] + ["login.failed"]

    events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    boss = db.session.scalars(select(User).where(User.username == "boss")).one()
    assert events[0].target == f"user:{boss.id}" and events[0].user_id is None
    assert events[0].details["username"] == "boss" and events[0].details["reason"] == "wrong_password"
    assert events[5].details["rule"] == "account" and events[5].details["retry_after"] > 0
    assert events[6].details["username"] == "x" * 40 + "…" and events[6].details["reason"] == "unknown_account"
    assert events[0].details["source"] != events[6].details["source"]  # two sources, no address stored
    stored = json.dumps([e.details for e in events])
    assert secret not in stored and "198.51.100" not in stored

    login_throttle.current().reset()  # let the administrator in now
    client = _client(app)
    login(client, "boss")
    page = client.get("/console/audit").get_data(as_text=True)
    for words in ("登录失败", "拒绝登录：失败次数过多", "密码错误", "账号不存在", "未登录"):
        assert words in page, words
    assert "login.failed" not in page and "wrong_password" not in page
    client.post("/console/logout", data={"csrf_token": csrf_token(client)})
    assert _actions()[-2:] == ["login", "logout"]
    login(client, "boss")
    assert "退出登录" in client.get("/console/audit").get_data(as_text=True)
