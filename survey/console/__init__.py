"""Blueprint ``console``: the campaign office's pages (login required)."""

from flask import Blueprint

bp = Blueprint("console", __name__)

from . import api_tokens, interviewer_quality, interviewers, paper, progress, results, review, setup, users, views  # noqa: E402,F401
