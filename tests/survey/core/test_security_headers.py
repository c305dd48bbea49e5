"""Security headers on every response, no inline script or style anywhere,
``Secure`` cookies over HTTPS, the client's address behind a trusted proxy,
and a resident and an office user in Chromium with the Content-Security-Policy
on: no violation, and the form still works."""

from __future__ import annotations

import itertools
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from werkzeug.routing import AnyConverter

from survey import create_app
from survey.assets import LONG_CACHE, static_version
from survey.config import load_config
from survey.extensions import db
from survey.models import Response
from survey.security import CONTENT_SECURITY_POLICY, HSTS
from survey.usecases.submission import network_hash
from tests.conftest import app_config
from tests.factories import complete_answers, demo_round, submit_responses
from tests.survey.browserkit import PHONE, answer_everything
from tests.survey.consolekit import PASSWORD, build_world, login, make_user, new_client
from tests.survey.formpage import parse_form

TEMPLATES = Path(__file__).resolve().parents[3] / "templates"

EXPECTED_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}


def _missing_headers(reply, https: bool = False) -> dict[str, object]:
    """The expected security headers this reply lacks or gets wrong."""
    wrong = {name: reply.headers.get(name) for name, value in EXPECTED_HEADERS.items()
             if reply.headers.get(name) != value}
    hsts = reply.headers.get("Strict-Transport-Security")
    if hsts != (HSTS if https else None):
        wrong["Strict-Transport-Security"] = hsts
    return wrong


def test_the_policy_forbids_inline_script_and_style():
    directives = dict(part.strip().split(" ", 1) for part in CONTENT_SECURITY_POLICY.split(";"))
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'" and directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in CONTENT_SECURITY_POLICY


# --- every route ---------------------------------------------------------------

def _submit(client, token: str, answers: dict, **request_options):
    form = parse_form(client.get(f"/s/{token}", **request_options).get_data(as_text=True))
    return client.post(f"/s/{token}", data=form.fields(answers), **request_options)


def _placeholders(app, world, thanks_key: str) -> dict[str, list[str]]:
    """Values for the URL map's arguments: the world's real rows, so each route
    answers with its real page or download (unknown names get "1")."""
    round_ = world.district_round
    channel = round_.channels[0]
    static = sorted(p.name for p in Path(app.static_folder).iterdir() if p.is_file())
    return {
        "round_id": [round_.id], "channel_id": [channel.id], "version_id": [round_.questionnaire_version_id],
        "user_id": [world.users["viewer"].id], "token": [channel.token], "key": [thanks_key],
        "filename": static,
    }


def _every_url(app, values: dict[str, list]) -> list[tuple[str, str]]:
    adapter = app.url_map.bind("localhost")
    urls = []
    for rule in app.url_map.iter_rules():
        names = sorted(rule.arguments)
        choices = []
        for name in names:
            converter = rule._converters[name]
            choices.append(sorted(converter.items) if isinstance(converter, AnyConverter) else values.get(name, [1]))
        for combination in itertools.product(*choices):
            path = adapter.build(rule.endpoint, dict(zip(names, combination)), force_external=False)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                urls.append((method, path))
    return sorted(set(urls))


