"""One gate for what a request brings, before any view reads it.

PostgreSQL refuses text holding NUL (the request would end in a database
error), SQLite and PostgreSQL refuse integers beyond 64 bits, and text that
is not UTF-8 only ever comes from a broken or hostile client. Rather than
every view checking its own parameters, every request is checked here once:
the path, the query string, the form fields (names, values, file names), the
cookies and headers the app reads, and JSON bodies. A request that fails gets
a clear 400 page in the reader's language and no view runs, so nothing
changes.

The one exception is the residents' answers (``q_*`` fields of the answer
form): a phone must never lose a filled-in questionnaire over a stray control
character pasted into a free-text answer, so those values pass here and the
answer cleaning in ``questions`` strips control characters from them.

Views that parse an id from a query string or a form field should use
:func:`parse_id`, which gives ``None`` for anything outside 1..2**31-1 (the
same range the ``id`` URL converter accepts).
"""

from __future__ import annotations

import json
import re
from urllib.parse import unquote_to_bytes

from flask import Flask, current_app, jsonify, request
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import BadRequest

#: Largest row id the database columns hold (PostgreSQL ``integer``).
MAX_ID = 2**31 - 1
#: Larger integers do not fit a 64-bit database parameter at all.
MAX_INT64 = 2**63 - 1

#: C0 control characters except tab, line feed and carriage return, and DEL.
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
#: What Werkzeug puts where the client sent bytes that are not UTF-8.
REPLACEMENT_CHARACTER = "\ufffd"

#: Form fields of the resident's answers (``survey.public.forms.ANSWER_FIELD_PREFIX``).
ANSWER_FIELD_PREFIX = "q_"
ANSWER_ENDPOINTS = frozenset({"public.submit", "console.enter_paper_sheet"})

#: Cookies the app (or Flask-Login) reads; cookies of other sites on the same
#: domain are none of its business and must not lock a resident out.
READ_COOKIES = ("minyi_device", "minyi_lang", "remember_token")
#: Headers the app reads (besides cookies).
READ_HEADERS = ("Authorization", "Host", "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host",
                "X-Forwarded-Port", "X-Forwarded-Prefix", "X-Real-IP", "User-Agent", "Accept-Language",
                "Content-Type", "Referer", "Origin", "X-CSRFToken", "X-CSRF-Token")

BAD_CHARACTERS = _l("The address or form contains characters that cannot be accepted "
                    "(control characters or text that is not UTF-8). Nothing was saved. "
                    "Please go back and try again.")
NUMBER_TOO_LARGE = _l("A number in the address or form is far too large. Nothing was saved. "
                      "Please go back and try again.")
DEEP_JSON = _l("The data sent is nested too deeply. Nothing was saved.")

#: JSON bodies nested deeper than this are refused before ``json.loads`` recurses.
MAX_JSON_DEPTH = 64


class RejectedInput(BadRequest):
    """A request the app will not read; ``description`` says why, in the reader's language."""

    def __init__(self, message):
        super().__init__()
        self.message = message


def parse_id(value: str | None) -> int | None:
    """A row id from a query string or form field: 1..2**31-1, else None.

    Accepts surrounding spaces; refuses signs, decimals and anything longer
    than ten digits before converting (``int()`` of a huge string is slow).
    """
    if value is None:
        return None
    text = value.strip()
    if not (0 < len(text) <= 10 and text.isascii() and text.isdigit()):
        return None
    number = int(text)
    return number if 1 <= number <= MAX_ID else None


def text_problem(text: str) -> str | None:
    """``"characters"`` when ``text`` holds a control character or a
    replacement character (bytes that were not UTF-8), else None."""
    if CONTROL_CHARACTERS.search(text) or REPLACEMENT_CHARACTER in text:
        return "characters"
    return None


def _number_problem(text: str) -> str | None:
    """``"number"`` for an integer literal beyond 64 bits (it would reach the database as one)."""
    stripped = text.strip().lstrip("+-")
    if len(stripped) > 18 and stripped.isdecimal():
        if len(stripped) > 19 or int(stripped) > MAX_INT64:
            return "number"
    return None


def _value_problem(text: str) -> str | None:
    return text_problem(text) or _number_problem(text)


