"""Set-up pages: units and population, questionnaires (upload, preview),
rounds (create, targets, quotas, open/close, site channels)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from questions import QuestionnaireError

from .. import transactions
from ..exceptions import SetupError
from ..extensions import db
from ..infrastructure.tables import TableError
from ..models import QuestionnaireVersion, Round, Unit
from ..models.types import utcnow
from ..queries import access, listings
from ..usecases import audit, round_setup
from ..usecases.questionnaires import import_questionnaire, read_questionnaire_file
from ..usecases.units import import_population, import_units, population_categories
from . import bp
from .auth import (
    admin_only,
    can_change,
    round_or_404,
    signed_in,
    unit_or_404,
    version_or_404,
    visible_unit_ids,
)
from .forms import (
    AllocateForm,
    ConfirmForm,
    ExclusionsForm,
    RoundForm,
    SiteChannelForm,
    UploadForm,
    choices,
    parse_counts,
    parse_percentages,
)


def _office_tz() -> ZoneInfo:
    return ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])


def _local_to_utc(value: datetime) -> datetime:
    """A naive time typed in the office's zone (Asia/Shanghai) -> aware UTC."""
    return value.replace(tzinfo=_office_tz()).astimezone(ZoneInfo("UTC"))


def site_channel_choices(round_: Round, visible: set[int] | None) -> list[tuple[int, str]]:
    """Units of the round's area the user may add a site channel to."""
    units = [round_.unit, *round_.unit.descendants()]
    return [(u.id, u.full_name) for u in units if visible is None or u.id in visible]


# --- units and population ---------------------------------------------------

def _units_page(problems: list[str] | None = None, which: str | None = None, status: int = 200):
    units = listings.all_units(db.session)
    return render_template(
        "console/units.html",
        tops=access.top_units(db.session, current_user),
        population=round_setup.population_totals(db.session, units),
        units_form=UploadForm(prefix="units"),
        population_form=UploadForm(prefix="population"),
        categories=population_categories(db.session).labels if can_change() else None,
        problems=problems or [],
        which=which,
        can_change=can_change(),
    ), status


@bp.get("/units")
@signed_in
def units():
    """The unit tree with population totals (staff: their own subtree)."""
    return _units_page()


def _upload(kind: str, importer, audit_action: str, message):
    form = UploadForm(prefix=kind)
    if not form.validate_on_submit():
        problems = [str(e) for errors in form.errors.values() for e in errors]
        return _units_page(problems, kind, 422)
    upload = form.file.data
    try:
        result = importer(db.session, upload.filename or "", upload.read())
        audit.record(db.session, current_user, audit_action, upload.filename or "", **result)
    except TableError as exc:
        return _units_page(exc.problems, kind, 422)
    flash(message(result), "info")
    return redirect(url_for("console.units"))


@bp.post("/units/import")
@admin_only
def import_units_upload():
    """Create or update units from CSV/XLSX; all or nothing."""
    return _upload("units", import_units, "units.import",
                   lambda r: _("Units imported: %(created)s created, %(updated)s updated.", **r))


@bp.post("/population/import")
@admin_only
def import_population_upload():
    """Replace population figures of the units in the file; all or nothing."""
    return _upload("population", import_population, "population.import",
                   lambda r: _("Population imported: %(cells)s cells for %(units)s units.", **r))


# --- questionnaires ---------------------------------------------------------

def _questionnaires_page(form: UploadForm | None = None, problems: list[str] | None = None, status: int = 200):
    versions = listings.questionnaire_versions(db.session)
    return render_template("console/questionnaires.html", versions=versions, form=form or UploadForm(),
                           problems=problems or [], can_change=can_change()), status


@bp.get("/questionnaires")
@signed_in
def questionnaires():
    """Questionnaire versions, with preview links and (administrators) the upload form."""
    return _questionnaires_page()


@bp.post("/questionnaires")
@admin_only
def upload_questionnaire():
    """Validate and store a questionnaire file (YAML) as a version."""
    form = UploadForm()
    if not form.validate_on_submit():
        return _questionnaires_page(form, [str(e) for errs in form.errors.values() for e in errs], 422)
    name = form.file.data.filename or "questionnaire.yaml"
    try:
        data = read_questionnaire_file(name, form.file.data.read())
        version, new = import_questionnaire(db.session, data, source=name)
    except QuestionnaireError as exc:
        return _questionnaires_page(form, [str(p) for p in exc.problems], 422)
    except SetupError as exc:
        return _questionnaires_page(form, [str(exc)], 422)
    if new:
        audit.record(db.session, current_user, "questionnaire.import", f"questionnaire_version:{version.id}",
                     code=version.questionnaire.code, version=version.version, file=name)
        flash(_("Stored version %(v)s of %(code)s.", v=version.version, code=version.questionnaire.code), "info")
    else:
        flash(_("Version %(v)s of %(code)s is already stored with the same content.", v=version.version,
                code=version.questionnaire.code), "info")
    return redirect(url_for("console.questionnaires"))


