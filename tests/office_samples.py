"""Legacy, OpenDocument, WPS and OFD files for the tests, made on the fly.

RTF, ODF and OFD are written by hand (small and fast); .doc, .xls and .ppt are converted
once per test session by LibreOffice from a DOCX/XLSX/PPTX (``legacy`` fixture, cached
under the session's temp dir). A WPS .wps/.et/.dps file is the same bytes as .doc/.xls/.ppt
(what Kingsoft WPS writes in its binary formats).
"""

from __future__ import annotations

import functools
import io
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from tests import samples
from tests.conftest import unavailable

OFD_NS = "http://www.ofdspec.org/2016"
WORDS = {
    "doc": "本合同约定采购离心泵三百台",
    "xls": "应收账款对账单",
    "ppt": "季度经营汇报",
    "wps": "售后服务保证书",
}


def rtf(text: str) -> bytes:
    """An RTF document of ``text`` (non-ASCII as \\uN? escapes, as Word writes them)."""
    body = "".join(
        ch if ord(ch) < 128 else f"\\u{ord(ch) if ord(ch) < 32768 else ord(ch) - 65536}?"
        for ch in text
    )
    return (
        "{\\rtf1\\ansi\\ansicpg936\\deff0{\\fonttbl{\\f0\\fnil SimSun;}}\\uc1\\pard\\f0 "
        + body
        + "\\par}"
    ).encode("ascii")


_ODF_MANIFEST = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" '
    'manifest:version="1.2"><manifest:file-entry manifest:full-path="/" '
    'manifest:media-type="{type}"/><manifest:file-entry manifest:full-path="content.xml" '
    'manifest:media-type="text/xml"/></manifest:manifest>'
)
_ODF_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" '
    'xmlns:presentation="urn:oasis:names:tc:opendocument:xmlns:presentation:1.0" '
    'xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0" '
    'office:version="1.2"'
)
ODT = "application/vnd.oasis.opendocument.text"
ODS = "application/vnd.oasis.opendocument.spreadsheet"
ODP = "application/vnd.oasis.opendocument.presentation"


def odf(content_type: str, text: str) -> bytes:
    """A minimal OpenDocument text, spreadsheet or presentation showing ``text``."""
    if content_type == ODT:
        body = f"<office:text><text:p>{text}</text:p></office:text>"
    elif content_type == ODS:
        body = (
            '<office:spreadsheet><table:table table:name="Sheet1"><table:table-row>'
            f"<table:table-cell><text:p>{text}</text:p></table:table-cell>"
            "</table:table-row></table:table></office:spreadsheet>"
        )
    else:
        body = (
            '<office:presentation><draw:page draw:name="page1"><draw:frame svg:x="2cm" '
            'svg:y="2cm" svg:width="20cm" svg:height="3cm"><draw:text-box>'
            f"<text:p>{text}</text:p></draw:text-box></draw:frame></draw:page>"
            "</office:presentation>"
        )
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {_ODF_NS}>'
        f"<office:body>{body}</office:body></office:document-content>"
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(zipfile.ZipInfo("mimetype"), content_type, compress_type=zipfile.ZIP_STORED)
        z.writestr("content.xml", content)
        z.writestr("META-INF/manifest.xml", _ODF_MANIFEST.replace("{type}", content_type))
    return buf.getvalue()


