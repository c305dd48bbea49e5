"""Configuration: defaults here, deployment values from the environment.

Nothing reads the environment at import time; ``load_config`` is called by
``create_app`` so tests can pass their own mapping instead.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any


class Config:
    #: Default locale for residents and staff; English is available via ?lang=en.
    BABEL_DEFAULT_LOCALE = "zh"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    LANGUAGES = ("zh", "en")
    #: A resident may keep the questionnaire open a long time (the phone
    #: sleeps, the interview is interrupted); a CSRF token that expires after
    #: an hour would turn a saved answer into a rejected one.
    WTF_CSRF_TIME_LIMIT = 7 * 24 * 3600
    #: Device cookie lifetime: one response per device per round.
    DEVICE_COOKIE_NAME = "minyi_device"
    DEVICE_COOKIE_MAX_AGE = 400 * 24 * 3600
    #: Submissions faster than this many seconds per answered question are
    #: flagged "too_fast" (kept, but analysis may exclude them).
    QUALITY_MIN_SECONDS_PER_QUESTION = 1.5
    #: The same for a volunteer's interview, who reads every question aloud
    #: and waits for the answer. Paper questionnaires typed in are never timed.
    QUALITY_MIN_SECONDS_PER_QUESTION_INTERVIEW = 3.0
    #: An interviewer's phone may send questionnaires completed offline this
    #: long after the round closed (they must have been completed while it was open).
    INTERVIEW_SYNC_GRACE_SECONDS = 3 * 24 * 3600
    #: The interviewer's phone keeps its sign-in this long (a drill lasts weeks).
    INTERVIEWER_COOKIE_NAME = "minyi_interviewer"
    INTERVIEWER_COOKIE_MAX_AGE = 90 * 24 * 3600
    #: A form's ticket is good for this long after the form was served (six
    #: hours: an interrupted resident can come back the same day). An older
    #: one brings the answers back on a fresh form to send again, so a form
    #: fetched in advance cannot make an instant submission look slow.
    TICKET_LIFETIME_SECONDS = 6 * 3600
    SESSION_COOKIE_SAMESITE = "Lax"
    #: Office sessions end after a working day without activity.
    PERMANENT_SESSION_LIFETIME = 8 * 3600
    SESSION_COOKIE_HTTPONLY = True
    SQLALCHEMY_ENGINE_OPTIONS: dict[str, Any] = {"pool_pre_ping": True}
    #: SQLite busy timeout in milliseconds (concurrent writers wait, not fail).
    SQLITE_BUSY_TIMEOUT_MS = 15000
    MAX_CONTENT_LENGTH = 2 * 1024 * 1024
    #: How many of the latest rounds a gunicorn worker reads into the report
    #: cache when it starts (``MINYI_WARM_UP_ROUNDS``; 0 turns it off).
    WARM_UP_ROUNDS = 3
    #: How many reverse proxies in front of the app append to
    #: X-Forwarded-For / -Proto / -Host (``MINYI_TRUSTED_PROXIES``). 0: none,
    #: the headers are ignored and the connecting address is the client's.
    TRUSTED_PROXIES = 0
    #: The site is served only over HTTPS (``MINYI_HTTPS_ONLY``): cookies are
    #: always ``Secure``, even if the proxy does not say the request was HTTPS.
    HTTPS_ONLY = False
    #: Days after a round closes that its responses' technical data (device
    #: and network hashes) are kept for checking bursts; then
    #: ``flask purge-technical-data`` clears them (``MINYI_TECHNICAL_DATA_RETENTION_DAYS``).
    TECHNICAL_DATA_RETENTION_DAYS = 90
    #: Where sign-in attempts are counted (``MINYI_RATELIMIT_STORAGE_URI``):
    #: ``redis://host:6379/0`` in production, so every worker and machine
    #: shares the counts; ``memory://`` counts in each process (demo, tests).
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_STRATEGY = "moving-window"
    #: Failed sign-ins allowed per account name (from any address) and per
    #: client address (for any names) before the sign-in answers 429; wrong
    #: first-administrator setup codes per address (Flask-Limiter notation).
    LOGIN_LIMIT_PER_ACCOUNT = "5 per 15 minutes"
    LOGIN_LIMIT_PER_ADDRESS = "20 per 15 minutes"
    SETUP_CODE_LIMIT_PER_ADDRESS = "5 per 15 minutes"


def _secret_key(instance_path: Path) -> str:
    """Return the instance's secret key, generating and keeping one on first use.

    Never in code: a key that lives in the repository signs every deployment's
    cookies alike.
    """
    key_file = instance_path / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    # O_EXCL: two workers starting together must agree on one key.
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return key_file.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


def normalize_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs written the usual way."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def load_config(instance_path: Path, environ: Mapping[str, str], given: Mapping[str, Any]) -> dict[str, Any]:
    """Deployment settings: ``given`` (tests) first, then the environment, then defaults.

    ``DATABASE_URL`` defaults to a SQLite file in the instance folder;
    ``SECRET_KEY`` to a key generated once and kept there; ``PUBLIC_BASE_URL``
    (what QR codes encode) to the demo server's address.
    """
    settings: dict[str, Any] = {}
    if "SQLALCHEMY_DATABASE_URI" not in given:
        url = environ.get("DATABASE_URL") or f"sqlite:///{instance_path / 'minyi.sqlite3'}"
        settings["SQLALCHEMY_DATABASE_URI"] = normalize_database_url(url)
    if "SECRET_KEY" not in given:
        settings["SECRET_KEY"] = environ.get("SECRET_KEY") or _secret_key(instance_path)
    if "PUBLIC_BASE_URL" not in given:
        settings["PUBLIC_BASE_URL"] = environ.get("PUBLIC_BASE_URL") or "http://127.0.0.1:5000"
    if "WARM_UP_ROUNDS" not in given and environ.get("MINYI_WARM_UP_ROUNDS", "").strip():
        try:
            settings["WARM_UP_ROUNDS"] = int(environ["MINYI_WARM_UP_ROUNDS"])
        except ValueError:
            raise ValueError("MINYI_WARM_UP_ROUNDS must be a whole number (0 turns the warm-up off)") from None
    if "TRUSTED_PROXIES" not in given and environ.get("MINYI_TRUSTED_PROXIES", "").strip():
        try:
            settings["TRUSTED_PROXIES"] = int(environ["MINYI_TRUSTED_PROXIES"])
        except ValueError:
            raise ValueError("MINYI_TRUSTED_PROXIES must be a whole number (0: no reverse proxy)") from None
        if settings["TRUSTED_PROXIES"] < 0:
            raise ValueError("MINYI_TRUSTED_PROXIES must be 0 or more")
    if "TECHNICAL_DATA_RETENTION_DAYS" not in given and environ.get("MINYI_TECHNICAL_DATA_RETENTION_DAYS", "").strip():
        try:
            settings["TECHNICAL_DATA_RETENTION_DAYS"] = int(environ["MINYI_TECHNICAL_DATA_RETENTION_DAYS"])
        except ValueError:
            raise ValueError("MINYI_TECHNICAL_DATA_RETENTION_DAYS must be a whole number of days") from None
        if not 0 <= settings["TECHNICAL_DATA_RETENTION_DAYS"] <= 36500:
            raise ValueError("MINYI_TECHNICAL_DATA_RETENTION_DAYS must be from 0 to 36500")
    if "HTTPS_ONLY" not in given and environ.get("MINYI_HTTPS_ONLY", "").strip():
        settings["HTTPS_ONLY"] = environ["MINYI_HTTPS_ONLY"].strip().lower() in ("1", "true", "yes", "on")
    if "RATELIMIT_STORAGE_URI" not in given and environ.get("MINYI_RATELIMIT_STORAGE_URI", "").strip():
        settings["RATELIMIT_STORAGE_URI"] = environ["MINYI_RATELIMIT_STORAGE_URI"].strip()
    settings.update(given)
    settings["PUBLIC_BASE_URL"] = settings["PUBLIC_BASE_URL"].rstrip("/")
    settings["SQLALCHEMY_DATABASE_URI"] = normalize_database_url(settings["SQLALCHEMY_DATABASE_URI"])
    storage_uri = settings.get("RATELIMIT_STORAGE_URI", Config.RATELIMIT_STORAGE_URI)
    if storage_uri.startswith(("redis://", "rediss://")) and "RATELIMIT_STORAGE_OPTIONS" not in settings:
        # A Redis that does not answer must not hold a sign-in for long (the throttle then counts locally).
        settings["RATELIMIT_STORAGE_OPTIONS"] = {"socket_connect_timeout": 2, "socket_timeout": 2}
    return settings
