"""OCR of images and of PDF pages without a text layer, with the real engine, in the child."""

from __future__ import annotations

import socket
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest

from search import extract
from search.extract import OcrLimits, _extract_in_child
from search.ocr import model_paths
from search.sandbox import run_limited
from tests import samples

COMPANY = "上海恒泰隆贸易有限公司"
CREDIT_CODE = "91310115MA1K3YJ82X"
LICENCE = ("营业执照", f"名称：{COMPANY}", f"统一社会信用代码：{CREDIT_CODE}")


def _file(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _squeezed(text: str | None) -> str:
    return "".join((text or "").split())


def test_a_business_licence_photo_is_read(tmp_path: Path) -> None:
    jpeg = samples.image_bytes(samples.scan(*LICENCE), "JPEG", quality=80)
    result = extract(_file(tmp_path, "licence", jpeg), "image/jpeg")
    assert result.error is None, result.error
    assert COMPANY in _squeezed(result.text) and CREDIT_CODE in _squeezed(result.text)
    assert result.ocr_pages == 1


def test_a_page_turned_a_quarter_is_read(tmp_path: Path) -> None:
    png = samples.image_bytes(samples.scan(*LICENCE, rotate=90), "PNG")
    result = extract(_file(tmp_path, "turned", png), "image/png")
    assert COMPANY in _squeezed(result.text) and CREDIT_CODE in _squeezed(result.text)


def test_an_image_only_pdf_is_read_page_by_page(tmp_path: Path) -> None:
    pdf = samples.scanned_pdf(
        samples.scan("第一页：采购合同", "甲方：华夏贸易有限公司"),
        samples.scan("第二页：付款条件", "货到后三十日内付清"),
    )
    result = extract(_file(tmp_path, "scan.pdf", pdf), "application/pdf")
    text = _squeezed(result.text)
    assert "华夏贸易有限公司" in text and "货到后三十日内付清" in text, result.text
    assert text.index("采购合同") < text.index("付款条件")  # pages in order
    assert result.ocr_pages == 2


def test_a_mixed_pdf_keeps_its_text_layer_and_reads_the_scan(tmp_path: Path) -> None:
    layer = "客户档案管理：本页文字来自文本层，不经识别。"
    pdf = samples.mixed_pdf(layer, samples.scan("附件：验收报告", "验收结论：合格"))
    result = extract(_file(tmp_path, "mixed.pdf", pdf), "application/pdf")
    assert layer in (result.text or "")  # exactly as the layer has it
    assert "验收结论" in _squeezed(result.text)
    assert result.ocr_pages == 1


def test_frames_past_the_page_limit_are_counted_not_read(tmp_path: Path) -> None:
    frames = [
        samples.scan("第一页 合同附件"),
        samples.scan("第二页 担保函"),
        samples.scan("第三页 保证金"),
    ]
    tiff = samples.image_bytes(frames[0], "TIFF", save_all=True, append_images=frames[1:])
    result = extract(_file(tmp_path, "pages.tif", tiff), "image/tiff", ocr=OcrLimits(max_pages=2))
    text = _squeezed(result.text)
    assert "担保函" in text and "保证金" not in text
    assert (result.ocr_pages, result.ocr_pages_over_limit, result.next_page) == (2, 1, 2)


@pytest.mark.parametrize(("kind", "fmt"), [("image/bmp", "BMP"), ("image/webp", "WEBP")])
def test_bmp_and_webp_are_read(tmp_path: Path, kind: str, fmt: str) -> None:
    data = samples.image_bytes(samples.scan("保证金"), fmt)
    assert "保证金" in _squeezed(extract(_file(tmp_path, "img", data), kind).text)


def test_a_blank_scan_is_no_text_and_no_failure(tmp_path: Path) -> None:
    png = samples.image_bytes(samples.scan(), "PNG")
    result = extract(_file(tmp_path, "blank.png", png), "image/png")
    assert (result.text, result.error) == ("", None)


@pytest.mark.parametrize("side", [50_000, 12_000])  # Pillow refuses the first, we the second
def test_a_decompression_bomb_is_a_recorded_failure(tmp_path: Path, side: int) -> None:
    result = extract(_file(tmp_path, "bomb.png", _png_header(side, side)), "image/png")
    assert result.text is None and result.reason == "parse_error", result


def _png_header(width: int, height: int) -> bytes:
    """A PNG that declares its size and holds (almost) no pixels: a bomb costs nothing to make."""
    png = samples.png(1, 1)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return png[:8] + struct.pack(">I", 13) + chunk + struct.pack(">I", zlib.crc32(chunk)) + png[33:]


def test_a_broken_image_is_a_parse_error(tmp_path: Path) -> None:
    result = extract(_file(tmp_path, "a.png", b"\x89PNG\r\n\x1a\n"), "image/png")
    assert result.text is None and result.reason == "parse_error"


def test_the_models_are_the_bundled_ones() -> None:
    import rapidocr

    package = Path(rapidocr.__file__).parent
    assert {p.parent for p in model_paths().values()} == {package / "models"}


def _offline(path: str, kind: str) -> tuple[str, bool, tuple[int | None, ...]]:
    """Runs in the child: no connection can be opened, then the real extraction."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise OSError("network access is blocked in this test")

    socket.socket.connect = refuse  # type: ignore[method-assign]
    socket.getaddrinfo = refuse  # type: ignore[assignment]
    return _extract_in_child(path, kind, 10_000, (5, 20, 2048))


def test_ocr_needs_no_network(tmp_path: Path) -> None:
    path = _file(tmp_path, "licence", samples.image_bytes(samples.scan(*LICENCE), "PNG"))
    text, _, pages = run_limited(_offline, str(path), "image/png", timeout=60)
    assert COMPANY in _squeezed(text) and pages[0] == 1


def test_a_page_of_a_few_words_without_an_image_is_not_ocrd(tmp_path: Path) -> None:
    result = extract(_file(tmp_path, "short.pdf", samples.pdf("doc 3")), "application/pdf")
    assert (result.text or "").strip() == "doc 3" and result.ocr_pages == 0


def test_a_continuation_reads_on_from_where_the_limit_stopped(tmp_path: Path) -> None:
    frames = [
        samples.scan(f"第{n}页", word) for n, word in enumerate(["担保函", "保证金", "验收单"], 1)
    ]
    tiff = samples.image_bytes(frames[0], "TIFF", save_all=True, append_images=frames[1:])
    path = _file(tmp_path, "pages.tif", tiff)
    first = extract(path, "image/tiff", ocr=OcrLimits(max_pages=2))
    assert (first.pages_total, first.next_page, first.ocr_pages_over_limit) == (3, 2, 1)
    rest = extract(path, "image/tiff", ocr=OcrLimits(max_pages=2), first_page=2)
    assert "验收单" in _squeezed(rest.text) and "担保函" not in _squeezed(rest.text)
    assert (rest.pages_total, rest.next_page, rest.ocr_pages) == (3, None, 1)


def test_a_long_scanned_pdf_returns_at_the_page_limit(tmp_path: Path) -> None:
    """The 2,000-page scan: the first call reads to the limit and counts the pages that
    wait; nothing past the limit is drawn (tiny pages keep the file cheap to make)."""
    from PIL import Image

    page = Image.new("L", (40, 40), 255)
    pdf = samples.scanned_pdf(page, *[page] * 1999)
    result = extract(
        _file(tmp_path, "long.pdf", pdf), "application/pdf", ocr=OcrLimits(max_pages=2)
    )
    assert result.error is None, result.error
    assert (result.pages_total, result.next_page) == (2000, 2)
    assert result.ocr_pages_over_limit == 1998


ANGLES = (90, 180, 270, 2, -2)  # a quarter, half and three-quarter turn; skew of ±2°


def test_pages_turned_or_skewed_are_read_at_each_angle(tmp_path: Path) -> None:
    """One small page per angle, in one multi-page TIFF (one child, the engine loaded once):
    each page's contract number and company are read, whatever its angle."""
    frames = [
        samples.scan(f"合同编号：HT-2024-{n:03d}", COMPANY, rotate=angle)
        for n, angle in enumerate(ANGLES, 101)
    ]
    tiff = samples.image_bytes(frames[0], "TIFF", save_all=True, append_images=frames[1:])
    result = extract(_file(tmp_path, "turned.tif", tiff), "image/tiff")
    assert result.error is None and result.ocr_pages == len(ANGLES), result
    text = _squeezed(result.text)
    missed = [a for n, a in enumerate(ANGLES, 101) if f"HT-2024-{n:03d}" not in text]
    assert missed == [], f"not read at {missed}°: {result.text}"
    assert text.count(COMPANY) == len(ANGLES), result.text