def ofd(
    *pages: list[str],
    missing_content: bool = False,
    with_image: bool = False,
    template: str | None = None,
) -> bytes:
    """An OFD (GB/T 33190) with one page per list of lines, each line a TextObject; a
    ``template`` line is drawn on every page from a template page (as e-invoices do), its
    characters spaced by DeltaX."""
    ns = f'xmlns:ofd="{OFD_NS}"'
    members: dict[str, bytes] = {
        "OFD.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><ofd:OFD {ns} Version="1.0" DocType="OFD">'
            "<ofd:DocBody><ofd:DocInfo><ofd:DocID>a1b2c3</ofd:DocID></ofd:DocInfo>"
            "<ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>"
        ).encode(),
        "Doc_0/PublicRes.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><ofd:Res {ns} BaseLoc="Res"><ofd:Fonts>'
            '<ofd:Font ID="2" FontName="宋体" FamilyName="宋体"/></ofd:Fonts></ofd:Res>'
        ).encode(),
    }
    entries = "".join(
        f'<ofd:Page ID="{10 + n}" BaseLoc="Pages/Page_{n}/Content.xml"/>' for n in range(len(pages))
    )
    members["Doc_0/Document.xml"] = (
        f'<?xml version="1.0" encoding="UTF-8"?><ofd:Document {ns}><ofd:CommonData>'
        "<ofd:MaxUnitID>99</ofd:MaxUnitID><ofd:PageArea><ofd:PhysicalBox>0 0 210 140"
        "</ofd:PhysicalBox></ofd:PageArea><ofd:PublicRes>PublicRes.xml</ofd:PublicRes>"
        + ("<ofd:DocumentRes>DocumentRes.xml</ofd:DocumentRes>" if with_image else "")
        + ('<ofd:TemplatePage ID="7" BaseLoc="Tpls/Tpl_0/Content.xml"/>' if template else "")
        + f"</ofd:CommonData><ofd:Pages>{entries}</ofd:Pages></ofd:Document>"
    ).encode()
    if with_image:
        members["Doc_0/DocumentRes.xml"] = (
            f'<?xml version="1.0" encoding="UTF-8"?><ofd:Res {ns} BaseLoc="Res">'
            '<ofd:MultiMedias><ofd:MultiMedia ID="5" Type="Image">'
            "<ofd:MediaFile>stamp.png</ofd:MediaFile></ofd:MultiMedia></ofd:MultiMedias>"
            "</ofd:Res>"
        ).encode()
        members["Doc_0/Res/stamp.png"] = _red_png()
    if template:
        members["Doc_0/Tpls/Tpl_0/Content.xml"] = (
            f'<?xml version="1.0" encoding="UTF-8"?><ofd:Page {ns}><ofd:Content><ofd:Layer ID="8">'
            '<ofd:TextObject ID="9" Boundary="20 120 170 10" Font="2" Size="4">'
            f'<ofd:TextCode X="0" Y="4" DeltaX="g {len(template) - 1} 6">{template}</ofd:TextCode>'
            "</ofd:TextObject></ofd:Layer></ofd:Content></ofd:Page>"
        ).encode()
    for n, lines in enumerate(pages):
        if missing_content and n == len(pages) - 1:
            continue
        objects = "".join(
            f'<ofd:TextObject ID="{100 + i}" Boundary="20 {20 + 12 * i} 170 10" Font="2" '
            f'Size="5"><ofd:TextCode X="0" Y="5">{line}</ofd:TextCode></ofd:TextObject>'
            for i, line in enumerate(lines)
        )
        if with_image:
            objects += '<ofd:ImageObject ID="90" Boundary="150 90 30 30" ResourceID="5"/>'
        members[f"Doc_0/Pages/Page_{n}/Content.xml"] = (
            f'<?xml version="1.0" encoding="UTF-8"?><ofd:Page {ns}>'
            + ('<ofd:Template TemplateID="7"/>' if template else "")
            + f'<ofd:Content><ofd:Layer ID="3">{objects}</ofd:Layer></ofd:Content></ofd:Page>'
        ).encode()
    return samples.zipped(members)


@functools.cache
def ofd_bomb() -> bytes:
    """A valid OFD.xml and a page whose Content.xml inflates to 64 MiB of spaces (1000:1;
    the extractor refuses past 10 MiB at over 200:1, before inflating anything)."""
    good = ofd(["发票"])
    buf = io.BytesIO(good)
    out = io.BytesIO()
    with zipfile.ZipFile(buf) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            if info.filename.endswith("Content.xml"):
                with z.open(info.filename, "w", force_zip64=True) as member:
                    chunk = b" " * (1024 * 1024)
                    for _ in range(64):
                        member.write(chunk)
            else:
                z.writestr(info.filename, src.read(info.filename))
    return out.getvalue()


def _red_png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (40, 40), (200, 20, 20)).save(out, format="PNG")
    return out.getvalue()