@bp.get("/questionnaires/<id:version_id>/preview")
@signed_in
def preview_questionnaire(version_id: int):
    """The questionnaire exactly as a resident sees it; the form sends nothing."""
    version = version_or_404(version_id)
    communities = access.visible_communities(db.session, current_user)
    return render_template("console/preview.html", version=version, questionnaire=version.parsed,
                           communities={u.code: u.name for u in communities})


# --- rounds -----------------------------------------------------------------

def _round_form() -> RoundForm:
    form = RoundForm()
    versions = listings.questionnaire_versions(db.session)
    form.questionnaire_version.choices = choices((v.id, f"{v.questionnaire.title} · v{v.version}") for v in versions)
    form.unit.choices = choices((u.id, u.full_name) for u in listings.round_area_choices(db.session))
    return form


@bp.route("/rounds/new", methods=["GET", "POST"])
@admin_only
def new_round():
    """Create a round (drill or official) with one QR channel per community."""
    form = _round_form()
    problems: list[str] = []
    if form.validate_on_submit():
        try:
            round_ = round_setup.create_round_with_channels(
                db.session, current_user,
                name=form.name.data, kind=form.kind.data,
                questionnaire_version=db.session.get(QuestionnaireVersion, form.questionnaire_version.data),
                unit=db.session.get(Unit, form.unit.data),
                opens_at=_local_to_utc(form.opens_at.data), closes_at=_local_to_utc(form.closes_at.data),
                one_response_per_device=form.one_response_per_device.data == "yes",
                excluded_flags=form.excluded_flags.data or [],
            )
        except SetupError as exc:
            problems.append(str(exc))
        else:
            flash(_("Round created with %(n)s QR channels. Set its targets and quotas below.",
                    n=len(round_.channels)), "info")
            return redirect(url_for("console.round_setup_page", round_id=round_.id))
    status = 422 if request.method == "POST" else 200
    return render_template("console/round_new.html", form=form, problems=problems), status


def _setup_page(round_: Round, *, target_values=None, target_errors=None, quota_values=None, quota_errors=None,
                suggestion=None, problems=None, statistics_values=None, statistics_errors=None, status=200):
    questionnaire = round_.questionnaire_version.parsed
    communities = round_setup.round_communities(round_)
    populations = round_setup.population_totals(db.session, communities)
    current_quotas = {q.unit_id: q.quota for q in round_.quotas}
    if quota_values is None:
        quota_values = dict(current_quotas)
        if suggestion is not None:
            quota_values.update(suggestion.quotas)
    if target_values is None:
        target_values = {k: v for k, v in (round_.targets or {}).items()}
    return render_template(
        "console/round_setup.html", round=round_, indicators=questionnaire.indicators,
        defaults=questionnaire.targets, target_values=target_values, target_errors=target_errors or {},
        communities=communities, populations=populations, quota_values=quota_values,
        quota_errors=quota_errors or {}, suggestion=suggestion, allocate_form=AllocateForm(request.args),
        statistics_values=statistics_values or {"min_verdict_respondents": round_.min_verdict_respondents,
                                                "min_weighting_cell": round_.min_weighting_cell},
        statistics_errors=statistics_errors or {},
        confirm=ConfirmForm(), problems=problems or [], now=utcnow(), tz=str(_office_tz()),
        exclusions_form=ExclusionsForm(excluded_flags=list(round_.excluded_flags or [])),
    ), status


@bp.get("/rounds/<id:round_id>/setup")
@admin_only
def round_setup_page(round_id: int):
    """Targets, quotas (with suggestions from the planner), open and close."""
    round_ = round_or_404(round_id)
    suggestion = None
    problems = []
    method = request.args.get("suggest")
    if method in ("sample_size", "allocate"):
        form = AllocateForm(request.args)
        try:
            if method == "allocate" and not form.validate():
                raise SetupError(" ".join(str(e) for errs in form.errors.values() for e in errs))
            suggestion = round_setup.suggest_quotas(db.session, round_, method, total=form.total.data,
                                                    minimum=form.minimum.data or 0)
        except SetupError as exc:
            problems.append(str(exc))
    return _setup_page(round_, suggestion=suggestion, problems=problems)


