"""ORM models, one module per aggregate."""

from .audit import AuditEvent
from .campaign import Campaign
from .fieldwork import Interviewer, PracticeResponse
from .imports import ImportMapping, PendingImport, ResponseImport
from .notice import NOTICE_STATES, Department, IndicatorDepartment, Notice
from .population import PopulationCell
from .questionnaire import PublishedVersionChanged, Questionnaire, QuestionnaireVersion
from .response import Answer, Response
from .round import Channel, Round, RoundQuota
from .settings import SiteSetting
from .unit import Unit
from .user import ApiToken, User

__all__ = [
    "Answer",
    "ApiToken",
    "AuditEvent",
    "Campaign",
    "Department",
    "Channel",
    "ImportMapping",
    "IndicatorDepartment",
    "Interviewer",
    "NOTICE_STATES",
    "Notice",
    "PendingImport",
    "PopulationCell",
    "PracticeResponse",
    "PublishedVersionChanged",
    "Questionnaire",
    "QuestionnaireVersion",
    "Response",
    "ResponseImport",
    "Round",
    "RoundQuota",
    "SiteSetting",
    "Unit",
    "User",
]
