"""Text of one spreadsheet cell, shared by the question types and the codebook."""

from __future__ import annotations

__all__ = ["FORMULA_PREFIXES", "neutralize", "number_text", "unneutralize"]

# Characters that make spreadsheet programs treat a cell as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralize(text: str) -> str:
    """Make typed text inert in spreadsheets (CSV/formula injection)."""
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def unneutralize(text: str) -> str:
    """Undo ``neutralize``: drop the apostrophe put before formula-like text.

    Text that was typed as an apostrophe followed by a formula character
    (``'=x``) reads back without its apostrophe: ``neutralize`` leaves it as
    it is, so the cell cannot tell it from a neutralized ``=x``.
    """
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_PREFIXES) else text


def number_text(value: float | int) -> str:
    """A number written plainly: ``35`` for 35.0, ``2.5``, ``-3``."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value) if isinstance(value, float) else str(value)
