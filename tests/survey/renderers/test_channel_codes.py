"""A channel's QR code (PNG, SVG), its poster and a round's posters, read back."""

from __future__ import annotations

import io
import subprocess
import xml.etree.ElementTree as ET

import zxingcpp
from PIL import Image
from pypdf import PdfReader

from tests.factories import demo_round


def _decode(png: bytes) -> str:
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert len(results) == 1
    return results[0].text


def test_qr_png_encodes_the_channel_url(app, client):
    channel = demo_round().channels[0]
    reply = client.get(f"/s/{channel.token}/qr.png")
    assert reply.status_code == 200 and reply.mimetype == "image/png"
    assert _decode(reply.data) == f"http://survey.example.cn/s/{channel.token}"


def test_qr_svg_is_an_svg(app, client):
    channel = demo_round().channels[0]
    reply = client.get(f"/s/{channel.token}/qr.svg")
    assert reply.status_code == 200 and reply.mimetype == "image/svg+xml"
    assert ET.fromstring(reply.data).tag.endswith("svg")


def test_poster_pdf_reads_back(app, client, tmp_path):
    round_ = demo_round()
    channel = round_.channels[0]
    reply = client.get(f"/s/{channel.token}/poster.pdf")
    assert reply.status_code == 200 and reply.mimetype == "application/pdf"
    pdf = tmp_path / "poster.pdf"
    pdf.write_bytes(reply.data)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    squeezed = "".join(text.split())
    assert "".join(round_.name.split()) in squeezed
    assert channel.unit.name in squeezed
    assert channel.token in squeezed


def test_unknown_token_has_no_qr(app, client):
    assert client.get("/s/nope/qr.png").status_code == 404
    assert client.get("/s/nope/poster.pdf").status_code == 404


def test_round_posters_and_qr_codes_from_the_command_line(app, runner, tmp_path):
    round_ = demo_round()
    out = tmp_path / "posters.pdf"
    result = runner.invoke(args=["posters", str(round_.id), "--output", str(out)])
    assert result.exit_code == 0, result.output
    reader = PdfReader(str(out))
    assert len(reader.pages) == len(round_.channels)
    for page, channel in zip(reader.pages, round_.channels):
        assert channel.token in "".join(page.extract_text().split())

    codes = tmp_path / "codes"
    result = runner.invoke(args=["qr-codes", str(round_.id), "--output-dir", str(codes)])
    assert result.exit_code == 0, result.output
    for channel in round_.channels:
        png = (codes / f"{channel.unit.code}.png").read_bytes()
        assert _decode(png) == f"http://survey.example.cn/s/{channel.token}"
        assert (codes / f"{channel.unit.code}.svg").exists()
    assert runner.invoke(args=["posters", "999", "--output", str(out)]).exit_code != 0
