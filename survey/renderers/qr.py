"""QR codes and printable A4 posters that invite residents to a questionnaire.

Pure functions: they take strings and return bytes, with no Flask or database
access, so views, CLI commands and tests call them the same way.

* :func:`qr_png` / :func:`qr_svg` — the code alone, for download or embedding.
* :func:`poster_pdf` — one A4 portrait page per :class:`Poster`, ready to print
  and put up on a community notice board.

The QR code on the poster is drawn as vector rectangles, so it stays sharp at
any print resolution. Error correction is level M (15 %): enough for a poster
that gets a little dirty or creased while keeping the code coarse (big modules)
for old phone cameras.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import qrcode
import qrcode.constants
import qrcode.image.svg
from reportlab.lib.colors import Color, HexColor, white
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import cm, mm
from reportlab.pdfbase.pdfmetrics import getAscentDescent, stringWidth
from reportlab.pdfgen.canvas import Canvas

from analysis.fonts import register_reportlab_cjk_font

from ..models import Channel

__all__ = [
    "DEFAULT_FOOTER",
    "DEFAULT_INVITATION",
    "Poster",
    "poster_pdf",
    "qr_png",
    "qr_svg",
]

DEFAULT_INVITATION = (
    "诚邀您扫码参与问卷调查，您的意见将帮助我们把社区建设得更好。"
    "约需3分钟，匿名填写。"
)
DEFAULT_FOOTER = "请用手机微信或相机扫描二维码 · 请勿遮挡、撕毁本海报"

_QR_BORDER = 4  # modules of quiet zone; the QR spec's minimum
_QR_ERROR_CORRECTION = qrcode.constants.ERROR_CORRECT_M


def _qr(url: str, box_size: int = 10) -> qrcode.QRCode:
    if not url:
        raise ValueError("url must not be empty")
    if box_size < 1:
        raise ValueError(f"box_size must be >= 1, got {box_size}")
    code = qrcode.QRCode(
        error_correction=_QR_ERROR_CORRECTION, box_size=box_size, border=_QR_BORDER
    )
    code.add_data(url)
    code.make(fit=True)  # smallest version that holds the data
    return code


def qr_matrix(url: str) -> list[list[bool]]:
    """The code's modules, quiet zone included, for drawing as vectors (:func:`draw_qr`)."""
    return _qr(url, box_size=1).get_matrix()


def qr_png(url: str, box_size: int = 10) -> bytes:
    """Return a black-on-white PNG QR code for *url*; *box_size* is pixels per module.

    :raises ValueError: if *url* is empty or *box_size* < 1.
    """
    buf = io.BytesIO()
    _qr(url, box_size).make_image(fill_color="black", back_color="white").save(buf)
    return buf.getvalue()


class _SvgPathImageOnWhite(qrcode.image.svg.SvgPathImage):
    # A transparent background is unreadable when the SVG lands on a dark page.
    background = "#ffffff"


def qr_svg(url: str) -> bytes:
    """Return a standalone SVG document (UTF-8, one ``<path>``) holding a QR code for *url*.

    Sized in millimetres (one module = 1 mm) with a ``viewBox``, so it scales freely.

    :raises ValueError: if *url* is empty.
    """
    buf = io.BytesIO()
    _qr(url).make_image(image_factory=_SvgPathImageOnWhite).save(buf)
    return buf.getvalue()


@dataclass(frozen=True)
class Poster:
    """What one poster page says. *site* is where it hangs, e.g. ``"北门公告栏"``."""

    round_title: str
    unit_name: str
    site: str | None
    url: str
    invitation: str = DEFAULT_INVITATION
    footer: str = DEFAULT_FOOTER


# --- text layout --------------------------------------------------------------

# Chinese line-breaking rules (禁则): these may not start a line ...
_NO_LINE_START = set("，。、；：！？）》」』】〕〉”’…—·%,.;:!?)]}")
# ... and these may not end one.
_NO_LINE_END = set("（《「『【〔〈“‘([{")
# Runs of printable ASCII (words, numbers, URLs) stay together when they fit;
# every other character (Hanzi, CJK punctuation, spaces) is its own break point.
_TOKEN = re.compile(r"[!-~]+|.", re.DOTALL)


def wrap_text(text: str, font: str, size: float, width: float) -> list[str]:
    """Split *text* into lines no wider than *width* points.

    Chinese has no spaces, so any character boundary may break a line, except
    around the punctuation listed in ``_NO_LINE_START`` / ``_NO_LINE_END``.
    ASCII runs longer than a line (long URLs) are broken between characters.
    Explicit newlines are kept.
    """
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        tokens: list[str] = []
        for tok in _TOKEN.findall(paragraph.strip()):
            if len(tok) > 1 and stringWidth(tok, font, size) > width:
                tokens.extend(tok)  # too long for any line: break anywhere
            else:
                tokens.append(tok)
        line: list[str] = []
        line_width = 0.0
        for tok in tokens:
            tok_width = stringWidth(tok, font, size)
            if line and line_width + tok_width > width:
                carry: list[str] = []
                # Keep closing punctuation with the character before it and
                # opening punctuation with the character after it.
                head = tok
                while len(line) > 1 and head[0] in _NO_LINE_START:  # e.g. 市”）
                    head = line.pop()
                    carry.insert(0, head)
                while len(line) > 1 and line[-1][-1] in _NO_LINE_END:
                    carry.insert(0, line.pop())
                lines.append("".join(line).rstrip())
                while carry and carry[0].isspace():
                    carry.pop(0)
                line = carry
                line_width = sum(stringWidth(t, font, size) for t in line)
            if not line and tok.isspace():
                continue  # no leading blanks
            line.append(tok)
            line_width += tok_width
        lines.append("".join(line).rstrip())
    return lines


