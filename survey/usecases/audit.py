"""Writing and reading the audit log. Every change made by office staff goes through here."""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from typing import IO, Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from questions.codebook import neutralize

from ..models import AuditEvent, User
from ..vocabulary import ROLES, lazy_label

CSV_COLUMNS = ["id", "created_at_utc", "username", "action", "target", "details"]


def record(session: Session, user: User | None, action: str, target: str = "", **details: Any) -> AuditEvent:
    """Add an audit event in the caller's transaction (so it commits, or
    rolls back, with the change it describes)."""
    # The target column holds 128 characters; a long uploaded file name must not fail the change it records.
    event = AuditEvent(user_id=user.id if user is not None else None, action=action, target=target[:128],
                       details=details)
    session.add(event)
    return event


#: What each action is called on the audit page (the log itself keeps the action's code).
ACTION_LABELS = {
    "login": _l("Signed in"),
    "login.failed": _l("Failed sign-in"),
    "login.throttled": _l("Sign-in refused: too many failed attempts"),
    "logout": _l("Signed out"),
    "setup_code.issue": _l("Setup code issued"),
    "setup_code.failed": _l("Wrong setup code"),
    "setup_code.throttled": _l("Setup code refused: too many wrong codes"),
    "user.create": _l("Account created"),
    "user.deactivate": _l("Account deactivated"),
    "user.reactivate": _l("Account reactivated"),
    "user.password_reset": _l("Password reset"),
    "user.password_change": _l("Own password changed"),
    "api_token.create": _l("API token created"),
    "api_token.revoke": _l("API token revoked"),
    "units.import": _l("Units imported"),
    "population.import": _l("Population imported"),
    "questionnaire.import": _l("Questionnaire imported"),
    "round.create": _l("Round created"),
    "round.open": _l("Round opened"),
    "round.close": _l("Round closed"),
    "round.targets": _l("Targets changed"),
    "round.quotas": _l("Quotas changed"),
    "round.statistics": _l("Statistics settings changed"),
    "round.exclusions": _l("Excluded flags changed"),
    "round.export": _l("Round data exported"),
    "round.delete": _l("Round deleted"),
    "round.purge_technical_data": _l("Technical data purged"),
    "channel.create": _l("QR channel created"),
    "response.void": _l("Response voided"),
    "response.restore": _l("Response restored"),
    "interviewer.exclude": _l("Interviewer's responses left out"),
    "interviewer.include": _l("Interviewer's responses counted again"),
    "response.paper": _l("Paper questionnaire entered"),
}

#: Names of the details on the audit page.
DETAIL_LABELS = {
    "username": _l("Account name"),
    "reason": _l("Reason"),
    "rule": _l("Rule"),
    "retry_after": _l("Locked for (seconds)"),
    "source": _l("Source (anonymised)"),
    "role": _l("Role"),
    "unit": _l("Unit"),
    "name": _l("Name"),
    "for_user": _l("For account"),
    "kind": _l("Kind"),
    "round": _l("Round"),
    "site": _l("Site"),
    "file": _l("File"),
    "code": _l("Code"),
    "version": _l("Version"),
    "questionnaire_version": _l("Questionnaire version"),
    "opens_at": _l("Opens"),
    "closes_at": _l("Closes"),
    "one_response_per_device": _l("One response per device"),
    "excluded_flags": _l("Excluded flags"),
    "channels": _l("QR channels"),
    "responses": _l("Responses"),
    "answers": _l("Answers stored"),
    "quotas": _l("Quotas"),
    "before": _l("Before the change"),
    "after": _l("After the change"),
    "created": _l("Created"),
    "updated": _l("Updated"),
    "cells": _l("Population cells"),
    "units": _l("Units"),
    "retention_days": _l("Retention (days)"),
    "voided_for": _l("Voided for"),
    "voided_by": _l("Voided by"),
    "excluded_for": _l("Left out for"),
    "sheet": _l("Sheet number"),
}

#: Coded detail values shown in words (sign-in outcomes and roles).
VALUE_LABELS = {
    ("reason", "unknown_account"): _l("no such account"),
    ("reason", "wrong_password"): _l("wrong password"),
    ("reason", "inactive"): _l("account deactivated"),
    ("rule", "account"): _l("failed attempts for this account"),
    ("rule", "address"): _l("failed attempts from this address"),
    ("rule", "setup_code"): _l("wrong setup codes from this address"),
    **{("role", code): lazy_label(term) for code, term in ROLES.items()},
}


def action_label(action: str) -> str:
    label = ACTION_LABELS.get(action)
    return str(label) if label is not None else action


#: What the targets' codes ("round:3") are called on the audit page.
TARGET_LABELS = {
    "user": _l("Account"),
    "round": _l("Round"),
    "channel": _l("QR channel"),
    "api_token": _l("API token"),
    "response": _l("Response"),
    "interviewer": _l("Interviewer"),
    "questionnaire_version": _l("Questionnaire version"),
}


def target_label(target: str) -> str:
    """``round:3`` as "轮次 #3"; anything else (a file name) as it is."""
    kind, _, ident = (target or "").partition(":")
    label = TARGET_LABELS.get(kind)
    return f"{label} #{ident}" if label is not None and ident.isdigit() else (target or "")


def detail_items(event: AuditEvent) -> list[tuple[str, str]]:
    """An event's details as (name, value) pairs in the reader's language."""
    items = []
    for key, value in (event.details or {}).items():
        if value is None:
            continue
        label = DETAIL_LABELS.get(key, key)
        shown = VALUE_LABELS.get((key, value)) if isinstance(value, str) else None
        if shown is None:
            if isinstance(value, bool):
                shown = _l("yes") if value else _l("no")
            elif isinstance(value, (dict, list)):
                shown = json.dumps(value, ensure_ascii=False, sort_keys=True)
            else:
                shown = value
        items.append((str(label), str(shown)))
    return items


@dataclass(frozen=True)
class EventPage:
    events: list[AuditEvent]
    page: int
    pages: int
    total: int


def events_page(session: Session, page: int = 1, per_page: int = 50) -> EventPage:
    """One page of the log, newest first (``page`` counts from 1 and is clamped)."""
    total = session.scalar(select(func.count()).select_from(AuditEvent)) or 0
    pages = max(1, math.ceil(total / per_page))
    page = min(max(1, page), pages)
    events = session.scalars(
        select(AuditEvent)
        .options(selectinload(AuditEvent.user))
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return EventPage(list(events), page, pages, total)


def write_csv(session: Session, out: IO[str]) -> int:
    """The whole log as CSV, newest first; every text cell is made inert for
    spreadsheets (usernames, unit names and site names are typed by people)."""
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    count = 0
    query = (
        select(AuditEvent)
        .options(selectinload(AuditEvent.user))
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
    )
    for event in session.scalars(query):
        writer.writerow([
            str(event.id),
            event.created_at.isoformat(),
            neutralize(event.user.username) if event.user is not None else "",
            neutralize(event.action),
            neutralize(event.target),
            neutralize(json.dumps(event.details or {}, ensure_ascii=False, sort_keys=True)),
        ])
        count += 1
    return count
