"""Changing the office's name and notice-number prefix (audited)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ..models import SiteSetting, User
from ..queries.office import NOTICE_PREFIX_SETTING, OFFICE_NAME_SETTING
from . import audit


def set_office_profile(session: Session, actor: User, *, name: str, notice_prefix: str) -> None:
    """Store both values (already validated: stripped, non-empty, bounded)."""
    for key, value in ((OFFICE_NAME_SETTING, name), (NOTICE_PREFIX_SETTING, notice_prefix)):
        setting = session.get(SiteSetting, key)
        if setting is None:
            session.add(SiteSetting(key=key, value=value))
        else:
            setting.value = value
    session.flush()
    audit.record(session, actor, "office.update", name=name, notice_prefix=notice_prefix)