@bp.post("/rounds/<id:round_id>/targets")
@admin_only
def set_round_targets(round_id: int):
    """Save the round's own targets (blank: the questionnaire's default)."""
    round_ = round_or_404(round_id)
    form = ConfirmForm()
    indicators = list(round_.questionnaire_version.parsed.indicators)
    values, errors = parse_percentages(request.form, indicators, "target_")
    if not form.validate_on_submit() or errors:
        raw = {k: request.form.get(f"target_{k}", "") for k in indicators}
        return _setup_page(round_, target_values=raw, target_errors=errors, status=422)
    try:
        round_setup.set_targets(db.session, current_user, round_, values)
    except SetupError as exc:
        return _setup_page(round_, problems=[str(exc)], status=422)
    flash(_("Targets saved."), "info")
    return redirect(url_for("console.round_setup_page", round_id=round_.id))


@bp.post("/rounds/<id:round_id>/statistics")
@admin_only
def set_round_statistics(round_id: int):
    """Save when a unit's data carry a verdict and the least answers per weighting cell."""
    round_ = round_or_404(round_id)
    form = ConfirmForm()
    fields = ("min_verdict_respondents", "min_weighting_cell")
    values, errors = parse_counts(request.form, fields, "")
    low, high = round_setup.STATISTICS_SETTING_RANGE
    for name in fields:
        if name not in errors and (values[name] is None or not low <= values[name] <= high):
            errors[name] = _("Give a whole number from %(low)s to %(high)s.", low=low, high=high)
    if not form.validate_on_submit() or errors:
        return _setup_page(round_, statistics_errors=errors,
                           statistics_values={k: request.form.get(k, "") for k in fields}, status=422)
    round_setup.set_statistics(db.session, current_user, round_, **values)
    flash(_("Statistics settings saved."), "info")
    return redirect(url_for("console.round_setup_page", round_id=round_.id))


@bp.post("/rounds/<id:round_id>/exclusions")
@admin_only
def set_round_exclusions(round_id: int):
    """Choose which flagged responses the results leave out (burst included)."""
    round_ = round_or_404(round_id)
    form = ExclusionsForm()
    if not form.validate_on_submit():
        return _setup_page(round_, problems=[_("Choose from the listed flags.")], status=422)
    round_setup.set_excluded_flags(db.session, current_user, round_, form.excluded_flags.data or [])
    flash(_("The choice of flagged responses to leave out is saved."), "info")
    return redirect(url_for("console.round_setup_page", round_id=round_.id))


@bp.post("/rounds/<id:round_id>/quotas")
@admin_only
def set_round_quotas(round_id: int):
    """Save the quota per community (blank: no quota)."""
    round_ = round_or_404(round_id)
    form = ConfirmForm()
    ids = [u.id for u in round_setup.round_communities(round_)]
    values, errors = parse_counts(request.form, ids, "quota_")
    if not form.validate_on_submit() or errors:
        raw = {i: request.form.get(f"quota_{i}", "") for i in ids}
        return _setup_page(round_, quota_values=raw, quota_errors=errors, status=422)
    try:
        round_setup.set_quotas(db.session, current_user, round_, values)
    except SetupError as exc:
        return _setup_page(round_, problems=[str(exc)], status=422)
    flash(_("Quotas saved."), "info")
    return redirect(url_for("console.round_setup_page", round_id=round_.id))


@bp.post("/rounds/<id:round_id>/<any(open, close):action>")
@admin_only
def open_or_close_round(round_id: int, action: str):
    """Open a round now, or close it now."""
    round_ = round_or_404(round_id)
    if not ConfirmForm().validate_on_submit():
        return _setup_page(round_, problems=[_("The form has expired; please try again.")], status=400)
    change = round_setup.open_now if action == "open" else round_setup.close_now
    try:
        change(db.session, current_user, round_, utcnow())
    except SetupError as exc:
        return _setup_page(round_, problems=[str(exc)], status=422)
    flash(_("The round is open.") if action == "open" else _("The round is closed."), "info")
    return redirect(url_for("console.round_setup_page", round_id=round_.id))


@bp.post("/rounds/<id:round_id>/channels")
@signed_in
def add_site_channel(round_id: int):
    """Add a QR channel for a site (administrators; staff within their units)."""
    round_ = round_or_404(round_id)
    if current_user.role not in ("admin", "staff"):
        abort(403)
    form = SiteChannelForm()
    form.unit.choices = choices(site_channel_choices(round_, visible_unit_ids()))
    unit_id = request.form.get("unit", type=int)
    unit = unit_or_404(unit_id)  # another unit's id answers 404, like its pages
    if not access.can_change_unit(db.session, current_user, unit):
        abort(403)
    if form.validate_on_submit():
        try:
            channel = round_setup.add_site_channel(db.session, current_user, round_, unit, form.site.data)
        except SetupError as exc:
            transactions.doom()
            flash(str(exc), "error")
        else:
            flash(_("Channel added: %(unit)s · %(site)s.", unit=unit.name, site=channel.site), "info")
    else:
        flash(" ".join(str(e) for errs in form.errors.values() for e in errs), "error")
    return redirect(url_for("console.round_channels", round_id=round_.id))
