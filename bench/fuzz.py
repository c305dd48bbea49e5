"""Fuzz run against a real gunicorn server: no input may reach a 500 (issue 9).

    python bench/fuzz.py --backend sqlite --requests 20000
    python bench/fuzz.py --backend postgresql --requests 20000

Builds a scratch database (SQLite file, or a fresh PostgreSQL database that
is dropped afterwards) with the demo district, two rounds with responses and
a round, unit and indicator named ``$\\x$``; starts gunicorn (2 workers) on
a free loopback port; then sends the requests from a seeded generator over
every route of the app's URL map (read from ``app.url_map``), as an
anonymous visitor, as signed-in administrators (CSRF token supplied) and
with an API token, mixing: plausible values, NUL bytes and other control
characters, bytes that are not UTF-8 (in the path, the query, form fields,
cookies and headers), ids and numbers beyond 32 and 64 bits, bodies over the
2 MiB limit, 5,000-field forms, deeply nested JSON, hostile uploads (bare CR
and 128 KiB cells in CSV, a 200,000-row .xlsx of a few hundred KB, YAML
nested 5,000 deep, "billion laughs" aliases) and mathtext in names. A few
requests are written byte by byte on a socket (a NUL or 0xFF in the request
line), which gunicorn itself refuses.

Prints the request count, the status histogram, the server errors (must be
0), error pages without a Chinese message, connections the server closed,
latency percentiles, and the lines gunicorn logged at error level. Loopback
only; the run is bounded by ``--requests`` and ``--timeout``.
"""

from __future__ import annotations

import argparse
import collections
import http.client
import io
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scratch import scratch_database  # noqa: E402

HAN = re.compile("[\u4e00-\u9fff]")
CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
TICKET = re.compile(r'name="ticket" (?:type="hidden" )?value="([^"]+)"')
FIELD = re.compile(r'name="([^"]+)"')
PASSWORD = "fuzz-password-1"

NUL_TEXT = ["\x00", "a\x00b", "\x01\x02", "\x7f", "x\x0b"]
BAD_BYTES = ["%FF", "%C0%AF", "%ED%A0%80", "%E4%B8", "%FE%FF"]
HUGE = ["2147483648", "4294967296", "9223372036854775807", "9223372036854775808", "9" * 25, "9" * 400, "-1", "0"]
PLAUSIBLE = ["1", "2", "D01-S01", "D01-S02-C01", "wilson", "0.9", "street", "unit", "en", "zh", "drill", "yes",
             "no", "staff", "viewer", "too_fast", "burst", "2030-01-01T10:00", "80", "50%", "$\\x$", "$x^$",
             "新华街道", "<b>x</b>", "'; --", "{{7*7}}", "１２３", "1e309", "nan", "x" * 300]
QUERY_NAMES = ["compare", "unit", "ci", "level", "rank_by", "by", "page", "lang", "suggest", "total", "minimum",
               "flags", "with_flagged"]
KINDS = {  # payload kind -> weight
    "plain": 22, "nul_path": 6, "bad_utf8_path": 5, "huge_id_path": 6, "nul_query": 6, "bad_utf8_query": 5,
    "huge_query": 7, "control_query": 3, "nul_form": 6, "bad_utf8_form": 4, "huge_form": 5, "random_form": 8,
    "mathtext_form": 3, "nul_cookie": 3, "bad_header": 3, "deep_json": 1, "many_fields": 1, "random_body": 2,
    "hostile_upload": 3, "huge_body": 1, "raw_socket": 1,
}


@dataclass
class Target:
    """What the generator draws real values from."""

    rules: list
    ids: dict[str, list[int]]
    tokens: list[str]
    keys: list[str]
    admin_ids: set[int]
    fields: list[str]
    tickets: dict[str, str] = field(default_factory=dict)  # channel token -> a form ticket
    anon_csrf: str = ""


@dataclass
class Identity:
    cookie: str = ""
    csrf: str = ""
    authorization: str = ""


@dataclass
class Outcome:
    status: int | str
    endpoint: str
    kind: str
    seconds: float
    chinese: bool | None = None  # for error pages: does the page say it in Chinese?
    app_page: bool = True
    english: bool = False  # an error page in English, as the request asked (?lang=en)


@dataclass
class Tally:
    outcomes: list[Outcome] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, outcome: Outcome) -> None:
        with self.lock:
            self.outcomes.append(outcome)


# -- the world ---------------------------------------------------------------


