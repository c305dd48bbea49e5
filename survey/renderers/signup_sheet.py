"""The printable sheet of interviewer sign-up codes: A4 pages of cards, two
columns by four rows, each card a QR code of its sign-up URL with the
round, the units, the code in letters (to type if the camera fails) and
"one use only". The office cuts the cards and hands one to each volunteer.

Pure: strings in, PDF bytes out."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

from reportlab.lib.colors import HexColor
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from analysis.fonts import register_reportlab_cjk_font

from .qr import draw_qr, qr_matrix, wrap_text


@dataclass(frozen=True)
class SignupCard:
    round_name: str
    units: str
    code: str
    url: str
    practice: bool = False


_COLS, _ROWS = 2, 4
_PAGE_W, _PAGE_H = A4
_MARGIN = 10 * mm
_CARD_W = (_PAGE_W - 2 * _MARGIN) / _COLS
_CARD_H = (_PAGE_H - 2 * _MARGIN) / _ROWS
_QR = 42 * mm
_RED = HexColor("#b3261e")
_GREY = HexColor("#555555")


def _lines(c: Canvas, lines: list[str], font: str, size: float, x: float, top: float, leading: float) -> float:
    """Draw ``lines`` downwards from ``top``; returns the baseline below the last."""
    c.setFont(font, size)
    for line in lines:
        c.drawString(x, top, line)
        top -= leading
    return top


def _card(c: Canvas, card: SignupCard, x: float, y: float, font: str) -> None:
    c.setStrokeColor(HexColor("#999999"))
    c.setDash(3, 3)
    c.rect(x, y, _CARD_W, _CARD_H, stroke=1, fill=0)  # cutting line
    c.setDash()
    left, width = x + 5 * mm, _CARD_W - 10 * mm
    c.setFillColor(_RED)
    top = _lines(c, ["调查员登记码" + ("（练习，答卷不计入结果）" if card.practice else "")], font, 13, left,
                 y + _CARD_H - 9 * mm, 6 * mm)
    c.setFillColor(HexColor("#1a1a1a"))
    top = _lines(c, wrap_text(card.round_name, font, 9.5, width)[:2], font, 9.5, left, top, 4.4 * mm)
    top = _lines(c, wrap_text(f"负责：{card.units}", font, 9.5, width)[:2], font, 9.5, left, top, 4.4 * mm)
    size = min(_QR, top - y - 8 * mm)
    draw_qr(c, qr_matrix(card.url), left - 2 * mm, top - size + 2 * mm, size)
    text_x = left + size + 2 * mm
    steps = ["用手机扫描左侧二维码，", "填写姓名即可登记。", "此码仅可使用一次。", "登记码："]
    below = _lines(c, steps, font, 9.5, text_x, top - 4 * mm, 4.6 * mm)
    c.setFont(font, 12)
    _lines(c, [card.code[:8], card.code[8:]], font, 12, text_x, below - 1 * mm, 5.5 * mm)
    c.setFillColor(_GREY)
    _lines(c, [card.url], font, 6.5, left, y + 4 * mm, 3 * mm)


def signup_sheet_pdf(cards: Sequence[SignupCard]) -> bytes:
    """A4 pages of sign-up cards, eight to a page.

    :raises ValueError: no cards.
    """
    if not cards:
        raise ValueError("cards must not be empty")
    font = register_reportlab_cjk_font()
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=A4, pageCompression=1, initialFontName=font)
    c.setTitle(f"{cards[0].round_name} 调查员登记码")
    c.setCreator("Minyi")
    per_page = _COLS * _ROWS
    for start in range(0, len(cards), per_page):
        for i, card in enumerate(cards[start:start + per_page]):
            col, row = i % _COLS, i // _COLS
            _card(c, card, _MARGIN + col * _CARD_W, _PAGE_H - _MARGIN - (row + 1) * _CARD_H, font)
        c.showPage()
    c.save()
    return buf.getvalue()
