"""Importing a file of answers into a round: upload, preview, confirm.

    GET  /rounds/<id>/import           the upload form
    POST /rounds/<id>/import           keep the file (``PendingImport``), 303 to its preview
    GET  /rounds/<id>/import/<token>   what would be stored, and which column answers which
                                       question (choices sent back as the query string)
    POST /rounds/<id>/import/<token>   store it as previewed: all rows or none

Administrators only (403 for staff and viewers); the upload is its
uploader's alone (another user's token: 404) and is gone once imported.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from ..errors import HTTP_MESSAGES, page
from ..extensions import db
from ..models import PendingImport, Round
from ..models.types import utcnow
from ..usecases import response_import
from . import bp
from .auth import admin_only, round_or_404
from .forms import UploadForm

SOURCE_LABELS = {"wjx": _l("Wenjuanxing"), "minyi": _l("Minyi export"), "table": _l("Other table")}
#: Room for the multipart envelope around the largest file taken.
UPLOAD_BODY_BYTES = response_import.MAX_UPLOAD_BYTES + 512 * 1024
#: Query and form fields naming a column's question: ``col<index>``.
COLUMN_FIELD = "col"


@bp.url_value_preprocessor
def _room_for_answer_files(endpoint: str | None, values: dict | None) -> None:
    """A file of answers may be ten times as large as any other request
    (``MAX_CONTENT_LENGTH``). Set here because URL value preprocessors run
    before every ``before_request`` hook, and ``survey.input_guard`` reads
    the form in the first of them."""
    if endpoint == "console.import_upload" and request.method == "POST":
        request.max_content_length = UPLOAD_BODY_BYTES


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(exc: RequestEntityTooLarge):
    """A file beyond the limit: the upload form again, saying so (other pages: the usual 413)."""
    if request.endpoint == "console.import_upload" and request.view_args:
        return _refuse_large_upload(request.view_args["round_id"])
    title, message = HTTP_MESSAGES[413]
    return page(413, title, message)


@admin_only
def _refuse_large_upload(round_id: int):
    round_ = round_or_404(round_id)
    limit = response_import.MAX_UPLOAD_BYTES // (1024 * 1024)
    return _upload_page(round_, UploadForm(formdata=None),
                        [_("The file is larger than %(mb)s MB. Split it into smaller files and import each.",
                           mb=limit)], 422)


def _upload_page(round_: Round, form: UploadForm, problems: list[str] | None = None, status: int = 200):
    return render_template("console/import_upload.html", round=round_, form=form, problems=problems or [],
                           max_mb=response_import.MAX_UPLOAD_BYTES // (1024 * 1024)), status


@bp.get("/rounds/<id:round_id>/import")
@admin_only
def import_form(round_id: int):
    """The upload form: which files are taken."""
    round_ = round_or_404(round_id)
    return _upload_page(round_, UploadForm(formdata=None))


@bp.post("/rounds/<id:round_id>/import")
@admin_only
def import_upload(round_id: int):
    """Keep the file until it is confirmed, then show its preview."""
    round_ = round_or_404(round_id)
    form = UploadForm()
    if not form.validate_on_submit():
        return _upload_page(round_, form, [str(e) for errors in form.errors.values() for e in errors], 422)
    upload = form.file.data
    try:
        pending = response_import.stash_upload(db.session, current_user, round_, upload.filename or "",
                                               upload.read(), utcnow())
    except response_import.ImportRefused as exc:
        return _upload_page(round_, form, exc.problems, 422)
    return redirect(url_for("console.import_preview", round_id=round_.id, token=pending.token), 303)


def _pending_or_404(round_: Round, token: str) -> PendingImport:
    pending = response_import.pending_upload(db.session, current_user, round_, token)
    if pending is None:
        abort(404)
    return pending


def _choices(fields: Mapping[str, str]) -> dict[int, str]:
    """Column index -> the question chosen for it, from ``col<index>`` fields."""
    out = {}
    for name, value in fields.items():
        digits = name[len(COLUMN_FIELD):]
        if name.startswith(COLUMN_FIELD) and digits.isdigit() and len(digits) <= 4:
            out[int(digits)] = value
    return out


def _preview(round_: Round, pending: PendingImport, fields: Mapping[str, str]):
    """The preview with the choices in ``fields``; ``(None, problems)`` when the file cannot be read."""
    try:
        return response_import.preview_upload(
            db.session, round_, pending, choices=_choices(fields), unit_column=fields.get("unit_column", ""),
            fixed_unit=fields.get("unit", ""), now=utcnow()), []
    except response_import.ImportRefused as exc:
        return None, exc.problems


def _preview_page(round_: Round, pending: PendingImport, preview, problems: list[str], status: int = 200):
    questionnaire = round_.questionnaire_version.parsed
    return render_template(
        "console/import_preview.html", round=round_, pending=pending, preview=preview, problems=problems,
        plan=preview.plan if preview else None, questions=questionnaire.questions,
        question_by_id={q.id: q for q in questionnaire.questions},
        source_label=SOURCE_LABELS.get(preview.plan.source, "") if preview else "",
        communities=response_import.round_communities(round_),
    ), status


@bp.get("/rounds/<id:round_id>/import/<token>")
@admin_only
def import_preview(round_id: int, token: str):
    """What the upload would store, with the columns beside the questions (choices in the query string)."""
    round_ = round_or_404(round_id)
    pending = _pending_or_404(round_, token)
    preview, problems = _preview(round_, pending, request.args)
    return _preview_page(round_, pending, preview, problems)


@bp.post("/rounds/<id:round_id>/import/<token>")
@admin_only
def import_confirm(round_id: int, token: str):
    """Store the upload as previewed (all rows or none), keep the user's column choices, forget the file."""
    round_ = round_or_404(round_id)
    pending = _pending_or_404(round_, token)
    preview, problems = _preview(round_, pending, request.form)
    if preview is None or preview.plan.problems:
        return _preview_page(round_, pending, preview, problems, 422)
    record = response_import.confirm_upload(db.session, current_user, round_, pending, preview, utcnow())
    flash(_("%(n)s responses imported (%(m)s more had been imported before).", n=record.stored,
            m=record.duplicates), "ok")
    return redirect(url_for("console.round_channels", round_id=round_.id))
