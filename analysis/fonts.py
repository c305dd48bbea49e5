"""Find a font with Chinese glyphs for Matplotlib charts.

Matplotlib's default DejaVu Sans has no Hanzi: every Chinese label would be
drawn as a box (with a "Glyph ... missing from font" warning). This module
finds a CJK font Matplotlib can use and says how to apply it to one figure
without touching the global ``rcParams``.

Search order: the file named by ``$MINYI_CJK_FONT`` (read when called, never
at import); the families below if Matplotlib's font manager knows them;
well-known install locations (registered with
``font_manager.fontManager.addfont``); then any font the font manager knows
whose character map covers common Hanzi. Matplotlib renders CFF (OpenType)
outlines, so Noto Sans CJK works here even though reportlab cannot embed it
(see ``survey/fonts.py`` for the PDF side).
"""

from __future__ import annotations

import functools
import logging
import os
from pathlib import Path

from matplotlib import font_manager
from matplotlib.ft2font import FT2Font

__all__ = ["FONT_ENV_VAR", "chart_rc", "cjk_font_family"]

log = logging.getLogger(__name__)

#: Environment variable naming a font file that takes precedence.
FONT_ENV_VAR = "MINYI_CJK_FONT"

#: Families tried first, best first (sans-serif faces read best in charts).
PREFERRED_FAMILIES = (
    "WenQuanYi Micro Hei",
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "PingFang SC",
    "Microsoft YaHei",
    "SimHei",
    "WenQuanYi Zen Hei",
    "Heiti SC",
    "Noto Serif CJK SC",
    "Droid Sans Fallback",
    "SimSun",
)

_WELL_KNOWN_FILES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/System/Library/Fonts/PingFang.ttc",
    "C:/Windows/Fonts/msyh.ttc",
    "C:/Windows/Fonts/simhei.ttf",
)

#: Characters a usable font must contain: common Hanzi, full-width punctuation
#: and the characters the charts' legends use.
PROBE_TEXT = "中文测评达标待定未达标目标名次区间，。（）"


def _covers_chinese(path: str) -> bool:
    try:
        charmap = FT2Font(path).get_charmap()
    except (OSError, RuntimeError, ValueError):  # unreadable or unsupported font files
        return False
    return all(ord(ch) in charmap for ch in PROBE_TEXT)


def _family_of(path: str) -> str | None:
    """Register *path* with the font manager (if new) and return its family name."""
    known = {Path(f.fname).resolve(): f.name for f in font_manager.fontManager.ttflist}
    resolved = Path(path).resolve()
    if resolved not in known:
        try:
            font_manager.fontManager.addfont(path)
        except (OSError, RuntimeError, ValueError) as exc:
            log.debug("cannot register %s: %s", path, exc)
            return None
        known = {Path(f.fname).resolve(): f.name for f in font_manager.fontManager.ttflist}
    return known.get(resolved)


@functools.cache
def cjk_font_family() -> str | None:
    """Return the family name of a font with Chinese glyphs, or None.

    The font is registered with Matplotlib's font manager when it was not
    known yet. The answer is cached for the process.

    Returns
    -------
    str or None
        A family name for ``rcParams["font.family"]``; None when this machine
        has no CJK font (install ``fonts-wqy-microhei`` or set
        ``$MINYI_CJK_FONT``).
    """
    override = os.environ.get(FONT_ENV_VAR)
    if override:
        if Path(override).is_file() and _covers_chinese(override):
            family = _family_of(override)
            if family:
                return family
        log.warning("%s=%s is not a usable CJK font; searching elsewhere", FONT_ENV_VAR, override)

    by_name: dict[str, list[str]] = {}
    for entry in font_manager.fontManager.ttflist:
        by_name.setdefault(entry.name, []).append(entry.fname)
    for family in PREFERRED_FAMILIES:
        if any(_covers_chinese(path) for path in by_name.get(family, ())):
            return family

    for path in _WELL_KNOWN_FILES:
        if Path(path).is_file() and _covers_chinese(path):
            family = _family_of(path)
            if family:
                return family

    for entry in font_manager.fontManager.ttflist:
        if _covers_chinese(entry.fname):
            return entry.name
    log.warning("no font with Chinese glyphs found; chart labels will show boxes")
    return None


def chart_rc() -> dict[str, object]:
    """rcParams for one chart: the CJK font first (DejaVu Sans as fallback), ASCII minus.

    Use with ``matplotlib.rc_context(chart_rc())`` around building *and*
    saving a figure: fonts are fixed when text is created, the minus sign when
    tick labels are formatted at draw time.
    """
    family = cjk_font_family()
    families = [family, "DejaVu Sans"] if family else ["DejaVu Sans"]
    return {
        "font.family": families,
        "font.sans-serif": families,
        # The CJK fonts lack U+2212; an ASCII hyphen never turns into a box.
        "axes.unicode_minus": False,
        "svg.fonttype": "path",
    }
