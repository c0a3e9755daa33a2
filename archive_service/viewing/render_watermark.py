"""Burn a viewing watermark into a rendered page: diagonal tiles plus a solid band.

The tiles cover the whole page, semi-transparent, so no crop of a screenshot escapes
them; the band is appended below the page (it hides none of the page) and carries the
full text in a readable size. Runs in the sandboxed child, next to the rasteriser.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

# Fonts tried in order; the first that loads is used. Index 2 of the Noto CJK collection
# is Simplified Chinese (the glyph shapes a mainland reader expects). Debian packages:
# fonts-noto-cjk, else fonts-wqy-zenhei / fonts-wqy-microhei, else fonts-dejavu-core
# (no Chinese glyphs, but the Latin parts of the watermark still show).
FONT_CANDIDATES: tuple[tuple[str, int], ...] = (
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Medium.ttc", 2),
    ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", 2),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf", 0),
    ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 0),
)

TILE_ANGLE = 30  # degrees, counter-clockwise
TILE_FILL = (70, 70, 90, 80)  # dark and translucent: visible on white, page stays legible
TILE_OUTLINE = (255, 255, 255, 60)  # light edge so the text also shows on dark areas
BAND_BACKGROUND = (35, 35, 40)
BAND_TEXT = (255, 255, 255)
BAND_MIN_LINES = 2  # the band keeps its height even with nothing to say

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont | ImageFont.TransposedFont


@functools.cache
def font(size: int) -> Font:
    """The first available font of FONT_CANDIDATES at ``size`` pixels, else Pillow's own."""
    for path, index in FONT_CANDIDATES:
        if Path(path).is_file():
            try:
                return ImageFont.truetype(path, size=size, index=index)
            except OSError:
                continue
    return ImageFont.load_default(size)


def burn(page: Image.Image, lines: Sequence[str]) -> Image.Image:
    """A new RGB image: ``page`` with ``lines`` tiled across it and the band below it."""
    width = page.width
    marked = page.convert("RGBA")
    if lines:
        _tile(marked, lines)
    band = _band(width, lines)
    # A fresh image: nothing of the source's metadata (ICC, EXIF, text chunks) comes along.
    out = Image.new("RGB", (width, page.height + band.height), "white")
    out.paste(marked.convert("RGB"), (0, 0))
    out.paste(band, (0, page.height))
    return out


def _tile(page: Image.Image, lines: Sequence[str]) -> None:
    text = "\n".join(lines)
    size = max(12, page.width // 36)
    probe = ImageDraw.Draw(Image.new("RGBA", (1, 1)))
    text_width = _text_box(probe, text, font(size), size // 4)[0]
    # Long names would give tiles wider than the page, cut off at every repeat.
    if text_width > 0.8 * page.width:
        size = max(10, int(size * 0.8 * page.width / text_width))
    face = font(size)
    w, h = _text_box(probe, text, face, size // 4)
    pad = max(2, size // 8)
    tile = Image.new("RGBA", (w + 2 * pad, h + 2 * pad), (0, 0, 0, 0))
    ImageDraw.Draw(tile).multiline_text(
        (pad, pad),
        text,
        font=face,
        fill=TILE_FILL,
        stroke_width=max(1, size // 24),
        stroke_fill=TILE_OUTLINE,
        spacing=size // 4,
    )
    # Lay the tiles out on a grid in the text's own (rotated) frame: rows run along the
    # diagonal, every other row shifted by half a step, and nothing overlaps. The grid
    # spans the page's circumscribed circle so the corners are covered too.
    step_u, step_v = w + 3 * size, h + 3 * size
    tile = tile.rotate(TILE_ANGLE, resample=Image.Resampling.BICUBIC, expand=True)
    angle = math.radians(TILE_ANGLE)
    cos, sin = math.cos(angle), math.sin(angle)
    cx, cy = page.width / 2, page.height / 2
    reach = math.hypot(page.width, page.height) / 2 + max(tile.size)
    for j in range(-math.ceil(reach / step_v), math.ceil(reach / step_v) + 1):
        v = j * step_v
        shift = step_u / 2 if j % 2 else 0.0
        for i in range(-math.ceil(reach / step_u) - 1, math.ceil(reach / step_u) + 1):
            u = i * step_u + shift
            # Text-frame (u, v) to page pixels; y grows downwards on the page.
            x = cx + u * cos + v * sin - tile.width / 2
            y = cy - u * sin + v * cos - tile.height / 2
            _composite_clipped(page, tile, round(x), round(y))


def _composite_clipped(base: Image.Image, tile: Image.Image, x: int, y: int) -> None:
    """alpha_composite ``tile`` at (x, y), which may lie partly outside ``base``."""
    left, top = max(0, -x), max(0, -y)
    right = min(tile.width, base.width - x)
    bottom = min(tile.height, base.height - y)
    if left >= right or top >= bottom:
        return
    base.alpha_composite(tile, dest=(x + left, y + top), source=(left, top, right, bottom))


def _band(width: int, lines: Sequence[str]) -> Image.Image:
    size = max(12, width // 52)
    face = font(size)
    pad = max(4, size // 2)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    wrapped = [part for line in lines for part in _wrap(probe, line, face, width - 2 * pad)]
    line_height = _text_box(probe, "国Ag", face)[1] + max(2, size // 3)
    height = 2 * pad + line_height * max(BAND_MIN_LINES, len(wrapped))
    band = Image.new("RGB", (width, height), BAND_BACKGROUND)
    draw = ImageDraw.Draw(band)
    for i, line in enumerate(wrapped):
        draw.text((pad, pad + i * line_height), line, font=face, fill=BAND_TEXT)
    return band


def _wrap(draw: ImageDraw.ImageDraw, line: str, face: Font, max_width: int) -> list[str]:
    """``line`` broken by characters (Chinese has no spaces to break at) to fit max_width."""
    if draw.textlength(line, font=face) <= max_width:
        return [line]
    parts, current = [], ""
    for ch in line:
        if current and draw.textlength(current + ch, font=face) > max_width:
            parts.append(current)
            current = ch.lstrip()
        else:
            current += ch
    if current:
        parts.append(current)
    return parts


def _text_box(
    draw: ImageDraw.ImageDraw, text: str, face: Font, spacing: int = 4
) -> tuple[int, int]:
    left, top, right, bottom = draw.multiline_textbbox((0, 0), text, font=face, spacing=spacing)
    return math.ceil(right - min(0, left)), math.ceil(bottom - min(0, top))
