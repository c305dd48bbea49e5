"""The app's coded values and their words, each defined once: roles, response
statuses, round kinds and states, why a response is left out; with the
analysis' groups (verdicts, interval methods, quality flags, indicator kinds)
re-exported from :mod:`analysis.vocabulary`.

Pages show :func:`label` (Chinese, or English when the interface is
English; a Jinja filter ``label``), forms :func:`lazy_label`; the PDF, the
workbook and the audit words use ``term.zh``. The codes themselves are the
models' (``ROLES``, ``RESPONSE_STATUSES``, ``ROUND_KINDS``): the database
constraints are built from those tuples, and ``tests/survey/core/test_vocabulary.py``
checks that every code has its term here.
"""

from __future__ import annotations

from flask_babel import LazyString, get_locale

from analysis.vocabulary import (
    INDICATOR_KINDS,
    INTERVAL_METHODS,
    INTERVIEWER_FLAGS,
    INTERVIEWER_TOO_FEW,
    NO_TARGET,
    QUALITY_FLAGS,
    VERDICTS,
    Term,
    Terms,
    verdict_term,
)

from .models.response import RESPONSE_MODES as MODE_CODES
from .models.response import RESPONSE_STATUSES as STATUS_CODES
from .models.unit import UNIT_LEVELS as LEVEL_CODES

__all__ = [
    "EXCLUSION_REASONS",
    "INDICATOR_KINDS",
    "INTERVAL_METHODS",
    "INTERVIEWER_FLAGS",
    "INTERVIEWER_TOO_FEW",
    "NO_TARGET",
    "QUALITY_FLAGS",
    "RESPONSE_MODES",
    "RESPONSE_STATUSES",
    "INTERVIEWER_EXCLUDED",
    "ROLES",
    "ROUND_KINDS",
    "ROUND_STATES",
    "STATUS_COMPLETE",
    "STATUS_SCREENED_OUT",
    "UNIT_LEVELS",
    "VERDICTS",
    "VOIDED",
    "Term",
    "Terms",
    "label",
    "lazy_label",
    "verdict_term",
]

#: Who an account is (``User.role``).
ROLES = Terms(
    Term("admin", "管理员", "Administrator"),
    Term("staff", "单位工作人员", "Unit staff"),
    Term("viewer", "只读用户", "Viewer"),
)

STATUS_COMPLETE, STATUS_SCREENED_OUT = STATUS_CODES
#: What a submitted response is (``Response.status``).
RESPONSE_STATUSES = Terms(
    Term(STATUS_COMPLETE, "完整答卷", "Complete"),
    Term(STATUS_SCREENED_OUT, "甄别未通过（不属于调查对象）", "Screened out"),
)
#: How a response was collected (``Response.mode``).
RESPONSE_MODES = Terms(*(Term(code, zh, en) for code, (zh, en) in zip(MODE_CODES, (
    ("居民扫码自填", "Self-completed"), ("调查员访问", "Interviewer"), ("纸质问卷录入", "Paper")), strict=True)))
#: A response whose interviewer the office left out of the round's results.
INTERVIEWER_EXCLUDED = Term("interviewer_excluded", "调查员的答卷被排除", "Interviewer excluded")
#: A response the office voided on review (``Response.voided_at`` is set).
VOIDED = Term("voided", "经审核作废", "Voided on review")

#: What a round is for (``Round.kind``).
ROUND_KINDS = Terms(
    Term("drill", "模拟测评", "Drill"),
    Term("official", "正式测评", "Official"),
)
#: Where a round is at a moment (``Round.state_at``).
ROUND_STATES = Terms(
    Term("not_open", "未开始", "not yet open"),
    Term("open", "进行中", "open"),
    Term("closed", "已结束", "closed"),
)

#: Where a unit sits in the area (``Unit.level``), in the models' order.
UNIT_LEVELS = Terms(*(Term(code, zh, en) for code, (zh, en) in zip(LEVEL_CODES, (
    ("区县", "District"), ("街道", "Street"), ("社区", "Community")), strict=True)))

#: Why a response was left out of the rates: its status, a void, or a quality flag.
EXCLUSION_REASONS = Terms(RESPONSE_STATUSES[STATUS_SCREENED_OUT], VOIDED, INTERVIEWER_EXCLUDED, *QUALITY_FLAGS.values())


def label(term: Term | None, fallback: str = "—") -> str:
    """The term in the interface language: English when the locale is English, else Chinese.

    ``fallback`` when there is no term (an unknown code: ``{{ reasons.get(f) | label(f) }}``).
    """
    if term is None:
        return fallback
    locale = get_locale()
    return term.en if locale is not None and str(locale).startswith("en") else term.zh


def lazy_label(term: Term) -> LazyString:
    """:func:`label`, decided when shown (for form choices built at import)."""
    return LazyString(label, term)
