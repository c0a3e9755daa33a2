"""A CJK font reportlab can embed, for PDFs drawn from OFD files (runs in the sandboxed
child only).

reportlab embeds TrueType outlines only; Noto Sans CJK (fonts-noto-cjk) is OpenType/CFF.
So the Simplified Chinese face of the installed Noto Sans CJK collection is cut down to the
characters the document uses (fontTools' subsetter), its cubic CFF outlines are turned into
quadratic TrueType ones (cu2qu, as fontTools' otf2ttf snippet does), and the small font is
written next to the PDF and embedded. Without Noto, an installed CJK TrueType font is used,
else None (the caller falls back to a standard CID font, not embedded).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

NOTO_FAMILY = "Noto Sans CJK SC"
NOTO_PATHS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
)
# TrueType CJK fonts reportlab can embed as they are.
TTF_PATHS = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
)
_PROBE = "中文档案"


def embeddable_cjk_font(text: str, folder: Path) -> Path | None:
    """A TrueType font file covering ``text`` (as far as the font does), or None."""
    for path in _noto_paths():
        try:
            return _noto_subset(path, text, folder / "cjk-subset.ttf")
        except Exception:  # noqa: BLE001, S112 - a font fontTools cannot cut: try the next
            continue
    for candidate in TTF_PATHS:
        if Path(candidate).is_file():
            return Path(candidate)
    return None


def _noto_paths() -> list[str]:
    """Noto Sans CJK as fontconfig names it, then where Debian installs it."""
    found: list[str] = []
    fc_match = shutil.which("fc-match")
    if fc_match:
        try:
            answer = subprocess.run(  # noqa: S603 - fixed argv
                [fc_match, "-f", "%{file}", f"{NOTO_FAMILY}:style=Regular"],
                capture_output=True,
                timeout=10,
                check=False,
            ).stdout.decode("utf-8", "replace")
        except (OSError, subprocess.TimeoutExpired):
            answer = ""
        if "NotoSansCJK" in answer or "NotoSansSC" in answer:
            found.append(answer)
    return [p for p in dict.fromkeys([*found, *NOTO_PATHS]) if Path(p).is_file()]


def _noto_subset(path: str, text: str, target: Path) -> Path:
    from fontTools import subset
    from fontTools.ttLib import TTCollection, TTFont

    number = 0
    if path.lower().endswith(".ttc"):
        collection = TTCollection(path, lazy=True)
        names = [face["name"].getDebugName(1) or "" for face in collection.fonts]
        collection.close()
        number = next((i for i, n in enumerate(names) if n.endswith(" SC")), 0)
    font = TTFont(path, fontNumber=number, lazy=True)
    options = subset.Options()
    options.layout_features = []
    options.hinting = False
    options.desubroutinize = True
    options.notdef_outline = True
    options.drop_tables += ["VORG", "vhea", "vmtx", "GSUB", "GPOS", "GDEF", "BASE"]
    cutter = subset.Subsetter(options)
    cutter.populate(text=" " + _PROBE + text)
    cutter.subset(font)
    if "CFF " in font:
        _cff_to_truetype(font)
    font.save(str(target))
    font.close()
    return target


def _cff_to_truetype(font: object) -> None:
    from fontTools.pens.cu2quPen import Cu2QuPen
    from fontTools.pens.ttGlyphPen import TTGlyphPen
    from fontTools.ttLib import newTable

    order = font.getGlyphOrder()  # type: ignore[attr-defined]
    glyph_set = font.getGlyphSet()  # type: ignore[attr-defined]
    glyphs = {}
    for name in order:
        pen = TTGlyphPen(glyph_set)
        glyph_set[name].draw(Cu2QuPen(pen, 1.0, reverse_direction=True))
        glyphs[name] = pen.glyph()
    font["loca"] = newTable("loca")  # type: ignore[index]
    glyf = font["glyf"] = newTable("glyf")  # type: ignore[index]
    glyf.glyphOrder = order
    glyf.glyphs = glyphs
    del font["CFF "]  # type: ignore[attr-defined]
    metrics = font["hmtx"]  # type: ignore[index]
    for name, glyph in glyphs.items():
        if hasattr(glyph, "xMin"):
            metrics[name] = (metrics[name][0], glyph.xMin)
    maxp = font["maxp"] = newTable("maxp")  # type: ignore[index]
    maxp.tableVersion = 0x00010000
    for field in (
        "maxTwilightPoints",
        "maxStorage",
        "maxFunctionDefs",
        "maxInstructionDefs",
        "maxStackElements",
        "maxSizeOfInstructions",
        "maxComponentElements",
    ):
        setattr(maxp, field, 0)
    maxp.maxZones = 1
    font["post"].formatType = 3.0  # type: ignore[index]  # no glyph names needed
    font.sfntVersion = "\x00\x01\x00\x00"  # type: ignore[attr-defined]
