"""Browser-facing hardening, in one place: security headers on every
response, ``Secure`` on every cookie sent over HTTPS, and the client's real
address and scheme behind a configured number of reverse proxies.

Written by hand rather than with Flask-Talisman: Talisman's defaults
(redirect to HTTPS, a session cookie that is always ``Secure``) would break
the demo on http://127.0.0.1 and had to be switched off one by one, it trusts
``X-Forwarded-Proto`` from anyone rather than from the proxies ProxyFix
counts, and it cannot mark the other cookies (device, language) ``Secure``.
"""

from __future__ import annotations

from flask import Flask, Response, current_app, has_request_context, request
from werkzeug.middleware.proxy_fix import ProxyFix

#: No inline script or style anywhere: every page's CSS and JavaScript is a
#: file under survey/static/ (a test scans the templates and pages).
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])

#: Nothing here uses the camera, microphone, location, payment or USB.
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"

#: ``same-origin`` rather than ``no-referrer``: residents' QR tokens are in
#: the URLs and must not leave the site (no Referer at all goes to another
#: origin), but over HTTPS Flask-WTF refuses a form POST without a
#: same-origin Referer (WTF_CSRF_SSL_STRICT), so ``no-referrer`` would turn
#: every resident's submission into a "page expired" error.
REFERRER_POLICY = "same-origin"

#: One year; no includeSubDomains, other sites may live under the same domain.
HSTS = "max-age=31536000"

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": REFERRER_POLICY,
    "Permissions-Policy": PERMISSIONS_POLICY,
}


def cookies_must_be_secure() -> bool:
    """True while answering a request that came over HTTPS (as ProxyFix sees
    it, when behind a trusted proxy), or always on a site set HTTPS-only."""
    if not has_request_context():
        return False
    return bool(current_app.config.get("HTTPS_ONLY")) or request.is_secure


class SecureCookieResponse(Response):
    """Every cookie set on a response to an HTTPS request gets ``Secure``:
    the session (and the CSRF token in it), the resident's device cookie and
    the language choice, and any cookie added later, without each caller
    remembering to."""

    def set_cookie(self, key, value="", *args, secure=False, **kwargs):
        super().set_cookie(key, value, *args, secure=secure or cookies_must_be_secure(), **kwargs)


def _add_security_headers(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def init_app(app: Flask) -> None:
    proxies = app.config["TRUSTED_PROXIES"]
    if proxies:
        # Each trusted proxy appends one X-Forwarded-* value; only those are
        # believed, so a client cannot forge its address by sending its own.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    if app.config.get("HTTPS_ONLY"):
        app.config["SESSION_COOKIE_SECURE"] = True
    app.response_class = SecureCookieResponse
    app.after_request(_add_security_headers)
