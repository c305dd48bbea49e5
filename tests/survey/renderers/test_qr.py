"""QR codes and posters are checked the way a resident meets them: decoded.

PNG codes are decoded with zxing-cpp; posters are rendered with poppler
(``pdftoppm``) and the code is decoded from the page image, and their text is
read back with ``pdftotext``. poppler-utils must be installed.
"""

from __future__ import annotations

import io
import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import PIL.Image
import PIL.ImageDraw
import pytest
import zxingcpp
from pypdf import PdfReader
from reportlab.pdfbase.pdfmetrics import stringWidth

from analysis import fonts
from survey.renderers.qr import DEFAULT_INVITATION, Poster, poster_pdf, qr_png, qr_svg

SHORT_URL = "https://minyi.example.cn/s/AbC123"
LONG_URL = (
    "https://minyi.example.cn/survey/2024-q3-civility/respond"
    "?unit=xingfu-road-community&site=north-gate-board&src=poster&lang=zh-CN&v=7"
)
# "幸福路社区" percent-encoded, as browsers and url_for produce it.
CHINESE_URL = (
    "https://minyi.example.cn/s/%E5%B9%B8%E7%A6%8F%E8%B7%AF%E7%A4%BE%E5%8C%BA?site=%E5%8C%97%E9%97%A8"
)
URLS = [SHORT_URL, LONG_URL, CHINESE_URL]

SVG_NS = "{http://www.w3.org/2000/svg}"


def decode_qr(image: PIL.Image.Image) -> list[zxingcpp.Result]:
    return zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)


def squash(text: str) -> str:
    """Drop all whitespace: wrapped and centred lines come back split and padded."""
    return re.sub(r"\s+", "", text)


# --- PNG / SVG ------------------------------------------------------------------


@pytest.mark.parametrize("url", URLS)
def test_qr_png_decodes_to_url(url):
    image = PIL.Image.open(io.BytesIO(qr_png(url)))
    assert image.format == "PNG"
    results = decode_qr(image)
    assert [r.text for r in results] == [url]
    assert results[0].ec_level == "M"


def test_qr_png_box_size_sets_pixels_per_module():
    small = PIL.Image.open(io.BytesIO(qr_png(SHORT_URL, box_size=4)))
    large = PIL.Image.open(io.BytesIO(qr_png(SHORT_URL, box_size=12)))
    assert large.size[0] == small.size[0] * 3
    assert [r.text for r in decode_qr(large)] == [SHORT_URL]


@pytest.mark.parametrize("kwargs", [{"url": ""}, {"url": SHORT_URL, "box_size": 0}])
def test_qr_png_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        qr_png(**kwargs)


def _rasterize_svg_path(svg: ET.Element, scale: int = 8) -> PIL.Image.Image:
    """Draw the squares of qrcode's SVG path ("Mx,yHx2Vy2Hxz") onto a white image."""
    _, _, width, height = (float(v) for v in svg.get("viewBox").split())
    image = PIL.Image.new("L", (int(width * scale), int(height * scale)), 255)
    draw = PIL.ImageDraw.Draw(image)
    squares = 0
    for path in svg.iter(f"{SVG_NS}path"):
        for x0, y0, x1, y1 in re.findall(
            r"M([\d.]+),([\d.]+)H([\d.]+)V([\d.]+)H[\d.]+z", path.get("d")
        ):
            box = [float(v) * scale for v in (x0, y0, x1, y1)]
            draw.rectangle([box[0], box[1], box[2] - 1, box[3] - 1], fill=0)
            squares += 1
    assert squares > 50, "SVG path not in the expected square-per-module form"
    return image


@pytest.mark.parametrize("url", URLS)
def test_qr_svg_is_standalone_svg_of_the_url(url):
    data = qr_svg(url)
    assert data.startswith(b"<?xml")
    root = ET.fromstring(data)
    assert root.tag == f"{SVG_NS}svg"
    assert root.get("viewBox")
    assert root.get("width", "").endswith("mm")
    assert [r.text for r in decode_qr(_rasterize_svg_path(root))] == [url]


# --- fonts ----------------------------------------------------------------------


def test_cjk_font_is_found_and_registration_is_idempotent():
    path = fonts.find_cjk_font()
    assert path is not None, "install fonts-wqy-microhei: posters would use a non-embedded font"
    assert path.is_file()
    name = fonts.register_reportlab_cjk_font()
    assert name == fonts.register_reportlab_cjk_font() == fonts.CJK_FONT_NAME


def test_unusable_font_override_is_skipped(monkeypatch, tmp_path):
    bogus = tmp_path / "not-a-font.ttf"
    bogus.write_bytes(b"not a font")
    monkeypatch.setenv(fonts.FONT_ENV_VAR, str(bogus))
    found = fonts.find_cjk_font()
    assert found is not None and found != bogus


def test_font_override_takes_precedence(monkeypatch):
    default = fonts.find_cjk_font()
    assert default is not None
    monkeypatch.setenv(fonts.FONT_ENV_VAR, str(default))
    assert fonts.find_cjk_font() == default


# --- posters --------------------------------------------------------------------

POSTERS = [
    Poster(
        round_title="2024年第三季度文明城市创建群众满意度调查",
        unit_name="幸福路街道幸福路社区居委会",
        site="北门公告栏",
        url=LONG_URL,
        invitation=DEFAULT_INVITATION,
    ),
    Poster(
        round_title="垃圾分类满意度调查",
        unit_name="和平里社区",
        site=None,
        url=CHINESE_URL,
        invitation="请扫码填写，约需2分钟。",
    ),
    Poster(
        # Long enough to force wrapping of every header block and shrinking.
        round_title="关于“文明城市”创建工作群众满意度与获得感、幸福感、安全感的专项问卷调查"
        "——第二轮入户及线上联合调查",
        unit_name="某某区某某街道某某社区居民委员会与某某物业服务有限公司联合",
        site="3号楼1单元入口处电梯旁公告栏（请勿遮挡）",
        url=SHORT_URL,
        invitation=DEFAULT_INVITATION * 3,
    ),
]


