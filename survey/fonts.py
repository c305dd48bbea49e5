"""Locate a Chinese (CJK) font and register it with reportlab.

Posters and PDF exports must show Chinese; a Latin-only font turns every
Hanzi into a box. :func:`register_reportlab_cjk_font` is the one entry point
for PDF code: it registers the first usable CJK TrueType font found on this
machine, or falls back to reportlab's built-in ``STSong-Light`` CID font.

reportlab can only embed TrueType outlines (``glyf``), not CFF/PostScript
outlines; the Noto CJK ``.ttc`` files Debian ships are CFF, so they are tried
but usually skipped. WenQuanYi Micro Hei (``fonts-wqy-microhei``) works.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFError, TTFont

log = logging.getLogger(__name__)

#: Name the TrueType CJK font is registered under in reportlab.
CJK_FONT_NAME = "MinyiCJK"
#: reportlab's built-in Adobe CID font for Simplified Chinese. It is not
#: embedded (viewers substitute a local font), hence only a fallback.
CID_FALLBACK_FONT_NAME = "STSong-Light"
#: Environment variable naming a font file that takes precedence.
FONT_ENV_VAR = "MINYI_CJK_FONT"

_WELL_KNOWN_FONTS = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/truetype/droid/DroidSansFallback.ttf",
    "/usr/share/fonts/google-droid/DroidSansFallback.ttf",
    "/System/Library/Fonts/PingFang.ttc",
    "/System/Library/Fonts/STHeiti Medium.ttc",
    "C:/Windows/Fonts/msyh.ttc",
    "C:/Windows/Fonts/simhei.ttf",
    "C:/Windows/Fonts/simsun.ttc",
)

# Characters a usable font must contain: common Hanzi plus full-width punctuation.
_PROBE_TEXT = "中文问卷扫码，。"
# Most .ttc files hold a handful of faces; stop looking after this many.
_MAX_SUBFONTS = 16


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
    for name in _WELL_KNOWN_FONTS:
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
        if all(ord(ch) in font.face.charToGlyph for ch in _PROBE_TEXT):
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