class _InlineFinder(HTMLParser):
    """Inline script or style in a page: <script> without src, <style>, style=,
    on...= handlers, javascript: URLs."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script":
            self._in_script = True
            if not attrs.get("src"):
                self.found.append("<script> without src")
        if tag == "style":
            self.found.append("<style>")
        for name, value in attrs.items():
            if name == "style" or name.startswith("on"):
                self.found.append(f"<{tag} {name}=...>")
            if name in ("href", "src", "action", "formaction") and (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"<{tag} {name}=javascript:...>")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.found.append("script content")


def inline_code(html: str) -> list[str]:
    finder = _InlineFinder()
    finder.feed(html)
    return finder.found


def test_inline_finder_sees_inline_code():
    assert inline_code('<p style="color:red">x</p><a href="javascript:history.back()">b</a>') == [
        "<p style=...>", "<a href=javascript:...>"]
    assert inline_code("<script>alert(1)</script><style>p{}</style><button onclick=go()>") == [
        "<script> without src", "script content", "<style>", "<button onclick=...>"]
    assert inline_code('<script src="/static/form.js?v=1"></script><p class="x">') == []


def test_every_route_carries_the_security_headers(app):
    """Every rule of the URL map, for every method and every value of its
    fixed choices: signed in as the administrator, anonymous, and POSTs
    without a CSRF token (the error page). Pages, redirects, errors,
    downloads and static files all carry the headers; no HTML page has
    inline script or style."""
    world = build_world()
    round_ = world.district_round
    submit_responses(round_, 40, seed=5)
    channel = round_.channels[0]
    resident = new_client(app)
    thanks = _submit(resident, channel.token, complete_answers(round_.questionnaire_version.parsed, channel.unit.code))
    assert thanks.status_code == 303
    thanks_key = thanks.headers["Location"].rstrip("/").rsplit("/", 1)[1]
    urls = _every_url(app, _placeholders(app, world, thanks_key))
    assert ("GET", f"/s/{channel.token}/done/{thanks_key}") in urls and ("GET", "/static/site.css") in urls

    admin = new_client(app)
    login(admin, "admin")
    problems, statuses, pages = {}, {}, 0
    for method, url in urls:
        for who, client in (("admin", admin), ("anonymous", new_client(app))):
            reply = client.open(url, method=method)
            statuses.setdefault(reply.status_code, []).append(url)
            wrong = _missing_headers(reply)
            if reply.mimetype == "text/html" and reply.status_code != 302:
                pages += 1
                wrong.update({"inline": found} if (found := inline_code(reply.get_data(as_text=True))) else {})
            reply.close()
            if wrong:
                problems[f"{who} {method} {url} ({reply.status_code})"] = wrong
    assert problems == {}
    # The walk reached real pages, downloads and error pages, not only redirects.
    assert len(statuses.get(200, [])) >= 30 and pages >= 20
    assert statuses.get(400) and statuses.get(404) and statuses.get(302)
    downloads = [u for u in statuses[200] if u.endswith((".pdf", ".xlsx", ".csv", ".png", ".svg"))]
    assert len(downloads) >= 8, downloads


def test_error_pages_and_downloads_carry_the_headers_over_https(app):
    round_ = demo_round()
    channel = round_.channels[0]
    client = app.test_client()
    for url in ("/nowhere", f"/s/{channel.token}/poster.pdf", f"/s/{channel.token}/qr.svg", "/s/unknown-token"):
        reply = client.get(url, base_url="https://survey.example.cn")
        assert _missing_headers(reply, https=True) == {}, url
        assert _missing_headers(client.get(url)) == {}, url


def test_templates_have_no_inline_script_or_style():
    sources = {p.relative_to(TEMPLATES).as_posix(): p.read_text() for p in TEMPLATES.rglob("*.html")}
    assert len(sources) >= 20
    # WTForms' field(style=...) renders a style attribute too.
    patterns = [r"<script(?![^>]*\bsrc=)[^>]*>", r"<style", r"\sstyle\s*=", r"\(\s*style\s*=", r"\son[a-z]+\s*=",
                r"javascript:"]
    found = {name: [m.group(0) for pattern in patterns for m in re.finditer(pattern, text, re.IGNORECASE)]
             for name, text in sources.items()}
    assert {name: hits for name, hits in found.items() if hits} == {}


# --- static files: cached for a year under a content hash -------------------------

def test_static_files_are_versioned_and_cached_for_a_year(app):
    round_ = demo_round()
    page = app.test_client().get(f"/s/{round_.channels[0].token}").get_data(as_text=True)
    css = re.search(r'<link rel="stylesheet" href="(/static/site\.css\?v=([0-9a-f]{12}))"', page)
    script = re.search(r'<script src="(/static/form\.js\?v=[0-9a-f]{12})"', page)
    assert css and script
    assert css.group(2) == static_version(app.static_folder, "site.css")
    for url in (css.group(1), script.group(1)):
        with app.test_client().get(url) as reply:
            assert reply.status_code == 200 and reply.headers["Cache-Control"] == LONG_CACHE
            assert _missing_headers(reply) == {}
    # An old or missing hash is not cached blindly.
    for url in ("/static/site.css?v=000000000000", "/static/site.css"):
        with app.test_client().get(url) as reply:
            assert reply.headers["Cache-Control"] == "no-cache"


def test_a_changed_file_gets_a_new_version(tmp_path):
    (tmp_path / "a.css").write_text("p{color:red}")
    first = static_version(str(tmp_path), "a.css")
    (tmp_path / "a.css").write_text("p{color:blue}")
    assert static_version(str(tmp_path), "a.css") != first
    assert static_version(str(tmp_path), "missing.css") is None
    assert static_version(str(tmp_path), "../etc/passwd") is None


# --- proxies, HTTPS and cookies ---------------------------------------------------

@pytest.fixture
def make_app(app, tmp_path):
    """Another app on the test database with its own settings (the ``app``
    fixture still empties the tables afterwards)."""
    made = []

    def make(**settings):
        other = create_app(app_config(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path / str(len(made)), **settings))
        made.append(other)
        return other

    yield make
    for other in made:
        with other.app_context():
            db.engine.dispose()


def _network_hashes() -> list[str | None]:
    db.session.expire_all()
    return [r.network_hash for r in db.session.scalars(select(Response).order_by(Response.id))]


PROXY = {"REMOTE_ADDR": "10.0.0.2"}  # the reverse proxy's address, as the app sees it


@pytest.mark.parametrize("proxies", [0, 1])
def test_the_client_address_comes_from_trusted_proxies_only(app, make_app, proxies):
    served = make_app(TRUSTED_PROXIES=proxies) if proxies else app
    round_ = demo_round()
    channel = round_.channels[0]
    answers = complete_answers(round_.questionnaire_version.parsed, channel.unit.code)
    # Two residents in different /24 networks; the second also sends a forged
    # address of its own in front of the one the proxy appends.
    for forwarded in ("203.0.113.7", "192.0.2.99, 198.51.100.7"):
        reply = _submit(new_client(served), channel.token, answers,
                        environ_base=PROXY, headers={"X-Forwarded-For": forwarded})
        assert reply.status_code == 303
    key = app.config["SECRET_KEY"]
    if proxies:
        assert _network_hashes() == [network_hash(key, "203.0.113.7"), network_hash(key, "198.51.100.7")]
    else:
        # Without a trusted proxy, X-Forwarded-For is ignored: both are the proxy's network.
        assert _network_hashes() == [network_hash(key, "10.0.0.2")] * 2


def _cookies(reply) -> dict[str, str]:
    return {header.split("=", 1)[0]: header for header in reply.headers.getlist("Set-Cookie")}


@pytest.mark.parametrize(("settings", "request_options", "secure"), [
    ({}, {}, False),
    ({}, {"base_url": "https://survey.example.cn"}, True),
    ({"TRUSTED_PROXIES": 1}, {"environ_base": PROXY, "headers": {"X-Forwarded-Proto": "https"}}, True),
    # From anyone but a trusted proxy, X-Forwarded-Proto means nothing.
    ({}, {"headers": {"X-Forwarded-Proto": "https"}}, False),
    ({"HTTPS_ONLY": True}, {}, True),
], ids=["http", "https", "https-behind-proxy", "forged-proto", "https-only-setting"])
def test_cookies_are_secure_over_https(app, make_app, settings, request_options, secure):
    make_user("admin")
    served = make_app(**settings) if settings else app
    channel = demo_round().channels[0]
    client = served.test_client()
    replies = [client.get(f"/s/{channel.token}?lang=en", **request_options),
               client.get("/console/login", **request_options)]
    cookies = {name: header for reply in replies for name, header in _cookies(reply).items()}
    # The resident's device cookie, the language choice and the session (with its CSRF token).
    assert set(cookies) >= {"minyi_device", "minyi_lang", "session"}, cookies
    for name, header in cookies.items():
        attributes = [part.strip().lower() for part in header.split(";")]
        assert ("secure" in attributes) == secure, header
        if name != "minyi_lang":
            assert "httponly" in attributes, header
        assert "samesite=lax" in attributes, header
    https = bool(request_options) and secure
    for reply in replies:
        assert _missing_headers(reply, https=https) == {}


def test_a_resident_submits_over_https_with_the_referrer_the_policy_allows(app):
    """Flask-WTF refuses an HTTPS form POST without a same-origin Referer; the
    policy (same-origin, not no-referrer) lets the browser send it, while no
    address with the resident's token goes to another site."""
    round_ = demo_round()
    channel = round_.channels[0]
    answers = complete_answers(round_.questionnaire_version.parsed, channel.unit.code)
    https = {"base_url": "https://survey.example.cn"}
    form_url = f"https://survey.example.cn/s/{channel.token}"
    refused = _submit(new_client(app), channel.token, answers, **https)
    assert refused.status_code == 400  # what no-referrer would do to every resident
    sent = _submit(new_client(app), channel.token, answers, headers={"Referer": form_url}, **https)
    assert sent.status_code == 303 and sent.headers["Referrer-Policy"] == "same-origin"
    assert len(_network_hashes()) == 1


