"""Minyi (民意): the Flask application."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.routing import IntegerConverter

from .config import Config, load_config
from .database import configure_sqlite, end_sessions_safely
from .extensions import babel, csrf, db, login_manager
from .input_guard import MAX_ID


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app. No side effects beyond reading settings (and, on first
    run without SECRET_KEY, keeping a generated key in the instance folder)."""
    config = dict(config or {})
    # The instance folder holds the SQLite file and the generated secret key.
    instance_path = config.pop("INSTANCE_PATH", None) or os.environ.get("MINYI_INSTANCE_PATH")
    app = Flask(__name__, template_folder="../templates", instance_path=instance_path,
                instance_relative_config=True)
    app.config.from_object(Config)
    app.config.update(load_config(Path(app.instance_path), os.environ, config))
    configure_sqlite(app.config["SQLITE_BUSY_TIMEOUT_MS"])

    from . import assets, security

    security.init_app(app)
    assets.init_app(app)
    db.init_app(app)
    end_sessions_safely(app)  # after db.init_app: its teardown runs first
    csrf.init_app(app)
    login_manager.init_app(app)
    from .infrastructure import login_throttle

    login_throttle.init_app(app)
    from .i18n import init_i18n

    init_i18n(app, babel)
    register_blueprints(app)

    from . import cli, errors, input_guard, templating, transactions

    transactions.init_app(app)  # after the blueprints: it wraps their views

    errors.register(app)
    input_guard.register(app)
    templating.register(app)
    cli.register(app)
    return app


class IdConverter(IntegerConverter):
    """Row ids in URLs: 1 to 2**31 - 1, so a huge or zero id is a 404 rather
    than an out-of-range error from the database."""

    def __init__(self, url_map, *args, **kwargs):
        super().__init__(url_map, min=1, max=MAX_ID)


def register_blueprints(app: Flask) -> None:
    app.url_map.converters["id"] = IdConverter
    from .api import bp as api_bp
    from .console import bp as console_bp
    from .interview import bp as interview_bp
    from .public import bp as public_bp

    # The API authenticates every request by token; there is no session to forge.
    csrf.exempt(api_bp)
    app.register_blueprint(public_bp)
    app.register_blueprint(interview_bp)
    app.register_blueprint(api_bp, url_prefix="/api/v1")
    app.register_blueprint(console_bp, url_prefix="/console")
