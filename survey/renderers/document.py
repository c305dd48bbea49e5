"""An office document as plain data: the leader's report and the
rectification notices (督办单) are built once as a :class:`Document` and
rendered to PDF (``document_pdf.render_pdf``) and Word (``document_docx.render_docx``)
by the same blocks, so both files always say the same thing.

Blocks hold only finished Chinese text and numbers already formatted for
people; renderers lay them out and compute nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True)
class Letterhead:
    """The red header (红头) offices put on what they issue."""

    #: Issuing office, e.g. "某某区创建全国文明城市工作办公室" (printed in red, large).
    office: str
    #: Optional document number, e.g. "某创文办〔2026〕12号".
    doc_number: str | None = None
    #: Date printed under the title (Beijing date), e.g. 2026-12-03.
    issued_on: date | None = None


@dataclass(frozen=True)
class Heading:
    text: str
    #: 1 = 一、 section, 2 = （一） subsection. The text carries its own numbering.
    level: int = 1


@dataclass(frozen=True)
class Paragraph:
    text: str
    #: "body" (indented first line), "plain" (no indent), "note" (small, grey), "emphasis" (bold body),
    #: "signature" (right-aligned, for the office and date at the end of a notice).
    style: str = "body"


@dataclass(frozen=True)
class Bullets:
    items: Sequence[str]


@dataclass(frozen=True)
class Cell:
    """A table cell with an optional tone: "pass" (green), "fail" (red), "undecided" (amber), "muted"."""

    text: str
    tone: str | None = None


@dataclass(frozen=True)
class Table:
    header: Sequence[str]
    rows: Sequence[Sequence[str | Cell]]
    #: Relative column widths (any positive numbers; scaled to the page). None: equal.
    widths: Sequence[float] | None = None
    #: A short caption printed above the table, e.g. "表1 各项指标结果".
    caption: str | None = None


@dataclass(frozen=True)
class Figure:
    """A chart as PNG bytes (``analysis.charts.figure_png``)."""

    png: bytes
    #: Width on the page in centimetres (A4 text width is about 16 cm).
    width_cm: float = 16.0
    caption: str | None = None


@dataclass(frozen=True)
class PageBreak:
    pass


Block = Heading | Paragraph | Bullets | Table | Figure | PageBreak


@dataclass(frozen=True)
class Document:
    #: Main title, centred under the letterhead, e.g. "关于2026年第二轮模拟问卷调查结果的报告".
    title: str
    blocks: Sequence[Block]
    letterhead: Letterhead | None = None
    #: Short text for the running footer beside the page number, e.g. the round's name.
    footer: str = ""
    #: Document properties (Word's title/subject; PDF metadata).
    subject: str = ""
    keywords: Sequence[str] = field(default_factory=tuple)