def convert(
    data: bytes, source_ext: str, target_ext: str, folder: Path, profile: Path | None = None
) -> bytes:
    """``data`` converted by LibreOffice headless (``soffice --convert-to``); a profile
    shared between calls saves LibreOffice's first-start work."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        unavailable("LibreOffice (soffice) is not installed")
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / f"sample.{source_ext}"
    source.write_bytes(data)
    profile = profile or folder / "profile"
    subprocess.run(  # noqa: S603 - fixed argv
        [
            soffice,
            "--headless",
            "--norestore",
            f"-env:UserInstallation={profile.as_uri()}",
            "--convert-to",
            target_ext,
            "--outdir",
            str(folder),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return (folder / f"sample.{target_ext}").read_bytes()


@pytest.fixture(scope="session")
def legacy(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """.doc, .xls and .ppt made by LibreOffice (once per session), each holding WORDS; "wps"
    is another .doc (what WPS writes as .wps)."""
    root = tmp_path_factory.getbasetemp() / "legacy-office"
    made: dict[str, bytes] = {}
    for ext, source_ext, data in (
        ("doc", "docx", samples.word(WORDS["doc"], "交货期为九十日")),
        ("wps", "docx", samples.word(WORDS["wps"], "保修期两年")),
        ("xls", "xlsx", samples.xlsx(("客户", WORDS["xls"]), ("金额", 1200))),
        ("ppt", "pptx", samples.pptx(WORDS["ppt"])),
    ):
        target = "doc" if ext == "wps" else ext
        cached = root / ext / f"sample.{target}"
        made[ext] = (
            cached.read_bytes()
            if cached.exists()
            else convert(data, source_ext, target, root / ext, root / "profile")
        )
    return made


def encrypted_docx() -> bytes:
    """An OLE compound file holding ``EncryptionInfo`` and ``EncryptedPackage``: what Word
    saves for a password-protected .docx (the streams' contents are not a real cipher)."""
    return ole(
        {"EncryptionInfo": b"\x04\x00\x04\x00" + b"\x00" * 60, "EncryptedPackage": b"\x00" * 64}
    )


def ole(streams: dict[str, bytes]) -> bytes:
    """A minimal OLE compound file (version 3, 512-byte sectors) of small streams, each
    stored in regular sectors (streams under 4096 bytes would normally be in the mini
    stream; readers accept this layout only when the cutoff is met, so each is padded)."""
    sector = 512
    end, free, fat_sector = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD
    padded = {name: data.ljust(4096, b"\x00") for name, data in streams.items()}
    # Layout: sector 0 = FAT, sector 1 = directory, then each stream's sectors.
    fat = [fat_sector, end]
    starts = {}
    next_sector = 2
    for name, data in padded.items():
        count = len(data) // sector
        starts[name] = next_sector
        for i in range(count):
            fat.append(next_sector + i + 1 if i < count - 1 else end)
        next_sector += count
    fat += [free] * (sector // 4 - len(fat))
    assert len(fat) == sector // 4

    def entry(
        name: str, kind: int, start: int, size: int, child: int = free, right: int = free
    ) -> bytes:
        encoded = (name + "\x00").encode("utf-16-le")
        return (
            encoded.ljust(64, b"\x00")
            + len(encoded).to_bytes(2, "little")
            + bytes([kind, 1])  # type, colour (black)
            + free.to_bytes(4, "little")  # left sibling
            + right.to_bytes(4, "little")
            + child.to_bytes(4, "little")
            + b"\x00" * 16  # CLSID
            + b"\x00" * 4  # state bits
            + b"\x00" * 16  # times
            + start.to_bytes(4, "little")
            + size.to_bytes(8, "little")
        )

    names = list(padded)
    directory = entry("Root Entry", 5, end, 0, child=1)
    for i, name in enumerate(names):
        right = i + 2 if i + 1 < len(names) else free
        directory += entry(name, 2, starts[name], len(padded[name]), right=right)
    directory = directory.ljust(sector, b"\x00")
    header = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        + b"\x00" * 16
        + (0x003E).to_bytes(2, "little")
        + (3).to_bytes(2, "little")
        + b"\xfe\xff"
        + (9).to_bytes(2, "little")
        + (6).to_bytes(2, "little")
        + b"\x00" * 6
        + (0).to_bytes(4, "little")  # directory sectors (0 for v3)
        + (1).to_bytes(4, "little")  # FAT sectors
        + (1).to_bytes(4, "little")  # first directory sector
        + (0).to_bytes(4, "little")  # transaction
        + (4096).to_bytes(4, "little")  # mini stream cutoff
        + end.to_bytes(4, "little")  # first mini FAT sector
        + (0).to_bytes(4, "little")
        + end.to_bytes(4, "little")  # first DIFAT sector
        + (0).to_bytes(4, "little")
        + (0).to_bytes(4, "little")  # DIFAT[0] = FAT at sector 0
        + free.to_bytes(4, "little") * 108
    )
    assert len(header) == sector
    body = b"".join(struct_fat(fat)) + directory + b"".join(padded.values())
    return header + body


def struct_fat(fat: list[int]) -> list[bytes]:
    return [value.to_bytes(4, "little") for value in fat]