def build_world(app) -> dict:
    """Demo district, two rounds with responses, mathtext names, administrators and an API token."""
    from sqlalchemy import select

    from questions import standard_definition
    from survey.extensions import db
    from survey.models import Channel, QuestionnaireVersion, Response, Round, Unit, User
    from survey.models.types import utcnow
    from survey.usecases import api_tokens
    from survey.usecases.demo import load_demo, simulate_responses
    from survey.usecases.questionnaires import import_questionnaire
    from survey.usecases.round_setup import create_round_with_channels

    with app.app_context():
        round_ = load_demo(db.session)
        simulate_responses(db.session, round_, 150, seed=1)
        data = standard_definition()
        data["version"] = 2
        first = next(iter(data["indicators"]))
        data["indicators"][first]["name"] = {"zh": "指标$\\x$", "en": "$\\x$"}
        version, _ = import_questionnaire(db.session, data, source="mathtext.yaml")
        street = db.session.scalars(select(Unit).where(Unit.code == "D01-S01")).one()
        street.name = "街道$\\x$"
        now = utcnow()
        mathtext_round = create_round_with_channels(
            db.session, None, name="本轮$\\x$", kind="drill", questionnaire_version=version, unit=street.parent,
            opens_at=now - timedelta(days=1), closes_at=now + timedelta(days=30))
        db.session.flush()
        simulate_responses(db.session, mathtext_round, 80, seed=2)
        admins = []
        for i in range(4):  # a fuzzed sign-out ends one session; the next takes over
            user = User(username=f"fuzz-admin-{i}", role="admin")
            user.set_password(PASSWORD)
            db.session.add(user)
            admins.append(user)
        db.session.add(User(username="fuzz-staff", role="staff", unit=street, password_hash="x"))
        db.session.commit()
        token = api_tokens.create_token(db.session, admins[0], "fuzz", admins[0])
        db.session.commit()
        return {
            "ids": {
                "round_id": list(db.session.scalars(select(Round.id))),
                "channel_id": list(db.session.scalars(select(Channel.id).limit(6))),
                "user_id": [u.id for u in db.session.scalars(select(User)) if not u.username.startswith("fuzz-admin")],
                "version_id": list(db.session.scalars(select(QuestionnaireVersion.id))),
                "token_id": [1],
                "response_id": list(db.session.scalars(select(Response.id).limit(6))),
            },
            "admin_ids": {u.id for u in admins},
            "tokens": [c.token for c in round_.channels[:3]] + [c.token for c in mathtext_round.channels[:2]],
            "keys": list(db.session.scalars(select(Response.submission_key).limit(4))),
            "api_token": token,
            "counts": row_counts(db),
        }


def row_counts(db) -> dict[str, int]:
    from sqlalchemy import func, select

    return {t.name: db.session.scalar(select(func.count()).select_from(t)) for t in db.metadata.sorted_tables}


# -- talking to the server -----------------------------------------------------


