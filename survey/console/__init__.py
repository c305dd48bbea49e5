"""Blueprint ``console``: the campaign office's pages (login required)."""

from flask import Blueprint

bp = Blueprint("console", __name__)

from . import (  # noqa: E402,F401
    api_tokens,
    imports,
    interviewer_quality,
    interviewers,
    paper,
    progress,
    results,
    review,
    setup,
    users,
    views,
)
