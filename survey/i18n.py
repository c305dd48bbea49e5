"""Language choice: Chinese unless the person picked English.

The browser's Accept-Language is deliberately not consulted: the product
speaks Chinese by default, and a resident whose phone is set to English
still expects the community's questionnaire in Chinese until they ask.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, g, has_request_context, request
from flask_babel import Babel, refresh

LANG_COOKIE = "minyi_lang"


def select_locale() -> str:
    if not has_request_context():  # command line: the default language
        from flask import current_app

        return current_app.config["BABEL_DEFAULT_LOCALE"]
    return getattr(g, "locale", None) or _requested_locale()


def _requested_locale() -> str:
    from flask import current_app

    languages = current_app.config["LANGUAGES"]
    for candidate in (request.args.get("lang"), request.cookies.get(LANG_COOKIE)):
        if candidate in languages:
            return candidate
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def init_i18n(app: Flask, babel: Babel) -> None:
    app.config.setdefault(
        "BABEL_TRANSLATION_DIRECTORIES", str(Path(__file__).parent / "translations")
    )
    babel.init_app(app, locale_selector=select_locale)

    @app.before_request
    def _remember_locale() -> None:
        g.locale = _requested_locale()
        # Flask-Babel caches locale and catalog on the app context; a context
        # that outlives one request (tests, CLI) must not keep the last one's.
        refresh()

    @app.after_request
    def _keep_lang_choice(response):
        chosen = request.args.get("lang")
        if chosen in app.config["LANGUAGES"] and request.cookies.get(LANG_COOKIE) != chosen:
            response.set_cookie(LANG_COOKIE, chosen, max_age=365 * 24 * 3600, samesite="Lax")
        return response

    @app.context_processor
    def _locale_in_templates():
        return {"current_locale": select_locale()}
