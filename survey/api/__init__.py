"""Blueprint ``api``: JSON results for the office's own systems (token auth)."""

from flask import Blueprint

bp = Blueprint("api", __name__)

from . import views  # noqa: E402,F401