def _wrap_balanced(text: str, font: str, size: float, width: float) -> list[str]:
    """Like :func:`_wrap` but with lines of similar length, for centred text.

    Greedy wrapping of a centred title leaves a long line over a stub
    ("……文明城" / "市创建"); the narrowest width giving the same number of
    lines spreads the characters evenly.
    """
    lines = wrap_text(text, font, size, width)
    if len(lines) < 2:
        return lines
    lo, hi = width / len(lines), width
    while hi - lo > 1.0:  # points; a dozen wraps of a short text
        mid = (lo + hi) / 2
        if len(wrap_text(text, font, size, mid)) <= len(lines):
            hi = mid
        else:
            lo = mid
    return wrap_text(text, font, size, hi)


@dataclass
class _Block:
    """A run of centred lines in one font size."""

    lines: list[str]
    font: str
    size: float
    leading: float
    color: Color
    bold: float = 0.0  # stroke width as a fraction of size; fakes bold for one-weight fonts
    gap_after: float = 16.0

    @property
    def ascent(self) -> float:
        return getAscentDescent(self.font, self.size)[0]

    @property
    def height(self) -> float:
        """From the top of the first line's glyphs to the bottom of the last line's."""
        if not self.lines:
            return 0.0
        ascent, descent = getAscentDescent(self.font, self.size)
        return ascent - descent + (len(self.lines) - 1) * self.leading


_PAGE_W, _PAGE_H = A4
_MARGIN_X = 20 * mm
_MARGIN_TOP = 22 * mm
_MARGIN_BOTTOM = 14 * mm
_TEXT_W = _PAGE_W - 2 * _MARGIN_X
# Width of the code itself (finder pattern to finder pattern); the white quiet
# zone comes on top. 10 cm scans from about 1 m; it shrinks to 9 cm only when
# the text is very long.
_QR_SIZE = 10 * cm
_QR_MIN_SIZE = 9 * cm
_FOOTER_SIZE = 9.0
_URL_SIZE = 10.0
_GAP = 16.0

_RED = HexColor("#b3261e")  # 中国红-ish; also reads well in greyscale print
_INK = HexColor("#1a1a1a")
_GREY = HexColor("#555555")
_LIGHT = HexColor("#bbbbbb")


def _header_blocks(poster: Poster, font: str, scale: float) -> list[_Block]:
    def block(text: str, size: float, color: Color, leading: float, bold: float = 0.0):
        size *= scale
        lines = _wrap_balanced(text, font, size, _TEXT_W)
        return _Block(lines, font, size, size * leading, color, bold, _GAP)

    blocks = [
        block(poster.round_title, 32, _RED, 1.3, bold=0.035),
        block(poster.invitation, 18, _INK, 1.6),
        block(poster.unit_name, 20, _INK, 1.35, bold=0.02),
    ]
    blocks[0].gap_after = _GAP * 1.5  # room for the red rule under the title
    if poster.site:
        blocks[-1].gap_after = _GAP * 0.4  # the site belongs to the unit line
        blocks.append(block(poster.site, 15, _GREY, 1.35))
    return blocks


def _draw_block(c: Canvas, block: _Block, top: float) -> None:
    """Draw *block* centred on the page with its top edge at *top*."""
    c.setFillColor(block.color)
    if block.bold:
        c.setStrokeColor(block.color)
        c.setLineWidth(block.size * block.bold)
    font = block.font
    baseline = top - block.ascent
    for line in block.lines:
        text = c.beginText()
        text.setFont(font, block.size)
        if block.bold:
            text.setTextRenderMode(2)  # fill + stroke
        text.setTextOrigin((_PAGE_W - stringWidth(line, font, block.size)) / 2, baseline)
        text.textOut(line)
        if block.bold:
            # The render mode is graphics state and outlives BT/ET: reset it
            # here, or every later line on the page is stroked too.
            text.setTextRenderMode(0)
        c.drawText(text)
        baseline -= block.leading


