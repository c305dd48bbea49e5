"""Sign-in throttling, decided before any password is hashed.

Three rules, each a moving window (see ``Config``):

* per account name: failed sign-ins for one name, from any address. The
  attempt is counted *before* the password is checked (so parallel guessers
  cannot all slip in while the count is still low) and the count is cleared
  when the right password is given: in effect only failures count.
* per client address (an IPv6 client by its /64, which one machine usually
  holds whole): failed sign-ins from it, for any names. Counted after the
  check, so an office behind one address is not locked by its own successful
  sign-ins.
* per client address, wrong first-administrator setup codes.

A refused attempt costs one storage round trip and no password hash: scrypt
takes tens of milliseconds of CPU, which guessers would otherwise take from
the residents' forms.

Counts live in the storage Flask-Limiter is configured with
(``RATELIMIT_STORAGE_URI``): Redis in production, so that every gunicorn
worker on every machine shares them; memory in the demo and the tests. If
the storage cannot be reached, sign-in goes on with counts kept in this
process (logged), rather than locking every office out.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import math
import time
from dataclasses import dataclass

from flask import Flask, current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter, RateLimiter

from .hashing import keyed_hash

logger = logging.getLogger(__name__)

EXTENSION_KEY = "minyi_login_throttle"
#: Prefix of every key this module writes (the storage may be shared).
KEY_PREFIX = "minyi"
#: A throttled name or address is written to the audit log once per this window, not on every refused attempt.
AUDIT_ONCE_PER = parse("1 per 15 minutes")
#: After the shared storage failed, use this process's counts for this many seconds before trying it again.
STORAGE_RETRY_SECONDS = 30


@dataclass(frozen=True)
class Refusal:
    """An attempt refused by a rule: which one, and for how many seconds."""

    rule: str  # "account", "address" or "setup_code"
    retry_after: int


def account_key(username: str) -> str:
    """The name as the sign-in looks it up (stripped), hashed: short keys, no names in the storage."""
    return hashlib.sha256((username or "").strip().encode("utf-8", "surrogatepass")).hexdigest()[:32]


def address_key(address: str | None) -> str:
    """An IPv4 address as it is; an IPv6 address by its /64."""
    try:
        parsed = ipaddress.ip_address(address or "")
    except ValueError:
        return "unknown"
    if parsed.version == 6:
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


def address_fingerprint(secret_key: str, address: str | None) -> str:
    """A keyed hash of the address for the audit log: attempts from one source
    can be told apart from a spread attack, while no address is stored."""
    message = b"sign-in-source:" + address_key(address).encode()
    return keyed_hash(secret_key, message, 12)


class LoginThrottle:
    def __init__(self, limiter: Limiter, *, per_account: str, per_address: str, setup_code: str):
        self._limiter = limiter
        #: ``RATELIMIT_ENABLED = False`` turns the throttle off (Flask-Limiter then has no storage).
        self.enabled = limiter.enabled
        self.per_account = parse(per_account)
        self.per_address = parse(per_address)
        self.setup_code = parse(setup_code)
        self._fallback = MovingWindowRateLimiter(MemoryStorage())
        self._storage_down_until = 0.0

    # -- storage, with a local fallback ---------------------------------------------------

    def _strategy(self) -> RateLimiter:
        if time.monotonic() < self._storage_down_until:
            return self._fallback
        return self._limiter.limiter

    def _call(self, method: str, *args):
        strategy = self._strategy()
        try:
            return getattr(strategy, method)(*args)
        except Exception:  # noqa: BLE001 - a storage outage must not stop sign-in
            if strategy is self._fallback:
                raise
            logger.exception("sign-in throttle storage unreachable; counting in this process for %ss",
                             STORAGE_RETRY_SECONDS)
            self._storage_down_until = time.monotonic() + STORAGE_RETRY_SECONDS
            return getattr(self._fallback, method)(*args)

    def _ids(self, rule: str, key: str) -> tuple[str, str, str]:
        return (KEY_PREFIX, f"login-{rule}", key)

    def _retry_after(self, item: RateLimitItem, rule: str, key: str) -> int:
        stats = self._call("get_window_stats", item, *self._ids(rule, key))
        return max(1, math.ceil(stats.reset_time - time.time()))

    # -- sign-in ---------------------------------------------------------------------------

    def check_sign_in(self, username: str, address: str | None) -> Refusal | None:
        """Refuse, or count the coming attempt against the name (cleared on success)."""
        if not self.enabled:
            return None
        address_id = address_key(address)
        if not self._call("test", self.per_address, *self._ids("address", address_id)):
            return Refusal("address", self._retry_after(self.per_address, "address", address_id))
        name_id = account_key(username)
        if not self._call("hit", self.per_account, *self._ids("account", name_id)):
            return Refusal("account", self._retry_after(self.per_account, "account", name_id))
        return None

    def sign_in_failed(self, address: str | None) -> None:
        if self.enabled:
            self._call("hit", self.per_address, *self._ids("address", address_key(address)))

    def sign_in_succeeded(self, username: str) -> None:
        if self.enabled:
            self._call("clear", self.per_account, *self._ids("account", account_key(username)))

    #: An administrator's password reset lifts the account's lock too.
    unlock_account = sign_in_succeeded

    # -- the first administrator's setup code ----------------------------------------------

    def check_setup_code(self, address: str | None) -> Refusal | None:
        if not self.enabled:
            return None
        address_id = address_key(address)
        if not self._call("test", self.setup_code, *self._ids("setup_code", address_id)):
            return Refusal("setup_code", self._retry_after(self.setup_code, "setup_code", address_id))
        return None

    def setup_code_failed(self, address: str | None) -> None:
        if self.enabled:
            self._call("hit", self.setup_code, *self._ids("setup_code", address_key(address)))

    # -- the audit log -------------------------------------------------------------------

    def first_refusal(self, refusal: Refusal, username: str, address: str | None) -> bool:
        """True for the first refused attempt of this kind in a while: only that
        one is written to the audit log, so a flood cannot flood the log too."""
        key = account_key(username) if refusal.rule == "account" else address_key(address)
        return self._call("hit", AUDIT_ONCE_PER, KEY_PREFIX, f"login-audit-{refusal.rule}", key)

    def reset(self) -> None:
        """Forget every count (tests)."""
        self._fallback.storage.reset()
        if self.enabled:
            self._limiter.storage.reset()


def init_app(app: Flask) -> None:
    # One Limiter per app: Flask-Limiter keeps its storage on the object, so a
    # module-level one would mix the counts of two apps in one process.
    limiter = Limiter(get_remote_address, app=app)
    app.extensions[EXTENSION_KEY] = LoginThrottle(
        limiter,
        per_account=app.config["LOGIN_LIMIT_PER_ACCOUNT"],
        per_address=app.config["LOGIN_LIMIT_PER_ADDRESS"],
        setup_code=app.config["SETUP_CODE_LIMIT_PER_ADDRESS"],
    )


def current() -> LoginThrottle:
    return current_app.extensions[EXTENSION_KEY]