def test_proxy_and_https_settings_from_the_environment(tmp_path):
    base = {"DATABASE_URL": "sqlite://", "SECRET_KEY": "k"}
    settings = load_config(tmp_path, {**base, "MINYI_TRUSTED_PROXIES": "2", "MINYI_HTTPS_ONLY": "true"}, {})
    assert settings["TRUSTED_PROXIES"] == 2 and settings["HTTPS_ONLY"] is True
    assert load_config(tmp_path, {**base, "MINYI_HTTPS_ONLY": "0"}, {})["HTTPS_ONLY"] is False
    for bad in ("one", "-1", "1.5"):
        with pytest.raises(ValueError, match="MINYI_TRUSTED_PROXIES"):
            load_config(tmp_path, {**base, "MINYI_TRUSTED_PROXIES": bad}, {})
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "k", "INSTANCE_PATH": str(tmp_path)})
    assert app.config["TRUSTED_PROXIES"] == 0 and app.config["HTTPS_ONLY"] is False


# --- in Chromium, with the policy on ------------------------------------------------

#: Reports every Content-Security-Policy violation of every page to the test.
WATCH_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", function (e) {
  window.reportViolation([e.violatedDirective, e.blockedURI, e.documentURI, e.sourceFile, e.lineNumber, e.sample].join(" "));
});
"""


def _watch(context, page):
    """Record CSP violation events, console errors and page errors, and count
    the requests that reach the server (not answered from the cache)."""
    seen = {"violations": [], "errors": [], "fetched": []}
    context.expose_function("reportViolation", lambda text: seen["violations"].append(text))
    context.add_init_script(WATCH_VIOLATIONS)
    page.on("console", lambda m: seen["errors"].append(f"{m.text} @ {m.location.get('url')}") if m.type == "error" else None)
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    from_cache: set[str] = set()
    cdp.on("Network.requestServedFromCache", lambda e: from_cache.add(e["requestId"]))
    cdp.on("Network.responseReceived", lambda e: seen["fetched"].append(e["response"]["url"])
           if not e["response"].get("fromDiskCache") and e["requestId"] not in from_cache else None)
    return seen


def _background(page, selector: str) -> str:
    return page.eval_on_selector(selector, "el => getComputedStyle(el).backgroundColor")


RED = "rgb(179, 38, 30)"


def test_resident_and_office_pages_in_chromium_with_the_policy_on(app, live_server, browser, artifacts):  # noqa: F811
    round_ = demo_round()
    submit_responses(round_, 120, seed=7)
    make_user("wang")
    channel = round_.channels[2]
    questionnaire = round_.questionnaire_version.parsed
    answers = complete_answers(questionnaire, channel.unit.code)

    simulated = set(db.session.scalars(select(Response.id)))
    context = browser.new_context(**PHONE)
    page = context.new_page()
    seen = _watch(context, page)
    reply = page.goto(f"{live_server}/s/{channel.token}")
    assert reply.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    expect(page.locator("h1")).to_have_text(questionnaire.title.zh)
    # The styles arrived from the file: red header bar, tall option rows.
    assert _background(page, "header.bar") == RED
    assert page.eval_on_selector(".opt", "el => el.getBoundingClientRect().height") >= 48
    first_visit = list(seen["fetched"])
    assert any("/static/site.css?v=" in u for u in first_visit) and any("/static/form.js?v=" in u for u in first_visit)

    # After the first visit the form costs one request: the page itself.
    seen["fetched"].clear()
    page.goto(f"{live_server}/s/{channel.token}")
    expect(page.locator("h1")).to_have_text(questionnaire.title.zh)
    assert seen["fetched"] == [f"{live_server}/s/{channel.token}"]

    # form.js still runs: the follow-up question appears only after "yes".
    follow_up = next(q for q in questionnaire.questions if q.show_if)
    expect(page.locator(f"#question-{follow_up.id}")).to_be_hidden()
    answer_everything(page, questionnaire, answers)
    expect(page.locator(f"#question-{follow_up.id}")).to_be_visible()
    page.screenshot(path=str(artifacts / "csp-form-phone.png"), full_page=True)
    assert page.evaluate(f"localStorage.getItem('minyi:{channel.token}')") is not None
    page.get_by_role("button", name="提交").tap()
    expect(page.locator("#thanks-message")).to_be_visible()
    db.session.expire_all()
    stored = db.session.scalars(select(Response).where(Response.id.not_in(simulated))).all()
    assert len(stored) == 1
    assert {a.question_id for a in stored[0].answers} >= {follow_up.id}
    # page.js forgot the copy kept on the phone.
    assert page.evaluate(f"localStorage.getItem('minyi:{channel.token}')") is None
    # Opening the link again: the already-answered page, also styled and without violations.
    page.goto(f"{live_server}/s/{channel.token}")
    expect(page.locator("body")).to_contain_text("已经参与")
    assert _background(page, "header.bar") == RED
    # Its 409 status is the only console error so far.
    assert all("status of 409" in e for e in seen["errors"]), seen["errors"]
    seen["errors"].clear()

    # The office: sign-in, results, live progress, set-up, all at phone width.
    page.goto(f"{live_server}/console/login")
    assert page.eval_on_selector("button.btn", "el => el.getBoundingClientRect().width") > 300
    page.fill("#username", "wang")
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="登录").click()
    reply = page.goto(f"{live_server}/console/rounds/{round_.id}/results")
    assert reply.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    expect(page.locator("#summary table")).to_be_visible()
    assert page.eval_on_selector("table.stats", "el => getComputedStyle(el).borderCollapse") == "collapse"
    assert _background(page, "form.options button") == RED
    assert page.eval_on_selector("#summary h3", "el => getComputedStyle(el).marginTop") == "0px"
    page.screenshot(path=str(artifacts / "csp-console-results-phone.png"), full_page=True)
    page.goto(f"{live_server}/console/rounds/{round_.id}/progress")
    expect(page.locator("#progress")).to_be_visible()
    assert page.eval_on_selector("#progress", "el => getComputedStyle(el).borderCollapse") == "collapse"
    page.goto(f"{live_server}/console/rounds/{round_.id}/setup")
    assert page.eval_on_selector("#targets input[type=text]", "el => el.getBoundingClientRect().width") <= 7 * 17 + 1
    page.screenshot(path=str(artifacts / "csp-console-setup-phone.png"), full_page=True)
    page.goto(f"{live_server}/s/{channel.token}/qr.svg")
    page.goto(f"{live_server}/s/{channel.token}/poster.pdf")
    page.wait_for_timeout(500)
    page.screenshot(path=str(artifacts / "csp-poster-pdf-phone.png"))
    assert seen["violations"] == [] and seen["errors"] == [], seen

    # A PNG opened on its own is shown, but Chromium's image viewer styles its
    # <img> with style attributes, which the policy refuses: the only
    # violations allowed, on the image's own page.
    page.goto(f"{live_server}/console/rounds/{round_.id}/charts/rates.png")
    assert page.eval_on_selector("img", "el => el.naturalWidth") > 300
    assert all(v.startswith("style-src-attr inline") and ".png " in v for v in seen["violations"]), seen
    seen["violations"].clear()

    # The watch is not blind: an inline style set by script is a violation.
    page.goto(f"{live_server}/console/rounds/{round_.id}/results")
    page.evaluate("document.body.setAttribute('style', 'color: red')")
    page.wait_for_timeout(200)
    assert any(v.startswith("style-src") for v in seen["violations"]), seen
    context.close()