def draw_qr(c: Canvas, matrix: list[list[bool]], x: float, y: float, size: float) -> None:
    """Draw *matrix* (quiet zone included) as vector squares filling a size x size box."""
    module = size / len(matrix)
    c.setFillColor(white)
    c.rect(x, y, size, size, stroke=0, fill=1)
    path = c.beginPath()
    for r, row in enumerate(matrix):
        top = y + size - (r + 1) * module
        col = 0
        while col < len(row):
            if row[col]:
                start = col
                while col < len(row) and row[col]:
                    col += 1
                # One rectangle per horizontal run; a single filled path avoids
                # hairline seams between neighbouring modules when rasterised.
                path.rect(x + start * module, top, (col - start) * module, module)
            else:
                col += 1
    c.setFillColor(HexColor("#000000"))
    c.drawPath(path, stroke=0, fill=1)


def _draw_poster(c: Canvas, poster: Poster, font: str) -> None:
    if not poster.url:
        raise ValueError(f"poster {poster.round_title!r} for {poster.unit_name!r} has no url")
    url_block = _Block(
        wrap_text(poster.url, font, _URL_SIZE, _TEXT_W), font, _URL_SIZE, _URL_SIZE * 1.3, _GREY
    )
    footer_block = _Block(
        wrap_text(poster.footer, font, _FOOTER_SIZE, _TEXT_W),
        font,
        _FOOTER_SIZE,
        _FOOTER_SIZE * 1.3,
        _GREY,
    )
    footer_top = _MARGIN_BOTTOM + footer_block.height
    rule_gap = 10.0  # space between footer text and the rule above it
    top = _PAGE_H - _MARGIN_TOP
    bottom = footer_top + rule_gap  # the footer rule
    matrix = _qr(poster.url).get_matrix()  # includes the quiet zone
    with_quiet_zone = len(matrix) / (len(matrix) - 2 * _QR_BORDER)

    # Shrink the text (then the code, down to 9 cm) until everything fits.
    for scale, symbol_size in [(s / 20, _QR_SIZE) for s in range(20, 13, -1)] + [
        (0.7, _QR_MIN_SIZE)
    ]:
        qr_size = symbol_size * with_quiet_zone
        blocks = _header_blocks(poster, font, scale)
        header_h = sum(b.height + b.gap_after for b in blocks)
        qr_block_h = qr_size + 6 + url_block.height
        if header_h + qr_block_h + 2 * _GAP <= top - bottom:
            break
    else:
        raise ValueError(
            f"poster text for {poster.unit_name!r} is too long to fit on one A4 page"
        )

    # Header: title, red rule, invitation, unit, site.
    y = top
    for block in blocks:
        _draw_block(c, block, y)
        y -= block.height + block.gap_after
    rule_y = top - blocks[0].height - _GAP * 0.5  # under the title
    c.setStrokeColor(_RED)
    c.setLineWidth(1.5)
    c.line(_MARGIN_X + _TEXT_W * 0.2, rule_y, _PAGE_W - _MARGIN_X - _TEXT_W * 0.2, rule_y)

    # QR code and URL, centred vertically in the space left above the footer.
    slack = y - bottom - qr_block_h
    qr_top = y - slack / 2
    qr_x = (_PAGE_W - qr_size) / 2
    draw_qr(c, matrix, qr_x, qr_top - qr_size, qr_size)
    c.setStrokeColor(_LIGHT)
    c.setLineWidth(0.75)
    c.roundRect(qr_x, qr_top - qr_size, qr_size, qr_size, 6, stroke=1, fill=0)
    _draw_block(c, url_block, qr_top - qr_size - 6)

    # Footer.
    c.setStrokeColor(_LIGHT)
    c.setLineWidth(0.5)
    c.line(_MARGIN_X, bottom, _PAGE_W - _MARGIN_X, bottom)
    _draw_block(c, footer_block, footer_top)


def poster_pdf(posters: Sequence[Poster]) -> bytes:
    """Return a PDF with one A4 portrait poster page per item of *posters*.

    Each page shows the round title, the invitation, the unit and site, a QR
    code of about 10 cm (vector) for ``poster.url``, the URL in small print and
    a footer. The CJK font is embedded as a subset.

    :raises ValueError: if *posters* is empty, a poster has no URL, or its text
        cannot fit on one page even at reduced size.
    """
    if not posters:
        raise ValueError("posters must not be empty")
    font = register_reportlab_cjk_font()
    buf = io.BytesIO()
    # initialFontName: otherwise every page references an unused, non-embedded Helvetica.
    c = Canvas(buf, pagesize=A4, pageCompression=1, initialFontName=font)
    c.setTitle(posters[0].round_title)
    c.setSubject(posters[0].unit_name)
    c.setCreator("Minyi")
    for poster in posters:
        _draw_poster(c, poster, font)
        c.showPage()
    c.save()
    return buf.getvalue()


def channel_url(public_base_url: str, channel: Channel) -> str:
    """The absolute URL a channel's QR code encodes."""
    return f"{public_base_url.rstrip('/')}/s/{channel.token}"


def channel_posters(public_base_url: str, channels: Iterable[Channel]) -> list[Poster]:
    """Poster contents for channels: round title, unit, site and the QR URL."""
    return [
        Poster(
            round_title=channel.round.name,
            unit_name=channel.unit.full_name,
            site=channel.site or None,
            url=channel_url(public_base_url, channel),
        )
        for channel in channels
    ]