def _raw_problem(raw: bytes) -> str | None:
    """Problems of raw (percent-decoded) bytes: not UTF-8, or controls / huge numbers once decoded."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return "characters"
    return _value_problem(text)


def _wsgi_bytes(value: str) -> bytes:
    """WSGI strings carry the raw bytes as Latin-1."""
    return value.encode("latin-1", "replace")


def _path_problem() -> str | None:
    raw = _wsgi_bytes(request.environ.get("PATH_INFO", ""))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return "characters"
    return text_problem(text)


def _query_problem() -> str | None:
    raw = _wsgi_bytes(request.environ.get("QUERY_STRING", ""))
    for pair in raw.split(b"&"):
        for part in pair.split(b"=", 1):
            problem = _raw_problem(unquote_to_bytes(part.replace(b"+", b" ")))
            if problem:
                return problem
    return None


def _header_problem() -> str | None:
    for name in READ_HEADERS:
        value = request.headers.get(name)
        if value is not None and CONTROL_CHARACTERS.search(value):
            return "characters"
    cookie_header = request.headers.get("Cookie", "")
    if "\x00" in cookie_header:
        return "characters"
    names = (current_app.config.get("SESSION_COOKIE_NAME", "session"),
             current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token"),
             current_app.config.get("DEVICE_COOKIE_NAME", "minyi_device"), *READ_COOKIES)
    for name in names:
        value = request.cookies.get(name)
        if value is not None and text_problem(value):
            return "characters"
    return None


def _form_problem() -> str | None:
    answers_allowed = request.endpoint in ANSWER_ENDPOINTS
    for key, values in request.form.lists():
        problem = _value_problem(key)
        if problem:
            return problem
        if answers_allowed and key.startswith(ANSWER_FIELD_PREFIX):
            continue  # cleaned by questions.answers, never refused
        for value in values:
            problem = _value_problem(value)
            if problem:
                return problem
    for key, storage in request.files.items(multi=True):
        if text_problem(key) or text_problem(storage.filename or ""):
            return "characters"
    return None


def _json_depth(text: str) -> int:
    """How deep the JSON text nests, brackets inside strings not counted."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _json_text_problem(value) -> str | None:
    """NUL or a lone surrogate anywhere in the parsed document's strings (keys included)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item or _LONE_SURROGATE.search(item):
                return "characters"
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _json_problem() -> str | None:
    raw = request.get_data(cache=True)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return "characters"
    if "\x00" in text:
        return "characters"
    if text.count("[") + text.count("{") > MAX_JSON_DEPTH and _json_depth(text) > MAX_JSON_DEPTH:
        return "deep"
    if "\\u" not in text:
        return None  # no escapes: the UTF-8 check above has seen every character
    try:
        parsed = json.loads(text)
    except ValueError:
        return None  # the view answers unreadable JSON itself
    return _json_text_problem(parsed)


def _body_problem() -> str | None:
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return _form_problem()
    if request.is_json and (request.content_length or 0) > 0:
        return _json_problem()
    return None


def check_request() -> None:
    """Refuse the request before any view (or CSRF check, or sign-in) reads it.

    :raises RejectedInput: with the reason, for the error page.
    :raises RequestEntityTooLarge: a body over ``MAX_CONTENT_LENGTH`` (413 page).
    """
    problem = _path_problem() or _query_problem() or _header_problem() or _body_problem()
    if problem:
        raise RejectedInput({"characters": BAD_CHARACTERS, "number": NUMBER_TOO_LARGE,
                             "deep": DEEP_JSON}[problem])


def _rejected(exc: RejectedInput):
    from .errors import page

    if request.path.startswith(("/api/", "/i/api/")):
        response = jsonify({"error": str(exc.message)})
        response.status_code = 400
        return response
    return page(400, _l("The request could not be accepted"), exc.message)


def register(app: Flask) -> None:
    """Run :func:`check_request` first, before every other ``before_request`` hook."""
    app.before_request_funcs.setdefault(None, []).insert(0, check_request)
    app.register_error_handler(RejectedInput, _rejected)


__all__ = ["MAX_ID", "RejectedInput", "check_request", "parse_id", "register", "text_problem"]
