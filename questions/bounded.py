"""Reading questionnaire files that may have been made to hurt.

A questionnaire file comes from an upload. PyYAML recurses once per level
of nesting (a file of a few thousand ``[`` ends in ``RecursionError``),
anchors and aliases let a small file stand for an exponentially large
document, and YAML can express values that JSON (how the app stores a
definition) cannot: dates, binary, sets, NaN, NUL characters. Everything
here is bounded and every refusal is a :class:`QuestionnaireFileError`
with a machine ``reason`` the app translates.

The standard bank (``bank/civilization_standard.yaml``) is 14 KB, six
levels deep and about 1,500 values: the bounds leave ample room.
"""

from __future__ import annotations

import datetime
import math
import re
from typing import Any

import yaml

from .errors import QuestionnaireFileError

__all__ = [
    "MAX_DEPTH",
    "MAX_FILE_CHARACTERS",
    "MAX_TEXT_CHARACTERS",
    "MAX_VALUES",
    "check_definition",
    "read_questionnaire_file",
    "read_yaml",
]

MAX_FILE_CHARACTERS = 512 * 1024
MAX_DEPTH = 20
#: Values (mappings, lists, scalars) counted as the document expands, aliases included.
MAX_VALUES = 50_000
MAX_TEXT_CHARACTERS = 10_000
#: Control characters no questionnaire text means (C0 but tab and line breaks, DEL).
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class _Limit(Exception):
    def __init__(self, reason: str, line: int | None, limit: int) -> None:
        super().__init__(reason)
        self.reason, self.line, self.limit = reason, line, limit


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader that stops at ``MAX_DEPTH`` levels and ``MAX_VALUES`` nodes
    while composing, before PyYAML's recursion goes deeper."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._nodes = 0

    def compose_node(self, parent, index):  # noqa: D102 - PyYAML API
        self._depth += 1
        self._nodes += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _Limit("too_deep", _line(self.peek_event()), MAX_DEPTH)
            if self._nodes > MAX_VALUES:
                raise _Limit("too_many_values", _line(self.peek_event()), MAX_VALUES)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _line(event) -> int | None:
    mark = getattr(event, "start_mark", None)
    return mark.line + 1 if mark is not None else None


def read_yaml(text: str, source: str = "<text>") -> Any:
    """Parse a questionnaire file's YAML within the bounds and check the result.

    :raises QuestionnaireFileError: too large, too deep, too many values,
        a YAML syntax error, or content JSON cannot hold (see :func:`check_definition`).
    """
    if len(text) > MAX_FILE_CHARACTERS:
        raise QuestionnaireFileError(source, "too_large",
                                     f"the file is larger than {MAX_FILE_CHARACTERS // 1024} KB",
                                     limit=MAX_FILE_CHARACTERS)
    loader = None
    try:
        loader = _BoundedLoader(text)  # reads (and checks) the characters already
        data = loader.get_single_data()
    except yaml.reader.ReaderError:
        raise QuestionnaireFileError(source, "characters", "the file contains control characters or "
                                     "characters YAML does not allow") from None
    except _Limit as exc:
        what = {"too_deep": f"nested more than {exc.limit} levels deep",
                "too_many_values": f"more than {exc.limit} values"}[exc.reason]
        raise QuestionnaireFileError(source, exc.reason, f"the file is {what}" + _at(exc.line),
                                     line=exc.line, limit=exc.limit) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        column = f", column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        message = f"YAML syntax error at line {line}{column}: {problem}" if line else f"YAML syntax error: {problem}"
        raise QuestionnaireFileError(source, "syntax", message, line=line) from None
    except RecursionError:  # pragma: no cover - MAX_DEPTH stops it first
        raise QuestionnaireFileError(source, "too_deep", f"the file is nested more than {MAX_DEPTH} levels deep",
                                     limit=MAX_DEPTH) from None
    finally:
        if loader is not None:
            loader.dispose()
    check_definition(data, source)
    return data


