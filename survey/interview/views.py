"""The interviewer's phone. Thin: the use cases are in
``survey.usecases.fieldwork``, the quota in ``survey.queries.fieldwork``."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

from flask import abort, current_app, jsonify, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import InputRequired, Length

from ..extensions import csrf, db
from ..models import Interviewer
from ..models.types import utcnow
from ..queries import fieldwork as fieldwork_queries
from ..templating import answer_error_message
from ..usecases import fieldwork, integrity
from . import bp

#: What the service worker keeps for offline use besides the page itself.
OFFLINE_ASSETS = ("site.css", "questions.js", "interview.js", "favicon.svg")


class JoinForm(FlaskForm):
    name = StringField(validators=[InputRequired(), Length(max=fieldwork.NAME_MAX_LENGTH)])


def _signed_in() -> Interviewer | None:
    cookie = request.cookies.get(current_app.config["INTERVIEWER_COOKIE_NAME"])
    return fieldwork.interviewer_from_cookie(db.session, current_app.config["SECRET_KEY"], cookie)


@bp.route("/i/join/<code>", methods=["GET", "POST"])
def join(code: str):
    """A volunteer claims a sign-up code with their name; the phone is then signed in."""
    now = utcnow()
    interviewer = fieldwork.find_signup(db.session, code, now)
    if interviewer is None:
        return render_template("interview/join.html", interviewer=None, form=None, problems=[]), 404
    form = JoinForm()
    problems: list[str] = []
    if form.validate_on_submit():
        try:
            cookie = fieldwork.claim_signup(db.session, interviewer, form.name.data,
                                            current_app.config["SECRET_KEY"], now)
        except fieldwork.FieldworkRefused as exc:
            problems.append(str(exc))
        else:
            response = redirect(url_for("interview.home"), code=303)
            response.set_cookie(current_app.config["INTERVIEWER_COOKIE_NAME"], cookie,
                                max_age=current_app.config["INTERVIEWER_COOKIE_MAX_AGE"],
                                path="/i/", httponly=True, samesite="Lax")
            return response
    elif request.method == "POST":
        problems.append(_name_problem(form))
    status = 422 if problems else 200
    return render_template("interview/join.html", interviewer=interviewer, form=form, problems=problems), status


def _name_problem(form: JoinForm) -> str:
    if form.csrf_token.errors:
        return _("The page had expired. Please enter your name again.")
    return _("Enter your name (at most %(n)s characters).", n=fieldwork.NAME_MAX_LENGTH)


def _state(interviewer: Interviewer) -> dict:
    """What the phone shows besides the form: who, which round, the quota."""
    now = utcnow()
    round_ = interviewer.round
    communities = fieldwork.communities_of(db.session, interviewer)
    quotas = fieldwork_queries.quota_view(db.session, interviewer, communities)
    return {
        "interviewer": {"id": interviewer.id, "name": interviewer.name, "practice_only": interviewer.practice_only},
        "round": {"name": round_.name, "state": round_.state_at(now),
                  "opens_at": int(round_.opens_at.timestamp() * 1000),
                  "closes_at": int(round_.closes_at.timestamp() * 1000)},
        "units": [{"code": u.code, "name": u.name, "quota": u.quota, "done": u.done, "mine": u.mine,
                   "missing": u.missing,
                   "cells": [{"gender": c.gender_label, "age": c.age_label, "target": c.target, "done": c.done,
                              "missing": c.missing} for c in u.cells]} for u in quotas],
        "server_time": int(now.timestamp() * 1000),
    }


@bp.get("/i/")
def home():
    """The interviewer's page: works offline once loaded (service worker)."""
    interviewer = _signed_in()
    if interviewer is None:
        return render_template("interview/signed_out.html"), 401
    round_ = interviewer.round
    questionnaire = round_.questionnaire_version.parsed
    html = render_template(
        "interview/home.html", interviewer=interviewer, round=round_, questionnaire=questionnaire,
        questions=questionnaire.interview_order, communities=fieldwork.communities_of(db.session, interviewer),
        state=_state(interviewer),
    )
    response = make_response(html)
    response.headers["Cache-Control"] = "private, no-cache"
    return response


def _asset_urls() -> list[str]:
    return [url_for("static", filename=name) for name in OFFLINE_ASSETS]


@bp.get("/i/sw.js")
def service_worker():
    """The service worker: keeps the page and its files for offline use."""
    assets = _asset_urls()
    template_path = current_app.jinja_env.get_or_select_template("interview/sw.js").filename or ""
    with open(template_path, "rb") as f:
        version = hashlib.sha256(json.dumps(assets).encode() + f.read()).hexdigest()[:12]
    body = render_template("interview/sw.js", version=version, shell=url_for("interview.home"), assets=assets)
    response = make_response(body)
    response.mimetype = "text/javascript"
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/i/api/state")
def state():
    interviewer = _signed_in()
    if interviewer is None:
        return jsonify(error="signed_out"), 401
    response = jsonify(_state(interviewer))
    response.headers["Cache-Control"] = "no-store"
    return response


def _cross_site() -> bool:
    """A request another site's page made: refused (the cookie is Lax, and
    this endpoint is CSRF-exempt because the phone may send days later)."""
    if request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
        return True
    origin = request.headers.get("Origin")
    return origin is not None and origin.rstrip("/") != request.host_url.rstrip("/")


@bp.post("/i/api/sync")
@csrf.exempt
def sync():
    """A batch of questionnaires from the phone's queue; answers per item."""
    if _cross_site() or not request.is_json:
        abort(400)
    interviewer = _signed_in()
    if interviewer is None:
        return jsonify(error="signed_out"), 401
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return jsonify(error="unreadable"), 400
    config = current_app.config
    context = fieldwork.SyncContext(
        now=utcnow(), phone_now=fieldwork.phone_time(body.get("phone_now")),
        rules=integrity.rules_from_config(config), min_seconds=integrity.seconds_by_mode(config)["interviewer"],
        grace=timedelta(seconds=config["INTERVIEW_SYNC_GRACE_SECONDS"]),
    )
    try:
        outcomes = fieldwork.sync_batch(db.session, interviewer, body.get("items"), context)
    except fieldwork.FieldworkRefused as exc:
        return jsonify(error="batch", message=str(exc)), 400
    return jsonify(results=[{
        "key": o.key, "status": o.status, "practice": o.practice,
        "confirmed_at": int(o.confirmed_at.timestamp() * 1000) if o.confirmed_at else None,
        "problems": o.problems,
        "errors": {qid: answer_error_message(error) for qid, error in o.errors.items()},
    } for o in outcomes], state=_state(interviewer))
