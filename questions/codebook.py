"""Codebook and cell values for CSV exports.

The codebook tells whoever opens an export what each column and code means;
``export_value`` writes one answer the way the codebook describes it.
"""

from __future__ import annotations

from ._cells import FORMULA_PREFIXES, neutralize
from .schema import Question, Questionnaire

__all__ = ["FORMULA_PREFIXES", "codebook_rows", "export_value", "neutralize"]


def _ordered(question: Question, codes: frozenset[str]) -> str:
    return "; ".join(code for code in question.codes if code in codes)


def codebook_rows(questionnaire: Questionnaire, locale: str = "zh") -> list[dict[str, str]]:
    """One row per question describing its export column.

    Parameters
    ----------
    questionnaire : Questionnaire
    locale : str
        Language of question texts, labels and descriptions (``"zh"`` or ``"en"``).

    Returns
    -------
    list of dict
        Keys ``column`` (see ``Question.column``), ``question``, ``type``,
        ``values`` (``"code=label; ..."``), ``indicator``, ``counts_as_yes``
        and ``excluded`` (codes joined by ``"; "``); all values are strings.
    """
    rows = []
    for q in questionnaire.questions:
        rows.append(
            {
                "column": q.column,
                "question": q.text.get(locale),
                "type": q.type,
                "values": q.kind.value_description(q, locale),
                "indicator": q.indicator or "",
                "counts_as_yes": _ordered(q, q.counts_as_yes) if q.indicator else "",
                "excluded": _ordered(q, q.excluded) if q.indicator else "",
            }
        )
    return rows


def export_value(question: Question, value: object) -> str:
    """How one clean answer is written in a CSV cell (its type's ``export_text``).

    Codes are written as they are, multiple choice as codes joined by ``";"``,
    numbers plainly (``35``, ``1.5``) and a missing answer as an empty cell.
    Free text that starts like a spreadsheet formula (``=``, ``+``, ``-``,
    ``@``) gets a leading apostrophe: offices open exports in Excel/WPS, and
    a respondent must not be able to inject a formula.
    """
    return question.kind.export_text(question, value)
