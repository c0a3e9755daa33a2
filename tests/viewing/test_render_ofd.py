"""OFD (GB/T 33190) through ``prepare``: a PDF of the OFD's pages, its text where the OFD
places it, drawn in the sandboxed child; a bad OFD is a RenderError, never a crash."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pytest
from PIL import Image

from archive_service.viewing import RenderError, Watermark, page_count, prepare, render_page
from tests.office_samples import ofd, ofd_bomb

OFD = "application/ofd"
WATERMARK = Watermark(
    "王检察官", "上海市人民检察院", datetime(2025, 5, 1, 9, 30, tzinfo=UTC), "S17"
)


def _source(tmp_path: Path, data: bytes) -> tuple[Path, Path]:
    work = tmp_path / "work"
    work.mkdir()
    path = work / "plaintext"
    path.write_bytes(data)
    return path, work


def test_an_ofd_becomes_a_pdf_of_its_pages(tmp_path: Path) -> None:
    data = ofd(
        ["增值税电子普通发票", "购买方：华夏贸易有限公司"],
        ["价税合计：壹仟贰佰元整"],
        with_image=True,
        template="国家税务总局监制",
    )
    source, work = _source(tmp_path, data)
    prepared = prepare(source, OFD, work)
    assert prepared.suffix == ".pdf" and prepared.parent.parent == work
    assert page_count(prepared, OFD) == 2
    doc = pdfium.PdfDocument(str(prepared))
    try:
        width, height = doc[0].get_size()
        assert (round(width), round(height)) == (595, 397)  # 210 × 140 mm
        first = doc[0].get_textpage().get_text_range()
        second = doc[1].get_textpage().get_text_range()
    finally:
        doc.close()
    assert "增值税电子普通发票" in first and "华夏贸易有限公司" in first
    assert "壹仟贰佰元整" in second
    assert "国家税务总局监制" in second.replace(" ", "")  # a template's text, spaced by DeltaX
    # Noto Sans CJK is embedded (cut to the document's characters), and nothing else is left.
    from pypdf import PdfReader

    fonts = PdfReader(str(prepared)).pages[0]["/Resources"]["/Font"]  # type: ignore[index]
    names = [str(f.get_object()["/BaseFont"]) for f in fonts.values()]
    assert any("NotoSansCJK" in n for n in names), names
    assert [p.name for p in prepared.parent.iterdir()] == ["document.pdf"]
    # The text is drawn, the red stamp image too.
    png = render_page(prepared, OFD, 1, WATERMARK, width=600)
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    top = pixels[40:80, 50:330]  # the first line of text, 20 mm from the top
    assert (top.sum(axis=2) < 400).sum() > 100
    reddish = (pixels[..., 0] > 150) & (pixels[..., 1] < 80) & (pixels[..., 2] < 80)
    assert reddish.sum() > 500


@pytest.mark.parametrize(
    ("data", "words"),
    [
        pytest.param(ofd_bomb(), "zip bomb", id="ofd-zip-bomb"),
        pytest.param(ofd(["第一页"], ["第二页"], missing_content=True), "missing", id="no-content"),
        pytest.param(b"PK\x03\x04" + b"\x00" * 100, "cannot be read", id="not-a-zip"),
    ],
)
def test_a_bad_ofd_is_a_render_error(tmp_path: Path, data: bytes, words: str) -> None:
    source, work = _source(tmp_path, data)
    with pytest.raises(RenderError, match=words):
        prepare(source, OFD, work)
    assert [p.name for p in work.iterdir()] == ["plaintext"]  # nothing left behind
