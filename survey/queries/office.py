"""Who issues the office's documents: the name on the red header of reports
and rectification notices, and the prefix of notice numbers."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import SiteSetting

OFFICE_NAME_SETTING = "office_name"
NOTICE_PREFIX_SETTING = "notice_prefix"

#: Until the office sets its own name (the console's 单位设置 page).
DEFAULT_OFFICE_NAME = "创建文明城市工作办公室"
#: Notice numbers read "<prefix>〔2026〕3号".
DEFAULT_NOTICE_PREFIX = "创文督办"


@dataclass(frozen=True)
class OfficeProfile:
    name: str
    notice_prefix: str
    #: False while the name is still the default (the console suggests setting it).
    named: bool


def office_profile(session: Session) -> OfficeProfile:
    stored = dict(session.execute(select(SiteSetting.key, SiteSetting.value).where(
        SiteSetting.key.in_((OFFICE_NAME_SETTING, NOTICE_PREFIX_SETTING)))).all())
    name = stored.get(OFFICE_NAME_SETTING) or ""
    return OfficeProfile(name=name or DEFAULT_OFFICE_NAME,
                         notice_prefix=stored.get(NOTICE_PREFIX_SETTING) or DEFAULT_NOTICE_PREFIX,
                         named=bool(name))
