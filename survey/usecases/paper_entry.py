"""Paper questionnaires typed in at the office: a drill run on paper reaches
the same results as one answered on phones.

The clerk types, for each question, the number of the chosen option as it
is printed on the sheet (1-based, in the questionnaire's option order;
several numbers for a multiple-choice question), numbers and text as they
are written; the community is chosen once for a batch of sheets. The typed
numbers become option codes here, and from there the answers take the
residents' path: ``evaluate_answers`` checks them, ``insert_response``
stores them once (``mode='paper'``, who typed them in, no QR channel, no
device or network), and the integrity checks flag what they flag on any
response (a typed-in sheet is never "too fast"; straight-lining still counts).

Each sheet is stored once. A sheet number (问卷编号, written on the sheet)
makes the key ``paper:<round id>:<sheet>``, so the same sheet typed twice
is stored once; without one, the random key the entry page carries makes a
double submit harmless.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from analysis.integrity import IntegrityRules
from questions import AnswerSet, Question, Questionnaire, evaluate_answers

from ..exceptions import SetupError
from ..models import Response, Round, Unit, User
from ..templating import answer_error_message
from . import audit
from .integrity import check_submission, seconds_by_mode
from .submission import find_response, insert_response, response_columns

MODE = "paper"
AUDIT_ACTION = "response.paper"
#: A sheet number: letters, digits and hyphens, as offices number their sheets.
SHEET_PATTERN = re.compile(r"[A-Za-z0-9-]{1,20}")
#: The random key of one entry form (``new_entry_key``), when the sheet has no number.
ENTRY_KEY_PATTERN = re.compile(r"[A-Za-z0-9_-]{16,43}")
#: What may separate the numbers of a multiple-choice answer: spaces, commas, 、 and semicolons.
SEPARATORS = re.compile(r"[\s,，、;；/]+")
#: Form field names: the batch's community, the sheet number, the entry key; "q_<id>" per question.
COMMUNITY_FIELD, SHEET_FIELD, KEY_FIELD = "community", "sheet", "entry_key"


class PaperEntryRefused(SetupError):
    """The round takes no paper questionnaires yet; the message says why."""


@dataclass(frozen=True)
class PaperRow:
    """One question as the entry page shows it: its number on the sheet, its
    options numbered as printed (empty for number and text questions)."""

    question: Question
    number: int

    @property
    def name(self) -> str:
        """The input's name in the entry form."""
        return field_name(self.question)

    @property
    def numbered_options(self) -> list[tuple[int, object]]:
        return list(enumerate((c.label for c in self.question.options), start=1))


@dataclass(frozen=True)
class PaperOutcome:
    """``stored`` (a new response), ``duplicate`` (the sheet or the form was
    stored before; ``same_answers`` says whether with these answers) or
    ``invalid`` (``errors``: field name -> message, in page order)."""

    status: str
    response: Response | None = None
    errors: dict[str, str] = field(default_factory=dict)
    sheet: str | None = None
    same_answers: bool = False


def field_name(question: Question) -> str:
    return f"q_{question.id}"


def numbered_questions(questionnaire: Questionnaire) -> list[PaperRow]:
    """Every question in the questionnaire's own order and numbering, as the
    resident's form numbers them and a printed sheet shows them; the entry
    page and its messages use these numbers."""
    return [PaperRow(q, n) for n, q in enumerate(questionnaire.questions, start=1)]


def typed_rows(questionnaire: Questionnaire) -> list[PaperRow]:
    """The rows the clerk types into: every question but the community one
    (chosen once for the batch)."""
    return [row for row in numbered_questions(questionnaire) if not row.question.kind.answers_unit]


def community_row(questionnaire: Questionnaire) -> PaperRow | None:
    """The questionnaire's community question, if it asks for one."""
    return next((row for row in numbered_questions(questionnaire) if row.question.kind.answers_unit), None)


def new_entry_key() -> str:
    """The random key a fresh entry form carries."""
    return secrets.token_urlsafe(24)


def clean_sheet(text: str | None) -> str | None:
    """The sheet number as stored in the key: full-width characters (a
    Chinese input method) made plain, letters in capitals; None when blank.

    :raises ValueError: not 1 to 20 letters, digits or hyphens.
    """
    sheet = unicodedata.normalize("NFKC", text or "").strip().upper()
    if not sheet:
        return None
    if not SHEET_PATTERN.fullmatch(sheet):
        raise ValueError(sheet)
    return sheet


def submission_key(round_: Round, community_code: str, sheet: str | None, entry_key: str) -> str:
    """``paper:<round>:<community>:<sheet>`` (each community's sheets may be
    numbered from 1), or ``paper:<round>:~<entry key>`` without a sheet
    number (``~`` is never part of a unit code, so the two kinds never meet)."""
    if sheet is None:
        return f"paper:{round_.id}:~{entry_key}"
    return f"paper:{round_.id}:{community_code}:{sheet}"[:64]


def ensure_round_takes_paper(round_: Round, now: datetime) -> None:
    """Paper is typed in during the round and after it (sheets come back
    late), never before it opens.

    :raises PaperEntryRefused: the round has not opened yet.
    """
    if round_.state_at(now) == "not_open":
        raise PaperEntryRefused(_("This round has not opened yet: paper questionnaires can be entered once it "
                                  "has opened."))


def _question_error(row: PaperRow, message: str) -> str:
    return _("Question %(n)s: %(message)s", n=row.number, message=message)