class Connection:
    """One keep-alive HTTP connection per client thread; reopened after the server closes it."""

    def __init__(self, host: str, port: int, timeout: float):
        self.host, self.port, self.timeout = host, port, timeout
        self.conn: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, body: bytes | None, headers: dict) -> tuple[int, dict, bytes]:
        if body is not None and len(body) > 100_000:
            # A server may close a keep-alive connection after refusing a body
            # unread; a large upload starts on a fresh one rather than find out mid-send.
            self.close()
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                self.conn.putrequest(method, path, skip_host="Host" in headers, skip_accept_encoding=True)
                for name, value in headers.items():
                    self.conn.putheader(name, value)
                if body is not None:
                    self.conn.putheader("Content-Length", str(len(body)))
                self.conn.endheaders(body)
                reply = self.conn.getresponse()
                data = reply.read()
                if reply.getheader("Connection", "").lower() == "close":
                    self.close()
                return reply.status, dict(reply.getheaders()), data
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def raw_request(host: str, port: int, payload: bytes, timeout: float) -> tuple[int | str, bytes]:
    """Bytes on a socket, for what http.client refuses to send; the status line read back."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        try:
            sock.sendall(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass
        chunks = []
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
                if b"\r\n\r\n" in b"".join(chunks) and len(b"".join(chunks)) > 64 * 1024:
                    break
        except (TimeoutError, ConnectionResetError):
            pass
    data = b"".join(chunks)
    match = re.match(rb"HTTP/1\.[01] (\d{3})", data)
    return (int(match.group(1)) if match else "closed"), data


# -- the generator ---------------------------------------------------------------


def _fill(rule, target: Target, rng: random.Random, who: str, kind: str) -> str:
    url = rule.rule
    for name, converter in rule._converters.items():
        kind_name = type(converter).__name__
        if kind_name == "IdConverter":
            choices = [i for i in target.ids.get(name, [1]) if not (name == "user_id" and i in target.admin_ids)]
            value = str(rng.choice(choices or [1]))
            if kind == "huge_id_path" and rng.random() < 0.7:
                value = rng.choice(HUGE)
        elif kind_name == "AnyConverter":
            value = rng.choice(sorted(converter.items))
        elif kind_name == "PathConverter":
            value = rng.choice(["form.js", "site.css", "../secret_key", "a/b"])
        else:
            value = rng.choice(target.tokens if name == "token" else target.keys or ["k"])
        if kind == "nul_path" and rng.random() < 0.7:
            value = value + "%00" if rng.random() < 0.5 else "%00"
        elif kind == "bad_utf8_path" and rng.random() < 0.7:
            value = value + rng.choice(BAD_BYTES)
        url = re.sub(rf"<(?:[^:<>]+:)?{name}(?:\([^)]*\))?>", lambda _m, v=value: v, url)
    if kind == "nul_path" and not rule._converters:
        url += "%00"
    if kind == "bad_utf8_path" and not rule._converters:
        url += rng.choice(BAD_BYTES)
    return url


def _text(rng: random.Random) -> str:
    pick = rng.random()
    if pick < 0.5:
        return rng.choice(PLAUSIBLE)
    if pick < 0.8:
        return "".join(chr(rng.choice([rng.randint(0x20, 0x7e), rng.randint(0x4e00, 0x9fff), rng.randint(0xa0, 0x2fff)]))
                       for _ in range(rng.randint(0, 20)))
    return rng.choice(HUGE)


def _query(rng: random.Random, kind: str, target: Target) -> str:
    pairs = []
    for _ in range(rng.randint(0, 3)):
        name = rng.choice(QUERY_NAMES)
        value = quote(_text(rng)) if rng.random() < 0.7 else str(rng.choice(target.ids["round_id"]))
        pairs.append(f"{name}={value}")
    name = rng.choice(QUERY_NAMES)
    if kind == "nul_query":
        pairs.append(f"{name}={quote(rng.choice(NUL_TEXT))}" if rng.random() < 0.8 else f"%00{name}=1")
    elif kind == "bad_utf8_query":
        pairs.append(f"{name}={rng.choice(BAD_BYTES)}")
    elif kind == "huge_query":
        pairs.append(f"{rng.choice(['compare', 'page', 'unit', 'total', 'level'])}={rng.choice(HUGE)}")
    elif kind == "control_query":
        pairs.append(f"{name}=%0B%1F")
    return "&".join(pairs)


def _form(rng: random.Random, kind: str, target: Target) -> dict[str, str]:
    form = {rng.choice(target.fields): _text(rng) for _ in range(rng.randint(0, 6))}
    name = rng.choice(target.fields)
    if kind == "nul_form":
        form[name] = rng.choice(NUL_TEXT)
    elif kind == "huge_form":
        form[rng.choice(["unit", "questionnaire_version", "total", "minimum", "min_verdict_respondents", name])] = \
            rng.choice(HUGE)
    elif kind == "mathtext_form":
        form.update({"name": rng.choice(["$\\x$", "轮次$x^$", "$\\frac{$"]), "site": "$\\x$", "kind": "drill",
                     "opens_at": "2026-01-01T08:00", "closes_at": "2036-01-01T08:00", "one_response_per_device": "no",
                     "unit": "1", "questionnaire_version": str(rng.choice(target.ids["version_id"]))})
    return form


def _multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes]]) -> tuple[bytes, str]:
    boundary = "fuzzboundary" + str(random.getrandbits(32))
    out = io.BytesIO()
    for name, value in fields.items():
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode())
        out.write(value.encode("utf-8", "surrogatepass") + b"\r\n")
    for name, (filename, content) in files.items():
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                  f"Content-Type: application/octet-stream\r\n\r\n".encode())
        out.write(content + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


def hostile_files() -> list[tuple[str, bytes]]:
    """Uploads made to hurt (built once; a few hundred KB each at most)."""
    xlsx = io.BytesIO()
    with zipfile.ZipFile(xlsx, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml",
                         '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
                         'content-types"><Override PartName="/xl/workbook.xml" ContentType="application/'
                         'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override '
                         'PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
                         'officedocument.spreadsheetml.worksheet+xml"/></Types>')
        archive.writestr("_rels/.rels", '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.'
                         'org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats'
                         '.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
                         '</Relationships>')
        archive.writestr("xl/workbook.xml", '<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/'
                         'spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/'
                         'relationships"><sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>')
        archive.writestr("xl/_rels/workbook.xml.rels", '<?xml version="1.0"?><Relationships xmlns="http://schemas.'
                         'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://'
                         'schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/'
                         'sheet1.xml"/></Relationships>')
        rows = "".join(f'<row r="{r}"><c r="A{r}" t="inlineStr"><is><t>C</t></is></c></row>' for r in range(1, 200_001))
        archive.writestr("xl/worksheets/sheet1.xml", '<?xml version="1.0"?><worksheet xmlns="http://schemas.'
                         f'openxmlformats.org/spreadsheetml/2006/main"><sheetData>{rows}</sheetData></worksheet>')
    laughs = "\n".join(["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"] + [
        f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)])
    return [
        ("units.csv", "编码,名称,上级编码\rZ1,新区,\rZ1-S1,新街道,Z1\r".encode()),
        ("units.csv", ("编码,名称,上级编码\nZ2," + "长" * 140_000 + ",\n").encode()),
        ("units.csv", "编码,名称,上级编码\nZ3,新\x00区,\n".encode()),
        ("population.csv", "单位编码,性别,年龄组,人口\nD01-S01-C01,男,18-29,99999999999999999999\n".encode()),
        ("bomb.xlsx", xlsx.getvalue()),
        ("damaged.xlsx", b"PK\x03\x04" + b"\x00" * 200),
        ("deep.yaml", ("questions: " + "[" * 5000 + "]" * 5000).encode()),
        ("laughs.yaml", laughs.encode()),
        ("nul.yaml", b'code: "x\\0"\n'),
        ("binary.yaml", bytes(range(256))),
    ]


def build_request(rng: random.Random, target: Target, identities: dict, files: list, kind: str):
    """(who, method, path, headers, body, endpoint) for one request."""
    rule, method = rng.choice(target.rules)
    who = rng.choices(["anonymous", "admin", "api"], [45, 45, 10])[0]
    if rule.rule.startswith("/api/"):
        who = "api" if rng.random() < 0.8 else who
    destructive = any(word in rule.endpoint for word in ("logout", "password", "set_account_active", "delete"))
    if who == "admin" and method == "POST" and destructive and kind in ("plain", "random_form", "mathtext_form"):
        kind = "nul_form"  # keep the administrators' sessions (and the world) alive
    path = _fill(rule, target, rng, who, kind)
    query = _query(rng, kind, target)
    if query:
        path += "?" + query
    headers = {"Host": "127.0.0.1", "User-Agent": "minyi-fuzz"}
    identity = identities[who]
    if identity.cookie:
        headers["Cookie"] = identity.cookie
    if identity.authorization:
        headers["Authorization"] = identity.authorization
    body = None
    if kind == "nul_cookie":
        headers["Cookie"] = (identity.cookie + "; " if identity.cookie else "") + rng.choice(
            ['minyi_device="\\000x"', 'minyi_lang=%00', 'minyi_device=\x01', 'remember_token="\\377"'])
    elif kind == "bad_header":
        headers[rng.choice(["X-Forwarded-For", "Authorization", "Accept-Language", "Referer"])] = rng.choice(
            ["\x00", "1.2.3.4\x01", "Bearer \x00", "\x7f" * 5, "999.999.999.999", "x" * 5000])
    if method != "GET":
        form = _form(rng, kind, target)
        if identity.csrf and rng.random() < 0.9:
            form["csrf_token"] = identity.csrf
        if rule.endpoint == "public.submit" and rng.random() < 0.5:
            form.update({"ticket": target.tickets.get(path.split("?")[0].rsplit("/", 1)[-1], ""),
                         "q_q_adult": "yes", "q_suggestion": rng.choice(NUL_TEXT + PLAUSIBLE)})
            if target.anon_csrf:
                form["csrf_token"] = target.anon_csrf
        if kind == "bad_utf8_form":
            body = "&".join(f"{quote(k)}={quote(v)}" for k, v in form.items()).encode() + b"&x=" + \
                rng.choice([b"%FF%FE", b"\xff\xfe", b"%C0%AF"])
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif kind == "many_fields":
            body = "&".join(f"f{i}=1" for i in range(5000)).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif kind == "deep_json":
            depth = rng.choice([100, 10_000, 200_000])
            body = b"[" * depth + b"]" * depth
            headers["Content-Type"] = "application/json"
        elif kind == "random_body":
            body = rng.randbytes(rng.randint(0, 3000))
            headers["Content-Type"] = rng.choice(["multipart/form-data; boundary=x", "application/x-www-form-urlencoded",
                                                  "application/json", "text/plain"])
        elif kind == "hostile_upload" or "import" in rule.endpoint or "questionnaires" in rule.rule:
            filename, content = rng.choice(files)
            field_name = {"console.import_units_upload": "units-file",
                          "console.import_population_upload": "population-file"}.get(rule.endpoint, "file")
            body, content_type = _multipart(form, {field_name: (filename, content)})
            headers["Content-Type"] = content_type
        else:
            body = "&".join(f"{quote(k.encode('utf-8', 'surrogatepass'))}={quote(v.encode('utf-8', 'surrogatepass'))}"
                            for k, v in form.items()).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
    return who, method, path, headers, body, rule.endpoint


# -- the run -----------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _page_speaks_chinese(status: int, headers: dict, body: bytes) -> tuple[bool | None, bool, bool]:
    """(Chinese message?, rendered by the app?, English as asked?) for an error reply; None for a success."""
    if status < 400:
        return None, True, False
    content_type = headers.get("Content-Type", "")
    text = body.decode("utf-8", "replace")
    if content_type.startswith("application/json"):
        try:
            message = json.loads(text).get("error", "")
        except (ValueError, AttributeError):
            return False, True, False
        return bool(HAN.search(message)), True, False
    app_page = 'lang="zh' in text or 'lang="en' in text
    if 'lang="en' in text:  # the request asked for English (?lang=en or its cookie)
        return None, app_page, True
    return bool(HAN.search(text)), app_page, False


def sign_in(conn: Connection, username: str) -> Identity:
    status, headers, body = conn.request("GET", "/console/login", None, {"Host": "127.0.0.1"})
    cookie = headers.get("Set-Cookie", "").split(";")[0]
    csrf = CSRF.search(body.decode()).group(1)
    form = f"csrf_token={quote(csrf)}&username={quote(username)}&password={quote(PASSWORD)}".encode()
    status, headers, body = conn.request("POST", "/console/login", form, {
        "Host": "127.0.0.1", "Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"})
    if status != 302:
        raise RuntimeError(f"{username} could not sign in: {status}")
    cookie = headers.get("Set-Cookie", cookie).split(";")[0]
    status, headers, body = conn.request("GET", "/console/api-tokens", None, {"Host": "127.0.0.1", "Cookie": cookie})
    return Identity(cookie=cookie, csrf=CSRF.search(body.decode()).group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=6)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per request")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="minyi-fuzz-"))
    with scratch_database(args.backend, tmp) as url:
        run(args, url, tmp)


def run(args, url: str, tmp: Path) -> None:
    from survey import create_app
    from survey.extensions import db
    from survey.migrate import upgrade_database

    secret = "fuzz-" + os.urandom(8).hex()
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": secret, "INSTANCE_PATH": str(tmp)})
    upgrade_database(app)
    world = build_world(app)
    rules = sorted(((r, m) for r in app.url_map.iter_rules() for m in sorted(r.methods - {"HEAD", "OPTIONS"})),
                   key=lambda rm: (rm[0].rule, rm[1]))

    port = _free_port()
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": secret, "MINYI_INSTANCE_PATH": str(tmp),
           "MINYI_WARM_UP_ROUNDS": "0", "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}"}
    log_path = tmp / "gunicorn.log"
    with open(log_path, "w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", str(args.workers), "--threads", str(args.threads),
             "--bind", f"127.0.0.1:{port}", "--log-level", "error", "--timeout", "120", "wsgi:app"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("gunicorn did not start; see " + str(log_path)) from None
                time.sleep(0.2)
        results = fuzz(args, port, world, rules)
    finally:
        server.terminate()
        server.wait(timeout=30)
    with app.app_context():
        after = row_counts(db)
        db.engine.dispose()
    report(args, results, world["counts"], after, log_path)


def fuzz(args, port: int, world: dict, rules) -> tuple[Tally, float]:
    setup = Connection("127.0.0.1", port, args.timeout)
    admins = [sign_in(setup, f"fuzz-admin-{i}") for i in range(4)]
    status, headers, body = setup.request("GET", "/console/login", None, {"Host": "127.0.0.1"})
    anonymous = Identity(cookie=headers.get("Set-Cookie", "").split(";")[0], csrf=CSRF.search(body.decode()).group(1))
    fields = set()
    for path in ["/console/accounts", "/console/units", "/console/questionnaires", "/console/rounds/new",
                 f"/console/rounds/{world['ids']['round_id'][0]}/setup", f"/console/rounds/{world['ids']['round_id'][0]}"]:
        fields.update(FIELD.findall(setup.request("GET", path, None, {"Host": "127.0.0.1",
                                                                      "Cookie": admins[0].cookie})[2].decode()))
    tickets = {}
    for token in world["tokens"]:
        page = setup.request("GET", f"/s/{token}", None, {"Host": "127.0.0.1", "Cookie": anonymous.cookie})[2].decode()
        found = TICKET.search(page)
        tickets[token] = found.group(1) if found else ""
    setup.close()
    target = Target(rules, world["ids"], world["tokens"], world["keys"], world["admin_ids"],
                    sorted(fields - {"csrf_token"}) or ["name"], tickets, anonymous.csrf)
    files = hostile_files()
    kinds, weights = zip(*KINDS.items())
    rng = random.Random(args.seed)
    plan = [(random.Random(rng.getrandbits(64)), rng.choices(kinds, weights)[0]) for _ in range(args.requests)]
    tally = Tally()
    admin_index = [0]
    admin_lock = threading.Lock()
    local = threading.local()

    def identities() -> dict:
        with admin_lock:
            admin = admins[min(admin_index[0], len(admins) - 1)]
        return {"anonymous": anonymous, "admin": admin,
                "api": Identity(authorization=f"Bearer {world['api_token']}")}

    def one(item) -> None:
        rng_i, kind = item
        if not hasattr(local, "conn"):
            local.conn = Connection("127.0.0.1", port, args.timeout)
        who, method, path, headers, body, endpoint = build_request(rng_i, target, identities(), files, kind)
        started = time.perf_counter()
        if kind == "raw_socket":
            line = rng_i.choice([b"GET /s/\x00 HTTP/1.1", b"GET /s/\xff\xfe HTTP/1.1", b"GET /console/\x01 HTTP/1.1",
                                 b"POST /console/login HTTP/1.1\r\nContent-Length: 99999999999999999999",
                                 b"GET /s/x HTTP/1.1\r\nX-A: \x00"])
            status, _data = raw_request("127.0.0.1", port, line + b"\r\nHost: 127.0.0.1\r\n\r\n", args.timeout)
            tally.add(Outcome(status, "(raw request line)", kind, time.perf_counter() - started, None, False))
            return
        if kind == "huge_body":
            # Headers announce 2.5 MiB; the app must answer 413 before reading it all.
            head = (f"POST {path.split('?')[0]} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                    f"application/x-www-form-urlencoded\r\nContent-Length: {5 * 2**19}\r\n"
                    + (f"Cookie: {headers['Cookie']}\r\n" if "Cookie" in headers else "") + "\r\n").encode()
            status, data = raw_request("127.0.0.1", port, head + b"x=" + b"y" * 65536, args.timeout)
            text_start = data.find(b"\r\n\r\n")
            chinese = bool(HAN.search(data[text_start:].decode("utf-8", "replace"))) if isinstance(status, int) \
                and status >= 400 else None
            tally.add(Outcome(status, endpoint, kind, time.perf_counter() - started, chinese))
            return
        try:
            status, reply_headers, data = local.conn.request(method, path, body, headers)
        except (OSError, http.client.HTTPException) as exc:
            local.conn.close()
            tally.add(Outcome(f"closed ({type(exc).__name__})", endpoint, kind, time.perf_counter() - started))
            return
        chinese, app_page, english = _page_speaks_chinese(status, reply_headers, data)
        tally.add(Outcome(status, endpoint, kind, time.perf_counter() - started, chinese, app_page, english))
        if who == "admin" and status == 302 and "/console/login" in reply_headers.get("Location", ""):
            with admin_lock:  # this administrator was signed out: the next one takes over
                admin_index[0] += 1

    started = time.perf_counter()
    with ThreadPoolExecutor(args.concurrency) as pool:
        list(pool.map(one, plan))
    return tally, time.perf_counter() - started, {rule.endpoint for rule, _m in rules}


def report(args, results, before: dict, after: dict, log_path: Path) -> None:
    tally, elapsed, all_endpoints = results
    outcomes = tally.outcomes
    statuses = collections.Counter(str(o.status) for o in outcomes)
    server_errors = [o for o in outcomes if isinstance(o.status, int) and o.status >= 500]
    no_chinese = collections.Counter((o.endpoint, o.status) for o in outcomes
                                     if o.chinese is False and o.app_page and not o.endpoint.startswith("api."))
    api_english = sum(1 for o in outcomes if o.chinese is False and o.endpoint.startswith("api."))
    english = sum(1 for o in outcomes if o.english)
    not_app = collections.Counter(str(o.status) for o in outcomes if isinstance(o.status, int) and o.status >= 400
                                  and not o.app_page)
    closed = [o for o in outcomes if not isinstance(o.status, int)]
    latencies = sorted(o.seconds for o in outcomes)
    kinds = collections.Counter(o.kind for o in outcomes)
    endpoints = {o.endpoint for o in outcomes}
    log_lines = [line for line in log_path.read_text(errors="replace").splitlines()
                 if "[ERROR]" in line or "Traceback" in line]
    worker_errors = [line for line in log_lines if "Traceback" in line or "Exception" in line]
    changed = {k: (before[k], after[k]) for k in before if before[k] != after.get(k)}
    figures = {
        "backend": args.backend, "requests": len(outcomes), "seconds": round(elapsed, 1),
        "requests_per_second": round(len(outcomes) / elapsed, 1), "status": dict(sorted(statuses.items())),
        "server_errors": len(server_errors), "error_pages_without_chinese": sum(no_chinese.values()),
        "api_errors_in_english": api_english, "english_pages_as_asked": english,
        "refused_by_gunicorn_itself": dict(not_app),
        "connections_closed": len(closed), "endpoints": len(endpoints), "payload_kinds": dict(sorted(kinds.items())),
        "latency_ms": {"p50": round(1000 * statistics.median(latencies)),
                       "p95": round(1000 * latencies[int(0.95 * len(latencies))]),
                       "max": round(1000 * latencies[-1])},
        "gunicorn_error_lines": len(log_lines), "tracebacks": len(worker_errors), "rows_changed": changed,
    }
    print(f"backend={args.backend} requests={len(outcomes)} in {elapsed:.0f} s ({figures['requests_per_second']}/s), "
          f"concurrency={args.concurrency}, gunicorn {args.workers} workers x {args.threads} threads, seed={args.seed}")
    missed = sorted(all_endpoints - endpoints)
    print(f"  endpoints of the URL map hit: {len(all_endpoints & endpoints)} of {len(all_endpoints)}"
          + (f" (missed: {', '.join(missed)})" if missed else ""))
    print("  status: " + ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items())))
    print(f"  server errors (5xx): {len(server_errors)}")
    for o in server_errors[:20]:
        print(f"    {o.status} {o.endpoint} ({o.kind})")
    print(f"  error pages without a Chinese message: {sum(no_chinese.values())}"
          + (" " + str(dict(no_chinese.most_common(10))) if no_chinese else ""))
    print(f"  API errors (JSON, English by design): {api_english}; error pages in English as asked (?lang=en): "
          f"{english}")
    print(f"  refused by gunicorn itself (its plain page, before the app): {dict(not_app) or 0}")
    print(f"  connections the server closed: {len(closed)}"
          + (" " + str(dict(collections.Counter((o.endpoint, o.kind) for o in closed))) if closed else ""))
    print(f"  latency p50 {figures['latency_ms']['p50']} ms, p95 {figures['latency_ms']['p95']} ms, "
          f"max {figures['latency_ms']['max']} ms")
    print(f"  gunicorn error-level log lines: {len(log_lines)}, tracebacks: {len(worker_errors)}")
    for line in log_lines[:10]:
        print("    " + line[:200])
    print("  payloads: " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))
    print(f"  rows changed by accepted requests: {changed or 'none'}")
    if args.json:
        args.json.write_text(json.dumps(figures, ensure_ascii=False, indent=2))
    if server_errors:
        sys.exit(1)


if __name__ == "__main__":
    main()
