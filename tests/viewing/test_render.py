"""Page images for supervised viewing: PDFs and images, the burned-in watermark, hostile files."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageStat, PngImagePlugin

from archive_service.viewing import (
    RENDERABLE,
    RenderError,
    Watermark,
    page_count,
    render_page,
    render_pages,
    render_watermark,
)
from archive_service.viewing import render as render_module
from tests.viewing import files

PDF = "application/pdf"
AT = datetime(2025, 5, 1, 9, 30, tzinfo=UTC)
WATERMARK = Watermark("王检察官", "上海市人民检察院", AT, "S17")


def _png(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    assert img.format == "PNG"
    img.load()
    return img


def _plain(path: Path, kind: str, page: int = 1, width: int = 1240) -> Image.Image:
    """The same page with an empty watermark (band left blank), rendered in-process."""
    return _png(render_pages.render_png(str(path), kind, page, [], width))


def _band_top(img: Image.Image) -> int:
    """First row of the band: the left padding column is band background all the way down."""
    y = img.height - 1
    while y > 0 and img.getpixel((0, y - 1)) == render_watermark.BAND_BACKGROUND:
        y -= 1
    assert img.height - y > 20, "no watermark band found"
    return y


def _changed(a: Image.Image, b: Image.Image, box: tuple[int, int, int, int]) -> float:
    """Share of pixels in ``box`` that differ visibly between a and b."""
    diff = ImageChops.difference(a.crop(box).convert("L"), b.crop(box).convert("L"))
    histogram = diff.histogram()
    return sum(histogram[16:]) / sum(histogram)


def _grey(img: Image.Image, box: tuple[int, int, int, int]) -> ImageStat.Stat:
    """Statistics of the luminance in ``box``."""
    return ImageStat.Stat(img.crop(box).convert("L"))


@pytest.fixture()
def three_pages(tmp_path: Path) -> Path:
    path = tmp_path / "three-pages.pdf"
    path.write_bytes(files.pdf(["Page one", "Page two", "Page three"]))
    return path


# --- the watermark text ---------------------------------------------------------------


def test_watermark_lines_name_viewer_organisation_time_and_session() -> None:
    beijing = timezone(timedelta(hours=8))
    mark = Watermark(
        "王检察官", "上海市人民检察院", datetime(2025, 5, 1, 17, 30, tzinfo=beijing), "S17"
    )
    assert mark.lines() == ["王检察官 · 上海市人民检察院", "2025-05-01 09:30 UTC · S17"]


def test_watermark_refuses_a_naive_time() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Watermark("王检察官", "上海市人民检察院", datetime(2025, 5, 1, 9, 30), "S17")


def test_watermark_drops_control_and_direction_characters() -> None:
    mark = Watermark("王\u202e检察官\n", "", AT, "S\x0017")
    assert mark.lines() == ["王检察官", "2025-05-01 09:30 UTC · S17"]


# --- PDF ------------------------------------------------------------------------------


def test_a_three_page_pdf_renders_every_page_at_the_requested_width(three_pages: Path) -> None:
    assert page_count(three_pages, PDF) == 3
    pages = [_png(render_page(three_pages, PDF, n, WATERMARK)) for n in (1, 2, 3)]
    for img in pages:
        assert img.width == 1240
        # A4 is 1.414 times as tall as wide; the band comes on top of that.
        assert 1750 < img.height < 1900
        assert img.mode == "RGB"
    assert pages[0].tobytes() != pages[1].tobytes() != pages[2].tobytes()
    assert _png(render_page(three_pages, PDF, 2, WATERMARK, width=600)).width == 600


@pytest.mark.parametrize("page", [0, 4, -1])
def test_a_page_out_of_range_is_a_render_error(three_pages: Path, page: int) -> None:
    with pytest.raises(RenderError, match="out of range"):
        render_page(three_pages, PDF, page, WATERMARK)


def test_a_width_out_of_bounds_is_a_programming_error(three_pages: Path) -> None:
    with pytest.raises(ValueError, match="width"):
        render_page(three_pages, PDF, 1, WATERMARK, width=20_000)


# --- the watermark is really there ------------------------------------------------------


def test_the_watermark_covers_the_page_and_fills_the_band(three_pages: Path) -> None:
    marked_png = render_page(three_pages, PDF, 1, WATERMARK)
    # The sandboxed public path draws exactly what the in-process one draws.
    assert marked_png == render_pages.render_png(
        str(three_pages), "pdf", 1, WATERMARK.lines(), 1240
    )
    marked, plain = _png(marked_png), _plain(three_pages, "pdf")
    assert marked.size == plain.size
    top = _band_top(plain)
    assert _band_top(marked) == top

    # The band: blank without text, text with it.
    band = (0, top, marked.width, marked.height)
    assert plain.crop(band).getcolors() == [((marked.height - top) * marked.width, (35, 35, 40))]
    assert _changed(marked, plain, band) > 0.03

    # The tiles: every ninth of the page carries some of the watermark.
    third_w, third_h = marked.width // 3, top // 3
    for row in range(3):
        for col in range(3):
            cell = (col * third_w, row * third_h, (col + 1) * third_w, (row + 1) * third_h)
            assert _changed(marked, plain, cell) > 0.01, f"no watermark in cell {row},{col}"
    assert _changed(marked, plain, (0, 0, marked.width, top)) > 0.05

    # Semi-transparent: white paper stays light under it, the dark block stays dark.
    assert _grey(marked, (700, 900, 1200, 1400)).extrema[0][0] > 150
    # The grey block of page one: x 60-160 pt, y 442-642 pt from the bottom.
    block = (140, 430, 320, 820)
    assert _grey(plain, block).extrema[0][1] < 100
    assert _grey(marked, block).mean[0] < 120


def test_two_viewers_get_different_images(three_pages: Path) -> None:
    other = Watermark("李法官", "上海市第一中级人民法院", AT, "S18")
    a = _png(render_page(three_pages, PDF, 1, WATERMARK))
    b = _png(render_page(three_pages, PDF, 1, other))
    top = _band_top(a)
    assert _changed(a, b, (0, top, a.width, a.height)) > 0.01
    assert _changed(a, b, (0, 0, a.width, top)) > 0.02


def test_chinese_names_render_as_glyphs(three_pages: Path) -> None:
    """Names that differ in one character give different bands: without a CJK font both
    would be the same row of empty boxes."""
    a = _png(render_pages.render_png(str(three_pages), "pdf", 1, ["王检察官"], 1240))
    b = _png(render_pages.render_png(str(three_pages), "pdf", 1, ["李检察官"], 1240))
    top = _band_top(a)
    band = (0, top, 400, a.height)
    assert _changed(a, b, band) > 0.005, "CJK glyphs missing: install fonts-noto-cjk"
    glyph_pixels = a.crop(band).convert("L").histogram()[128:]
    assert sum(glyph_pixels) > 300


@pytest.fixture()
def no_fonts(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(render_watermark, "FONT_CANDIDATES", (("/nonexistent/font.ttc", 0),))
    render_watermark.font.cache_clear()
    yield
    render_watermark.font.cache_clear()


def test_without_any_listed_font_the_watermark_still_renders(
    three_pages: Path, no_fonts: None
) -> None:
    marked = _png(render_pages.render_png(str(three_pages), "pdf", 1, WATERMARK.lines(), 1240))
    plain = _plain(three_pages, "pdf")
    top = _band_top(plain)
    assert _changed(marked, plain, (0, 0, marked.width, top)) > 0.02
    assert _changed(marked, plain, (0, top, marked.width, marked.height)) > 0.01


def test_the_png_holds_pixels_only(tmp_path: Path) -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "secret author")
    source = tmp_path / "confidential-contract-K001202301.png"
    source.write_bytes(
        files.image("PNG", pnginfo=info, dpi=(300, 300), icc_profile=b"", exif=b"Exif\x00\x00")
    )
    data = render_page(source, "image/png", 1, WATERMARK)
    assert set(files.png_chunks(data)) == {b"IHDR", b"IDAT", b"IEND"}
    assert b"confidential" not in data and b"secret" not in data
    assert _png(data).info == {}


# --- images ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "content_type", "mode", "size"),
    [
        ("PNG", "image/png", "RGB", (800, 600)),
        ("PNG", "image/png", "RGBA", (800, 600)),
        ("PNG", "image/png", "P", (800, 600)),
        ("PNG", "image/png", "I;16", (800, 600)),
        ("JPEG", "image/jpeg", "RGB", (3000, 2000)),
        ("JPEG", "image/jpeg", "L", (640, 480)),
        ("JPEG", "image/jpeg", "CMYK", (640, 480)),
        ("TIFF", "image/tiff", "1", (640, 480)),
        ("BMP", "image/bmp", "RGB", (640, 480)),
        ("WEBP", "image/webp", "RGB", (640, 480)),
    ],
)
def test_images_render_at_the_requested_width(
    tmp_path: Path, fmt: str, content_type: str, mode: str, size: tuple[int, int]
) -> None:
    source = tmp_path / "image"
    source.write_bytes(files.image(fmt, size=size, mode=mode))
    assert page_count(source, content_type) == 1
    img = _png(render_page(source, content_type, 1, WATERMARK, width=1000))
    assert img.width == 1000
    assert img.mode == "RGB"
    top = _band_top(img)
    assert top == round(size[1] * 1000 / size[0])
    # The black block in the top-left corner survived the conversion of modes.
    assert _grey(img, (50, 50, 120, 100)).extrema[0][1] < 100


def test_a_multi_frame_tiff_has_a_page_per_frame(tmp_path: Path) -> None:
    source = tmp_path / "scan.tif"
    source.write_bytes(files.image("TIFF", frames=3, compression="tiff_deflate"))
    assert page_count(source, "image/tiff") == 3
    pages = [_plain(source, "tiff", n) for n in (1, 2, 3)]
    assert pages[0].tobytes() != pages[1].tobytes() != pages[2].tobytes()
    assert _png(render_page(source, "image/tiff", 3, WATERMARK)).width == 1240
    with pytest.raises(RenderError, match="out of range"):
        render_page(source, "image/tiff", 4, WATERMARK)


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was turned: show it rotated 90° clockwise
    source = tmp_path / "photo.jpg"
    source.write_bytes(files.image("JPEG", size=(800, 600), exif=exif.tobytes()))
    img = _png(render_page(source, "image/jpeg", 1, WATERMARK, width=600))
    assert _band_top(img) == 800


def test_a_png_never_reaches_the_jpeg_decoder_and_vice_versa(tmp_path: Path) -> None:
    source = tmp_path / "file"
    source.write_bytes(files.image("JPEG"))
    with pytest.raises(RenderError, match="not a readable PNG") as caught:
        page_count(source, "image/png")
    # The reason may reach the viewer; the server's paths must not.
    assert str(tmp_path) not in str(caught.value)


# --- hostile and broken files ------------------------------------------------------------


def test_garbage_with_a_pdf_type_is_a_render_error(tmp_path: Path) -> None:
    source = tmp_path / "garbage"
    source.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 64)
    with pytest.raises(RenderError, match="not a readable PDF"):
        page_count(source, PDF)
    with pytest.raises(RenderError, match="not a readable PDF"):
        render_page(source, PDF, 1, WATERMARK)


def test_a_decompression_bomb_is_refused_quickly(tmp_path: Path) -> None:
    source = tmp_path / "bomb.png"
    source.write_bytes(files.png_bomb())
    assert len(source.read_bytes()) < 10_000
    started = time.monotonic()
    with pytest.raises(RenderError, match="too large"):
        page_count(source, "image/png")
    with pytest.raises(RenderError, match="too large"):
        render_page(source, "image/png", 1, WATERMARK)
    assert time.monotonic() - started < 10


def test_a_bomb_frame_inside_a_tiff_is_refused(tmp_path: Path) -> None:
    """Each TIFF frame declares its own size; a later frame is checked when it is shown."""
    source = tmp_path / "scan.tif"
    small = Image.new("1", (100, 100), 1)
    big = Image.new("1", (12_000, 9_000), 1)  # 108 MP, tiny on disk
    out = io.BytesIO()
    small.save(out, format="TIFF", save_all=True, append_images=[big], compression="group4")
    source.write_bytes(out.getvalue())
    with pytest.raises(RenderError, match="too large"):
        render_page(source, "image/tiff", 2, WATERMARK)


def test_a_page_too_long_to_show_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "strip.pdf"
    source.write_bytes(files.pdf(["x"], size=(20, 5000)))
    assert page_count(source, PDF) == 1
    with pytest.raises(RenderError, match="too long"):
        render_page(source, PDF, 1, WATERMARK)


def test_a_child_that_takes_too_long_is_a_render_error(
    three_pages: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(render_module, "CHILD_TIMEOUT", 0.01)
    with pytest.raises(RenderError, match="longer than"):
        render_page(three_pages, PDF, 1, WATERMARK)


def test_a_child_out_of_memory_is_a_render_error(
    three_pages: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(render_module, "CHILD_MEMORY_MB", 40)
    with pytest.raises(RenderError):
        render_page(three_pages, PDF, 1, WATERMARK)


def test_unknown_types_and_missing_files_are_render_errors(tmp_path: Path) -> None:
    assert "application/zip" not in RENDERABLE
    with pytest.raises(RenderError, match="cannot be shown"):
        page_count(tmp_path / "x", "application/zip")
    with pytest.raises(RenderError):
        page_count(tmp_path / "missing.pdf", PDF)


def test_content_type_parameters_and_case_are_ignored(three_pages: Path) -> None:
    assert page_count(three_pages, "Application/PDF; charset=binary") == 3


# --- previews (render.make_preview): page count, an unwatermarked thumbnail, an image's PDF ---


def test_a_multi_page_tiff_becomes_a_pdf_of_its_frames_scaled_to_fit(tmp_path: Path) -> None:
    import pypdfium2 as pdfium

    source = tmp_path / "scan.tiff"
    source.write_bytes(files.image("TIFF", size=(3000, 1500), frames=3))
    made = render_module.make_preview(source, "image/tiff", tmp_path)
    assert made.pages == 3 and made.pdf == tmp_path / "preview.pdf"
    thumb = _png(made.thumbnail)
    assert (thumb.width, thumb.height) == (made.width, made.height) == (240, 120)
    pdf = pdfium.PdfDocument(str(made.pdf))
    try:
        assert len(pdf) == 3
        bitmap = pdf[0].get_objects()  # one image per page, at most PREVIEW_MAX_SIDE wide
        image = next(o for o in bitmap if o.type == pdfium.raw.FPDF_PAGEOBJ_IMAGE)
        assert max(image.get_px_size()) == render_module.PREVIEW_MAX_SIDE
    finally:
        pdf.close()


def test_a_pdf_preview_is_the_pdf_and_a_bomb_fails_with_its_reason(tmp_path: Path) -> None:
    source = tmp_path / "two.pdf"
    source.write_bytes(files.pdf(["one", "two"]))
    made = render_module.make_preview(source, PDF, tmp_path)
    assert made.pages == 2 and made.pdf == source and made.width == 240
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(files.png_bomb())
    with pytest.raises(RenderError) as failed:
        render_module.make_preview(bomb, "image/png", tmp_path)
    assert failed.value.reason == render_module.UNREADABLE
    assert not (tmp_path / "preview.pdf").exists()