def option_codes(question: Question, typed: str) -> list[str]:
    """The option codes the typed numbers name (1 = the first option).

    :raises ValueError: with the message: a token that is no number, a
        number out of range, or several numbers for a single choice.
    """
    tokens = [t for t in SEPARATORS.split(unicodedata.normalize("NFKC", typed).strip()) if t]
    count = len(question.options)
    codes = []
    for token in tokens:
        if not (token.isascii() and token.isdigit()) or len(token) > 6:
            raise ValueError(_("Type the option's number (1 to %(count)s).", count=count))
        number = int(token)
        if not 1 <= number <= count:
            raise ValueError(_("There is no option %(value)s: type a number from 1 to %(count)s.",
                               value=number, count=count))
        codes.append(question.options[number - 1].code)
    if len(codes) > 1 and not question.kind.multiple:
        raise ValueError(_("Type one number only."))
    return codes


def raw_answers(questionnaire: Questionnaire, typed: Mapping[str, str],
                community_code: str | None) -> tuple[dict[str, list[str]], dict[str, str]]:
    """The typed values (field name -> text) as the form input
    ``evaluate_answers`` reads, and the messages of numbers that name no option."""
    raw: dict[str, list[str]] = {}
    problems: dict[str, str] = {}
    for row in numbered_questions(questionnaire):
        q = row.question
        if q.kind.answers_unit:
            raw[q.id] = [community_code] if community_code else []
            continue
        text = typed.get(row.name) or ""
        if q.kind.widget == "choices":
            try:
                raw[q.id] = option_codes(q, text)
            except ValueError as exc:
                problems[row.name] = _question_error(row, str(exc))
        else:
            raw[q.id] = [text]
    return raw, problems


def _asked(questionnaire: Questionnaire, answers: dict, screened_out_by: str | None) -> set[str]:
    """Ids of the questions the sheet asks, given its answers: as the form
    shows them (a condition met by an answer of a question asked), none
    after the question that screened the person out."""
    asked: set[str] = set()
    for q in questionnaire.interview_order:
        if q.show_if is None or (q.show_if.question in asked and q.show_if.is_met(answers)):
            asked.add(q.id)
        if q.id == screened_out_by:
            break
    return asked


def check_sheet(questionnaire: Questionnaire, typed: Mapping[str, str], community_code: str | None,
                communities: Mapping[str, str]) -> tuple[AnswerSet, dict[str, str]]:
    """The sheet's ``AnswerSet`` and its problems (field name -> message, in page order)."""
    raw, problems = raw_answers(questionnaire, typed, community_code)
    answer_set = evaluate_answers(questionnaire, {k: v for k, v in raw.items()
                                                  if field_name(questionnaire.question(k)) not in problems},
                                  community_options=dict(communities))
    asked = _asked(questionnaire, answer_set.answers, answer_set.screened_out_by)
    errors: dict[str, str] = {}
    if not community_code:
        errors[COMMUNITY_FIELD] = _("Choose the community these questionnaires come from.")
    for row in numbered_questions(questionnaire):
        if row.question.id not in asked or row.question.kind.answers_unit:
            continue
        if row.name in problems:
            errors[row.name] = problems[row.name]
        elif row.question.id in answer_set.errors:
            errors[row.name] = _question_error(row, answer_error_message(answer_set.errors[row.question.id]))
    return answer_set, errors


def enter_sheet(session: Session, round_: Round, user: User, *, community: Unit | None,
                communities: Mapping[str, str], sheet_text: str | None, entry_key: str | None,
                typed: Mapping[str, str], now: datetime, rules: IntegrityRules) -> PaperOutcome:
    """Check and store one paper questionnaire, once per sheet number (or
    entry form), for the community ``community`` (one of ``communities``,
    code -> name: those ``user`` may enter for). Audited. Flushes; the caller commits.

    :raises PaperEntryRefused: the round has not opened yet.
    """
    ensure_round_takes_paper(round_, now)
    errors: dict[str, str] = {}
    try:
        sheet = clean_sheet(sheet_text)
    except ValueError:
        sheet = None
        errors[SHEET_FIELD] = _("The sheet number may have 1 to 20 letters, digits or hyphens.")
    if sheet is None and SHEET_FIELD not in errors and not ENTRY_KEY_PATTERN.fullmatch(entry_key or ""):
        errors[KEY_FIELD] = _("The form has expired; please try again.")
    questionnaire = round_.questionnaire_version.parsed
    answer_set, problems = check_sheet(questionnaire, typed, community.code if community else None, communities)
    errors.update(problems)
    if errors:
        return PaperOutcome("invalid", errors=errors, sheet=sheet)

    key = submission_key(round_, community.code, sheet, entry_key or "")
    existing = find_response(session, key)
    if existing is None:
        checks = check_submission(questionnaire, answer_set.answers, 0.0, rules,
                                  min_seconds=seconds_by_mode()[MODE])
        values = response_columns(round_, answer_set, checks, mode=MODE, unit_id=community.id, submission_key=key,
                                  started_at=now, submitted_at=now, entered_by_id=user.id)
        response = insert_response(session, values)
        if response is not None:
            audit.record(session, user, AUDIT_ACTION, f"response:{response.id}", round=round_.id,
                         **({"sheet": sheet} if sheet else {}))
            session.flush()
            return PaperOutcome("stored", response, sheet=sheet)
        existing = find_response(session, key)  # a concurrent request stored it first
    return PaperOutcome("duplicate", existing, sheet=sheet,
                        same_answers=existing is not None and existing.answer_data == answer_set.answers)


def entered_count(session: Session, round_: Round, user: User) -> int:
    """How many paper questionnaires ``user`` has typed in for ``round_``."""
    return session.scalar(select(func.count(Response.id)).where(
        Response.round_id == round_.id, Response.mode == MODE, Response.entered_by_id == user.id)) or 0