@pytest.fixture(scope="module")
def poster_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("posters") / "posters.pdf"
    path.write_bytes(poster_pdf(POSTERS))
    return path


def pdftotext(pdf: Path, page: int) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", "-enc", "UTF-8", "-f", str(page), "-l", str(page), str(pdf), "-"],
        capture_output=True,
        check=True,
        text=True,
    ).stdout


def render_page(pdf: Path, page: int, out_dir: Path, dpi: int = 100) -> PIL.Image.Image:
    prefix = out_dir / f"page{page}"
    subprocess.run(
        ["pdftoppm", "-r", str(dpi), "-png", "-f", str(page), "-l", str(page),
         "-singlefile", str(pdf), str(prefix)],
        check=True,
        capture_output=True,
    )
    with PIL.Image.open(prefix.with_suffix(".png")) as image:
        return image.convert("L")


def test_poster_pdf_has_one_a4_page_per_poster(poster_file):
    reader = PdfReader(poster_file)
    assert len(reader.pages) == len(POSTERS)
    for page in reader.pages:
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        assert (round(width), round(height)) == (595, 842)  # A4 portrait in points


@pytest.mark.parametrize("index", range(len(POSTERS)))
def test_poster_text_reads_back(poster_file, index):
    poster = POSTERS[index]
    text = squash(pdftotext(poster_file, index + 1))
    assert squash(poster.round_title) in text
    assert squash(poster.invitation) in text
    assert squash(poster.unit_name) in text
    if poster.site:
        assert squash(poster.site) in text
    assert poster.url in text


def test_poster_lines_obey_chinese_line_breaking(poster_file):
    lines = [ln.strip() for ln in pdftotext(poster_file, 3).splitlines() if ln.strip()]
    assert len(lines) > 8  # the long poster really wraps
    for line in lines:
        assert line[0] not in "，。、；：！？）》”", f"line starts with closing punctuation: {line}"
        assert line[-1] not in "（《“", f"line ends with opening punctuation: {line}"


def test_wrap_breaks_chinese_by_width_and_obeys_punctuation_rules():
    # wrap_text is private, but line breaking is the fiddly part of the layout;
    # sweeping widths makes every break position occur somewhere.
    from survey.renderers.qr import wrap_text

    font = fonts.register_reportlab_cjk_font()
    text = "关于（“文明城市”）创建，您满意吗？（请如实填写）约需3分钟、匿名：谢谢！" * 2
    for width in range(40, 400, 3):
        lines = wrap_text(text, font, 12, width)
        assert "".join(lines) == text
        for line in lines:
            assert stringWidth(line, font, 12) <= width or len(line) <= 2, (width, line)
            assert line[0] not in "，。、；：！？）”", (width, lines)
            assert line[-1] not in "（“", (width, lines)


def test_wrap_keeps_ascii_words_and_breaks_overlong_ones():
    from survey.renderers.qr import wrap_text

    font = fonts.register_reportlab_cjk_font()
    assert wrap_text("约需3分钟 survey", font, 12, 1000) == ["约需3分钟 survey"]
    width = stringWidth("请访问 minyi.example", font, 12)
    lines = wrap_text("请访问 minyi.example.cn 参与", font, 12, width)
    assert lines[0] == "请访问"  # the word moved whole to the next line ...
    assert lines[1].startswith("minyi.example.cn")  # ... without a leading blank
    url_lines = wrap_text(LONG_URL, font, 9, 100)
    assert len(url_lines) > 3 and "".join(url_lines) == LONG_URL


@pytest.mark.parametrize("index", range(len(POSTERS)))
def test_poster_qr_scans_from_printed_page(poster_file, tmp_path, index):
    image = render_page(poster_file, index + 1, tmp_path, dpi=100)
    results = decode_qr(image)
    assert [r.text for r in results] == [POSTERS[index].url]
    # At least 9 cm wide: the code's corner points span >= 9 cm at 100 dpi.
    xs = [p.x for p in (results[0].position.top_left, results[0].position.top_right)]
    assert abs(xs[1] - xs[0]) >= 9 / 2.54 * 100 * 0.95  # finder-centre span, some slack


def test_poster_font_is_embedded(poster_file):
    reader = PdfReader(poster_file)
    fonts_seen = []
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descendant = font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
            descriptor = descendant["/FontDescriptor"].get_object()
            fonts_seen.append(font["/BaseFont"])
            assert any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")), font
    assert fonts_seen


def test_poster_pdf_rejects_empty_input_and_missing_url():
    with pytest.raises(ValueError):
        poster_pdf([])
    with pytest.raises(ValueError, match="url"):
        poster_pdf([Poster("标题", "单位", None, "", DEFAULT_INVITATION)])


def test_poster_pdf_rejects_text_too_long_for_a_page():
    with pytest.raises(ValueError, match="too long"):
        poster_pdf([Poster("标题" * 400, "单位", None, SHORT_URL, DEFAULT_INVITATION)])


def test_two_hundred_posters_in_one_pdf():
    posters = [
        Poster(POSTERS[0].round_title, f"第{i}社区", "公告栏", f"{SHORT_URL}?u={i}",
               DEFAULT_INVITATION)
        for i in range(200)
    ]
    data = poster_pdf(posters)  # speed: bench/bench_posters.py
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 200
    assert "第199社区" in reader.pages[199].extract_text()
