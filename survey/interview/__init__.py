"""Blueprint ``interview``: the volunteer interviewer's phone (``/i/``):
claiming a sign-up code, the offline-capable questionnaire page, its
service worker, and the sync endpoint the phone sends its queue to."""

from flask import Blueprint

bp = Blueprint("interview", __name__)

from . import views  # noqa: E402,F401
