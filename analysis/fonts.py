"""Find a font with Chinese glyphs: for Matplotlib charts and for reportlab PDFs.

Matplotlib's default DejaVu Sans has no Hanzi, and neither do reportlab's
standard fonts: every Chinese label would be drawn as a box. This module is
the one place that looks for a CJK font on this machine.

* Charts: :func:`cjk_font_family` finds a family Matplotlib can use and
  :func:`chart_rc` says how to apply it to one figure without touching the
  global ``rcParams``. Search order: the file named by ``$MINYI_CJK_FONT``
  (read when called, never at import); the families below if Matplotlib's
  font manager knows them; well-known install locations (registered with
  ``font_manager.fontManager.addfont``); then any font the font manager
  knows whose character map covers common Hanzi. Matplotlib renders CFF
  (OpenType) outlines, so Noto Sans CJK works for charts.
* PDFs and posters: :func:`register_reportlab_cjk_font` registers the first
  usable CJK TrueType font (``$MINYI_CJK_FONT``, the well-known locations,
  then ``fc-match``), or falls back to reportlab's built-in ``STSong-Light``
  CID font. reportlab can only embed TrueType outlines (``glyf``), not
  CFF/PostScript outlines; the Noto CJK ``.ttc`` files Debian ships are CFF,
  so they are tried but usually skipped. WenQuanYi Micro Hei
  (``fonts-wqy-microhei``) works for both.

Matplotlib and reportlab are imported when a function needs them, so a
poster does not load Matplotlib's font manager, nor a chart reportlab.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from reportlab.pdfbase.ttfonts import TTFont

__all__ = [
    "CID_FALLBACK_FONT_NAME",
    "CJK_FONT_NAME",
    "FONT_ENV_VAR",
    "PROBE_TEXT",
    "chart_rc",
    "cjk_font_family",
    "find_cjk_font",
    "register_reportlab_cjk_font",
]

log = logging.getLogger(__name__)

#: Environment variable naming a font file that takes precedence.
FONT_ENV_VAR = "MINYI_CJK_FONT"
#: Name the TrueType CJK font is registered under in reportlab.
CJK_FONT_NAME = "MinyiCJK"
#: reportlab's built-in Adobe CID font for Simplified Chinese. It is not
#: embedded (viewers substitute a local font), hence only a fallback.
CID_FALLBACK_FONT_NAME = "STSong-Light"

#: Families tried first for charts, best first (sans-serif faces read best in charts).
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

#: Where CJK fonts are usually installed, sans-serif faces first.
WELL_KNOWN_FILES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/truetype/droid/DroidSansFallback.ttf",
    "/usr/share/fonts/google-droid/DroidSansFallback.ttf",
    "/System/Library/Fonts/PingFang.ttc",
    "/System/Library/Fonts/STHeiti Medium.ttc",
    "C:/Windows/Fonts/msyh.ttc",
    "C:/Windows/Fonts/simhei.ttf",
    "C:/Windows/Fonts/simsun.ttc",
)

#: Characters a usable font must contain: common Hanzi, full-width punctuation,
#: the characters the charts' legends use and those of the posters.
PROBE_TEXT = "中文问卷扫码测评达标待定未达标目标名次区间，。（）"
# Most .ttc files hold a handful of faces; stop looking after this many.
_MAX_SUBFONTS = 16


# -- Matplotlib (charts) -----------------------------------------------------------------

def _covers_chinese(path: str) -> bool:
    from matplotlib.ft2font import FT2Font

    try:
        charmap = FT2Font(path).get_charmap()
    except (OSError, RuntimeError, ValueError):  # unreadable or unsupported font files
        return False
    return all(ord(ch) in charmap for ch in PROBE_TEXT)


def _family_of(path: str) -> str | None:
    """Register *path* with the font manager (if new) and return its family name."""
    from matplotlib import font_manager

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
    from matplotlib import font_manager

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

    for path in WELL_KNOWN_FILES:
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


# -- reportlab (PDF reports and posters) ------------------------------------------------

def _fc_match() -> Path | None:
    """Ask fontconfig for its best Simplified-Chinese sans font, if fontconfig exists."""
    exe = shutil.which("fc-match")
    if exe is None:
        return None
    try:
        out = subprocess.run(
            [exe, "-f", "%{file}", "sans:lang=zh-cn"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return Path(out) if out else None


def _candidates() -> Iterator[Path]:
    override = os.environ.get(FONT_ENV_VAR)
    if override:
        yield Path(override)
    for name in WELL_KNOWN_FILES:
        yield Path(name)
    # fc-match always answers, even with a Latin-only font; _load_ttfont
    # rejects fonts without Hanzi, so the answer is safe to try last.
    found = _fc_match()
    if found is not None:
        yield found


def _load_ttfont(path: Path) -> TTFont | None:
    """Return a reportlab ``TTFont`` for the first face of *path* that covers Chinese.

    Returns None when the file is missing, not TrueType-outlined, or has no Hanzi.
    """
    from reportlab.pdfbase.ttfonts import TTFError, TTFont

    if not path.is_file():
        return None
    indices = range(_MAX_SUBFONTS) if path.suffix.lower() in (".ttc", ".otc") else (0,)
    for index in indices:
        try:
            font = TTFont(CJK_FONT_NAME, str(path), subfontIndex=index)
        except TTFError as exc:
            # Out-of-range index ends the search; CFF outlines fail on every face.
            log.debug("cannot use %s (face %d): %s", path, index, exc)
            return None
        except (OSError, ValueError, KeyError, IndexError) as exc:  # corrupt font files
            log.debug("cannot read %s (face %d): %s", path, index, exc)
            return None
        if all(ord(ch) in font.face.charToGlyph for ch in PROBE_TEXT):
            return font
    return None


def _first_usable() -> tuple[Path, TTFont] | None:
    seen: set[Path] = set()
    for path in _candidates():
        key = path.resolve() if path.exists() else path
        if key in seen:
            continue
        seen.add(key)
        font = _load_ttfont(path)
        if font is not None:
            return path, font
        if str(path) == os.environ.get(FONT_ENV_VAR):
            log.warning("%s=%s is not a usable CJK TrueType font; searching elsewhere",
                        FONT_ENV_VAR, path)
    return None


def find_cjk_font() -> Path | None:
    """Return the path of a CJK TrueType font reportlab can embed, or None.

    ``$MINYI_CJK_FONT`` is tried first, then well-known install locations,
    then whatever ``fc-match 'sans:lang=zh-cn'`` answers. A candidate counts
    only if it has TrueType outlines and contains common Hanzi.
    """
    found = _first_usable()
    return found[0] if found else None


@functools.cache
def register_reportlab_cjk_font() -> str:
    """Register a Chinese-capable font with reportlab once and return its name.

    Uses :func:`find_cjk_font`'s font (embedded as a subset in each PDF); if
    none exists, registers the built-in ``STSong-Light`` CID font and logs a
    warning. Repeated calls return the cached name without re-reading files.
    """
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    found = _first_usable()
    if found is not None:
        path, font = found
        pdfmetrics.registerFont(font)
        log.info("registered CJK font %s as %s", path, CJK_FONT_NAME)
        return CJK_FONT_NAME

    log.warning(
        "no CJK TrueType font found (set %s or install fonts-wqy-microhei); "
        "falling back to non-embedded %s",
        FONT_ENV_VAR,
        CID_FALLBACK_FONT_NAME,
    )
    pdfmetrics.registerFont(UnicodeCIDFont(CID_FALLBACK_FONT_NAME))
    return CID_FALLBACK_FONT_NAME
