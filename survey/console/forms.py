"""Console forms. Choices that depend on the database (units, versions) are
filled in by the view; the values are checked again by the use cases."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.fields import DateTimeLocalField, SelectChoice
from wtforms.validators import (
    DataRequired,
    EqualTo,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

from ..usecases.users import MIN_PASSWORD_LENGTH
from ..vocabulary import QUALITY_FLAGS, ROLES, ROUND_KINDS, Terms, lazy_label


def choices(pairs) -> list[SelectChoice]:
    """(value, label) pairs as WTForms choices (tuples are deprecated in WTForms 3.3)."""
    return [SelectChoice(value, label) for value, label in pairs]


def term_choices(terms: Terms, codes=None) -> list[SelectChoice]:
    """Choices of a vocabulary group (all its codes, or ``codes`` in that order), labelled in the interface language."""
    return choices((code, lazy_label(terms[code])) for code in (terms if codes is None else codes))


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=80)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


class UploadForm(FlaskForm):
    """One file: units, population (CSV/XLSX) or a questionnaire (YAML)."""

    file = FileField(_l("File"), validators=[FileRequired(_l("Choose a file to upload."))])


def _new_password(label) -> PasswordField:
    """A password being set: the same length rule wherever accounts get one."""
    return PasswordField(label, validators=[
        DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=200,
                               message=_l("The password must have at least %(n)s characters.", n=MIN_PASSWORD_LENGTH))])


class UserForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=80)])
    password = _new_password(_l("Password"))
    role = SelectField(_l("Role"), choices=term_choices(ROLES, ("staff", "viewer", "admin")))
    unit = SelectField(_l("Unit (for unit staff)"), coerce=int, choices=[], validate_choice=False)

    def validate_unit(self, field):
        if self.role.data == "staff" and not field.data:
            raise ValidationError(_l("Unit staff need a unit: the unit whose data they may see."))


class FirstAdminForm(FlaskForm):
    #: Printed by ``flask init-db``: only someone who installed the site can claim it.
    setup_code = StringField(_l("Setup code"), validators=[DataRequired(), Length(max=40)])
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=80)])
    password = _new_password(_l("Password"))
    confirm = PasswordField(_l("Password again"), validators=[
        DataRequired(), EqualTo("password", message=_l("The two passwords differ."))])


class PasswordResetForm(FlaskForm):
    password = _new_password(_l("New password"))


class PasswordChangeForm(FlaskForm):
    """A signed-in user's own password."""

    current = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=200)])
    password = _new_password(_l("New password"))
    confirm = PasswordField(_l("New password again"), validators=[
        DataRequired(), EqualTo("password", message=_l("The two passwords differ."))])


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class RoundForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    kind = RadioField(_l("Kind"), choices=term_choices(ROUND_KINDS), default="drill")
    questionnaire_version = SelectField(_l("Questionnaire version"), coerce=int, choices=[])
    unit = SelectField(_l("Area"), coerce=int, choices=[])
    #: Local time in the office's time zone (Asia/Shanghai); stored in UTC.
    opens_at = DateTimeLocalField(_l("Opens (Beijing time)"), format="%Y-%m-%dT%H:%M", validators=[InputRequired()])
    closes_at = DateTimeLocalField(_l("Closes (Beijing time)"), format="%Y-%m-%dT%H:%M", validators=[InputRequired()])
    one_response_per_device = RadioField(_l("One response per phone"),
                                         choices=choices([("yes", _l("Yes")), ("no", _l("No"))]),
                                         default="yes")
    excluded_flags = MultiCheckboxField(_l("Leave out of the results responses flagged"),
                                        choices=term_choices(QUALITY_FLAGS),
                                        default=["too_fast"])

    def validate_closes_at(self, field):
        if self.opens_at.data and field.data and field.data <= self.opens_at.data:
            raise ValidationError(_l("The round must close after it opens."))


class SiteChannelForm(FlaskForm):
    unit = SelectField(_l("Unit"), coerce=int, choices=[])
    site = StringField(_l("Site"), validators=[DataRequired(), Length(max=100)],
                       description=_l("Where the poster hangs, e.g. 北门公告栏"))


class AllocateForm(FlaskForm):
    """The "split a total" suggestion (read with GET; nothing is saved)."""

    class Meta:
        csrf = False

    total = IntegerField(_l("Total interviews"), validators=[Optional(), NumberRange(min=1, max=10_000_000)])
    minimum = IntegerField(_l("At least per community"), validators=[Optional(), NumberRange(min=0)], default=30)


class ConfirmForm(FlaskForm):
    """A button that changes something: only the CSRF token."""


def parse_percentages(form_data, keys, prefix: str) -> tuple[dict[str, float | None], dict[str, str]]:
    """Fields ``<prefix><key>`` holding a percentage (blank = None) -> shares in (0, 1], and errors by key."""
    values: dict[str, float | None] = {}
    errors: dict[str, str] = {}
    for key in keys:
        raw = (form_data.get(f"{prefix}{key}") or "").strip().rstrip("%")
        if not raw:
            values[key] = None
            continue
        try:
            number = float(raw)
        except ValueError:
            number = -1.0
        if not 0 < number <= 100:
            errors[key] = str(_l("Give a percentage above 0 and at most 100, or leave it blank."))
        else:
            values[key] = number / 100
    return values, errors


def parse_counts(form_data, keys, prefix: str) -> tuple[dict, dict]:
    """Fields ``<prefix><key>`` holding a whole number of 0 or more (blank = None), and errors by key."""
    values: dict = {}
    errors: dict = {}
    for key in keys:
        raw = (form_data.get(f"{prefix}{key}") or "").strip()
        if not raw:
            values[key] = None
        elif raw.isdigit() and len(raw) <= 7:
            values[key] = int(raw)
        else:
            errors[key] = str(_l("Give a whole number of 0 or more, or leave it blank."))
    return values, errors


__all__ = ["AllocateForm", "ConfirmForm", "LoginForm", "PasswordResetForm", "RoundForm",
           "SiteChannelForm", "UploadForm", "UserForm"]


class ExclusionsForm(FlaskForm):
    excluded_flags = MultiCheckboxField(_l("Leave out of the results responses flagged"),
                                        choices=term_choices(QUALITY_FLAGS))
