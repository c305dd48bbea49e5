"""Codebook and cell values for CSV exports.

The codebook tells whoever opens an export what each column and code means;
``export_value`` writes one answer the way the codebook describes it.
"""

from __future__ import annotations

from .schema import Question, Questionnaire

__all__ = ["codebook_rows", "export_value", "neutralize"]

# Descriptions of the values of types without options in the file.
_VALUE_DESCRIPTIONS = {
    "zh": {
        "community": "社区（村）代码，由系统提供",
        "number": "数字",
        "integer": "整数",
        "text": "文字",
        "range": "{low}至{high}",
        "max_length": "最多{n}字",
    },
    "en": {
        "community": "community (unit) code, supplied by the system",
        "number": "number",
        "integer": "whole number",
        "text": "free text",
        "range": "{low} to {high}",
        "max_length": "at most {n} characters",
    },
}

# Characters that make spreadsheet programs treat a cell as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _language(locale: str) -> str:
    return "en" if locale.replace("-", "_").split("_", 1)[0].lower() == "en" else "zh"


def neutralize(text: str) -> str:
    """Make typed text inert in spreadsheets (CSV/formula injection)."""
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def _number(value: float | int) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value) if isinstance(value, float) else str(value)


def _describe_values(question: Question, locale: str) -> str:
    words = _VALUE_DESCRIPTIONS[_language(locale)]
    if question.options:
        return "; ".join(f"{c.code}={c.label.get(locale)}" for c in question.options)
    if question.type == "number":
        kind = words["integer"] if question.integer else words["number"]
        if question.min is not None and question.max is not None:
            low, high = _number(question.min), _number(question.max)
            kind += " " + words["range"].format(low=low, high=high)
        elif question.min is not None:
            kind += f" ≥ {_number(question.min)}"
        elif question.max is not None:
            kind += f" ≤ {_number(question.max)}"
        return kind
    if question.type == "text":
        if question.max_length is not None:
            return f"{words['text']} ({words['max_length'].format(n=question.max_length)})"
        return words["text"]
    if question.type == "community":
        return words["community"]
    return ""


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
                "values": _describe_values(q, locale),
                "indicator": q.indicator or "",
                "counts_as_yes": _ordered(q, q.counts_as_yes) if q.indicator else "",
                "excluded": _ordered(q, q.excluded) if q.indicator else "",
            }
        )
    return rows


def export_value(question: Question, value: object) -> str:
    """How one clean answer is written in a CSV cell.

    Codes are written as they are, multiple choice as codes joined by ``";"``,
    numbers plainly (``35``, ``1.5``) and a missing answer as an empty cell.
    Free text that starts like a spreadsheet formula (``=``, ``+``, ``-``,
    ``@``) gets a leading apostrophe: offices open exports in Excel/WPS, and
    a respondent must not be able to inject a formula.
    """
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ";".join(str(code) for code in value)
    if isinstance(value, bool):
        # Not produced by any type today; written as a code rather than "True".
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return _number(value)
    text = str(value)
    return neutralize(text) if question.type == "text" else text
