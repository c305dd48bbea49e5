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
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from analysis.fonts import register_reportlab_cjk_font

from .qr import draw_qr, qr_matrix


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


def _fit(text: str, font: str, size: float, width: float) -> str:
    """``text`` cut with an ellipsis to fit ``width`` (a card has one line per field)."""
    if stringWidth(text, font, size) <= width:
        return text
    while text and stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text + "…"


def _card(c: Canvas, card: SignupCard, x: float, y: float, font: str) -> None:
    c.setStrokeColor(HexColor("#999999"))
    c.setDash(3, 3)
    c.rect(x, y, _CARD_W, _CARD_H, stroke=1, fill=0)  # cutting line
    c.setDash()
    draw_qr(c, qr_matrix(card.url), x + 5 * mm, y + (_CARD_H - _QR) / 2, _QR)
    text_x = x + 5 * mm + _QR + 4 * mm
    width = x + _CARD_W - 4 * mm - text_x
    top = y + _CARD_H - 12 * mm
    c.setFillColor(_RED)
    c.setFont(font, 13)
    c.drawString(text_x, top, "调查员登记码" + ("（练习）" if card.practice else ""))
    c.setFillColor(HexColor("#1a1a1a"))
    c.setFont(font, 9.5)
    lines = [_fit(card.round_name, font, 9.5, width), _fit(f"负责：{card.units}", font, 9.5, width),
             "用手机扫码，填写姓名即可登记。", "此码仅可使用一次。"]
    for i, line in enumerate(lines):
        c.drawString(text_x, top - (6 + 5 * i) * mm, line)
    c.setFont(font, 10)
    c.drawString(text_x, y + 10 * mm, " ".join(card.code[i:i + 4] for i in range(0, len(card.code), 4)))
    c.setFillColor(_GREY)
    c.setFont(font, 6.5)
    c.drawString(text_x, y + 5 * mm, _fit(card.url, font, 6.5, width))


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
