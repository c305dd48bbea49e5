"""Helpers shared by the loader and the question types to read raw config.

Each reader takes the raw value, a name for it used in messages and a
``report`` callable; it reports problems instead of raising so that the
loader can collect every problem of a file in one pass.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any

from .schema import Text

Report = Callable[[str], None]

# At most 64 characters: ids and codes are stored in columns of that width.
ID_RE = re.compile(r"[a-z][a-z0-9_]{0,63}\Z")
# Codes may start with a digit so that age groups read naturally ("18_29").
CODE_RE = re.compile(r"[a-z0-9][a-z0-9_]{0,63}\Z")

ID_RULE = "use a lowercase letter followed by lowercase letters, digits or _; at most 64 characters"
CODE_RULE = "use lowercase letters, digits or _; at most 64 characters"
#: Largest whole number a questionnaire may give (versions, lengths, counts):
#: what the database's integer columns hold.
MAX_WHOLE_NUMBER = 2**31 - 1


def describe(value: object) -> str:
    """Name the kind of a raw YAML value for messages ("a list", "the number 3")."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"{str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text {value!r}"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    return type(value).__name__


def is_number(value: object) -> bool:
    """True for int and float but not bool (YAML ``yes`` is a bool)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def join(items: Iterable[str]) -> str:
    """Comma-join for "known: a, b, c" lists; "none" when empty."""
    items = list(items)
    return ", ".join(items) if items else "none"


def suggest(key: str, candidates: Collection[str]) -> str:
    """Return " (did you mean 'x'?)" for a likely typo, or " (allowed: ...)"."""
    close = difflib.get_close_matches(key, list(candidates), n=1, cutoff=0.6)
    if close:
        return f" (did you mean {close[0]!r}?)"
    return f" (allowed: {join(sorted(candidates))})"


def read_text(value: object, what: str, report: Report) -> Text | None:
    """Read a Text: a plain (Chinese) string or a mapping ``{zh: ..., en: ...}``."""
    if isinstance(value, str):
        if not value.strip():
            report(f"{what} is empty")
            return None
        return Text(value.strip())
    if isinstance(value, Mapping):
        ok = True
        for key in value:
            if key not in ("zh", "en"):
                report(f"{what}: unknown language {key!r} (use 'zh' and 'en')")
                ok = False
        zh = value.get("zh")
        en = value.get("en")
        if zh is None:
            report(f"{what} has no 'zh' (Chinese) entry")
            ok = False
        elif not isinstance(zh, str) or not zh.strip():
            report(f"{what}: 'zh' must be non-empty text (got {describe(zh)})")
            ok = False
        if en is not None and (not isinstance(en, str) or not en.strip()):
            report(f"{what}: 'en' must be non-empty text (got {describe(en)})")
            ok = False
        if not ok:
            return None
        assert isinstance(zh, str)
        return Text(zh.strip(), en.strip() if isinstance(en, str) else None)
    report(f"{what} must be Chinese text or a mapping with 'zh' and 'en' (got {describe(value)})")
    return None


def read_code(value: object, what: str, report: Report) -> str | None:
    """Read one option code, explaining YAML's surprises (``yes`` -> true, ``18_29`` -> 1829)."""
    if isinstance(value, bool):
        report(
            f"{what} {str(value).lower()} is not a code: YAML reads unquoted yes/no/on/off "
            f'as true/false, so put the code in quotes, e.g. "yes"'
        )
        return None
    if is_number(value):
        report(
            f"{what} {value} is a number, not a code: put codes in quotes, "
            f'e.g. "18_29" (YAML reads 18_29 as 1829)'
        )
        return None
    if not isinstance(value, str):
        report(f"{what} must be a code (got {describe(value)})")
        return None
    if not CODE_RE.match(value):
        report(f"{what} {value!r} is invalid ({CODE_RULE})")
        return None
    return value


def read_codes(value: object, what: str, report: Report) -> list[str] | None:
    """Read a list of codes; a single code is accepted as a one-item list."""
    items = value if isinstance(value, list) else [value]
    codes: list[str] = []
    ok = True
    for item in items:
        code = read_code(item, f"{what}: code", report)
        if code is None:
            ok = False
        else:
            codes.append(code)
    return codes if ok else None


def read_bool(value: object, what: str, report: Report) -> bool | None:
    if isinstance(value, bool):
        return value
    report(f"{what} must be true or false (got {describe(value)})")
    return None


def read_positive_int(value: object, what: str, report: Report) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value > MAX_WHOLE_NUMBER:
        report(f"{what} is too large (at most {MAX_WHOLE_NUMBER})")
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    report(f"{what} must be a positive whole number (got {describe(value)})")
    return None


def read_number(value: object, what: str, report: Report) -> float | None:
    if is_number(value) and not math.isfinite(value):  # type: ignore[arg-type]
        report(f"{what} must be a finite number (got {describe(value)})")
        return None
    if is_number(value):
        return value  # type: ignore[return-value]
    report(f"{what} must be a number (got {describe(value)})")
    return None


def check_keys(
    data: Mapping[str, Any], allowed: Collection[str], what: str, report: Report
) -> None:
    """Report keys not in ``allowed`` (typos), with a suggestion."""
    for key in data:
        if key not in allowed:
            report(f"{what}unknown key {key!r}{suggest(str(key), allowed)}")