def read_questionnaire_file(source: str, data: bytes) -> Any:
    """The definition in a questionnaire file's bytes (UTF-8 YAML, a BOM allowed), not yet validated.

    The one way a questionnaire file is read: uploads, the shipped bank, the
    demo and the benches. ``source`` (the file's name) is named in errors.

    :raises QuestionnaireFileError: too large, not UTF-8 (``reason`` ``encoding``),
        or anything :func:`read_yaml` refuses.
    """
    if len(data) > 4 * MAX_FILE_CHARACTERS:  # UTF-8 needs at most 4 bytes a character
        raise QuestionnaireFileError(source, "too_large",
                                     f"the file is larger than {MAX_FILE_CHARACTERS // 1024} KB",
                                     limit=MAX_FILE_CHARACTERS)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise QuestionnaireFileError(source, "encoding", f"the file is not UTF-8 text (byte {exc.start})") from None
    return read_yaml(text, source)


def _at(line: int | None) -> str:
    return f" (line {line})" if line else ""


def check_definition(data: Any, source: str = "<data>") -> None:
    """Check that ``data`` is a bounded tree JSON can store.

    Walks the document as it expands (an alias counts again wherever it is
    used, so a "billion laughs" file stops at ``MAX_VALUES``), without
    recursion. Refuses: deeper than ``MAX_DEPTH``; more than ``MAX_VALUES``
    values; texts longer than ``MAX_TEXT_CHARACTERS`` or with control
    characters; dates, binary, sets and other non-JSON values; NaN and
    infinity; integers beyond 64 bits.

    :raises QuestionnaireFileError:
    """
    stack: list[tuple[Any, int, str]] = [(data, 1, "")]
    seen = 0
    while stack:
        value, depth, where = stack.pop()
        seen += 1
        if seen > MAX_VALUES:
            raise QuestionnaireFileError(source, "too_many_values", f"the file has more than {MAX_VALUES} values",
                                         limit=MAX_VALUES)
        if depth > MAX_DEPTH:
            raise QuestionnaireFileError(source, "too_deep", f"{where or 'the file'} is nested more than "
                                         f"{MAX_DEPTH} levels deep", limit=MAX_DEPTH, where=where or None)
        if isinstance(value, dict):
            for key, item in value.items():
                path = _path(where, key)
                _check_scalar(key, source, path)
                stack.append((item, depth + 1, path))
        elif isinstance(value, list):
            stack.extend((item, depth + 1, f"{where}[{i + 1}]") for i, item in enumerate(value))
        else:
            _check_scalar(value, source, where)


def _path(where: str, key: Any) -> str:
    name = str(key) if len(str(key)) <= 40 else str(key)[:40] + "…"
    return f"{where}.{name}" if where else name


def _check_scalar(value: Any, source: str, where: str) -> None:
    label = where or "the file"
    if isinstance(value, str):
        if len(value) > MAX_TEXT_CHARACTERS:
            raise QuestionnaireFileError(source, "text_too_long",
                                         f"{label}: a text is longer than {MAX_TEXT_CHARACTERS} characters",
                                         limit=MAX_TEXT_CHARACTERS, where=where or None)
        if CONTROL_CHARACTERS.search(value):
            raise QuestionnaireFileError(source, "characters", f"{label}: a text contains control characters",
                                         where=where or None)
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int):
        if abs(value) > 2**63 - 1:
            raise QuestionnaireFileError(source, "value_type", f"{label}: the number is too large",
                                         where=where or None)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise QuestionnaireFileError(source, "value_type", f"{label}: not a finite number",
                                         where=where or None)
    else:
        kind = ("a date or time" if isinstance(value, (datetime.date, datetime.datetime))
                else type(value).__name__)
        raise QuestionnaireFileError(source, "value_type",
                                     f"{label}: {kind} is not allowed here; put it in quotes", where=where or None)
