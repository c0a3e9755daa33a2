"""What a file's structure says about it, for the intake checks (四性检测): whether it parses
to its end and how many pages it has, whether it is encrypted, signed, carries macros,
scripts, launch actions, attachments or executables, and which fonts it leaves out.

The file is untrusted: :func:`probe` runs the parsers (pikepdf, pyHanko, oletools,
msoffcrypto-tool, Pillow) in the limited child process (:mod:`search.sandbox`) and never
raises for a bad file — a failure comes back as a :class:`Probe` with ``error`` set. The
family is decided from the bytes (PDF, OLE compound file, OOXML package, image), not from
the declared type, so an encrypted OOXML file (an OLE container) is read as what it is.
Nothing here alters the file.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from typing import Any

from search.packages import inflation_problem
from search.sandbox import SandboxError, run_limited

PDF, OLE, OOXML, IMAGE, OTHER = "pdf", "ole", "ooxml", "image", "other"
# Imported by the sandbox's fork server once, for every child (see search.extract).
SANDBOX_PRELOAD = (
    "pikepdf", "pyhanko.pdf_utils.reader", "pyhanko.sign.validation", "pyhanko_certvalidator",
    "msoffcrypto", "olefile", "oletools.oleobj", "oletools.olevba", "PIL.Image",
)  # fmt: skip
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_EXECUTABLE_MAGIC = (b"MZ", b"\x7fELF", b"#!", b"\xca\xfe\xba\xbe", b"\xcf\xfa\xed\xfe")
_EXECUTABLE_NAMES = (
    ".exe", ".dll", ".scr", ".com", ".bat", ".cmd", ".ps1", ".vbs", ".js", ".jar", ".msi",
    ".hta", ".lnk", ".sh", ".elf", ".pif", ".cpl", ".wsf",
)  # fmt: skip
# The PDF standard 14 fonts: every reader has them, so they need not be embedded.
_BASE14 = {
    "Courier", "Courier-Bold", "Courier-Oblique", "Courier-BoldOblique", "Helvetica",
    "Helvetica-Bold", "Helvetica-Oblique", "Helvetica-BoldOblique", "Times-Roman",
    "Times-Bold", "Times-Italic", "Times-BoldItalic", "Symbol", "ZapfDingbats",
}  # fmt: skip
_MAX_OBJECTS = 2_000_000


@dataclass(frozen=True)
class Signature:
    """One embedded signature: ``intact`` (the signed bytes are unchanged), ``valid`` (the
    cryptography holds), ``trusted`` (the signer chains to a trusted root)."""

    field: str
    intact: bool
    valid: bool
    trusted: bool
    error: str | None = None


@dataclass(frozen=True)
class Probe:
    """What the child found; None in a field means the question does not apply to the
    file's family. ``error`` says why the file could not be examined at all."""

    family: str = OTHER
    parsed: bool = False
    parse_error: str | None = None
    pages: int | None = None
    encrypted: bool | None = None
    signatures: tuple[Signature, ...] | None = None
    fonts_missing: tuple[str, ...] | None = None
    javascript: bool | None = None
    launch: bool | None = None
    attachments: int | None = None
    executables: tuple[str, ...] | None = None
    macros: bool | None = None
    error: str | None = None


def family_of(head: bytes, path: str | None = None) -> str:
    """The structural family of a file from its first bytes (and, for a ZIP, its members)."""
    if head.startswith(b"%PDF-") or b"%PDF-" in head[:1024]:
        return PDF
    if head.startswith(_OLE_MAGIC):
        return OLE
    if head.startswith(b"PK\x03\x04") and path is not None:
        try:
            with zipfile.ZipFile(path) as z:
                if "[Content_Types].xml" in z.namelist():
                    return OOXML
        except (zipfile.BadZipFile, OSError):
            return OTHER
        return OTHER
    if head[:8] == b"\x89PNG\r\n\x1a\n" or head[:3] == b"\xff\xd8\xff":
        return IMAGE
    if head[:4] in (b"II*\x00", b"MM\x00*") or head[:2] == b"BM":
        return IMAGE
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return IMAGE
    return OTHER


def probe(path: str | os.PathLike[str], *, timeout: float = 60.0, memory_mb: int = 1024) -> Probe:
    """Examine the file at ``path`` in a limited child; never raises for a bad file."""
    path = os.fspath(path)
    with open(path, "rb") as f:
        head = f.read(4096)
    family = family_of(head, path)
    if family == OTHER:
        return Probe(family=OTHER, parsed=True)
    try:
        found: dict[str, Any] = run_limited(
            _probe_in_child, path, family, timeout=timeout, memory_mb=memory_mb
        )
    except SandboxError as exc:
        return Probe(family=family, error=_reason(exc, timeout))
    except Exception as exc:  # noqa: BLE001 - the sandbox itself failed: nothing was parsed
        return Probe(family=family, error=f"the examination could not start: {type(exc).__name__}")
    sigs = found.pop("signatures", None)
    plain: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in found.items()}
    return Probe(
        family=family,
        signatures=None if sigs is None else tuple(Signature(*s) for s in sigs),
        **plain,
    )


def _reason(exc: SandboxError, timeout: float) -> str:
    message = str(exc)
    if "MemoryError" in message:
        return "the file needs more memory than the limit allows"
    if exc.reason == "timeout":
        return f"the examination took longer than {timeout:g} s"
    if exc.reason == "crashed":
        return "the parser stopped on the file (it is damaged or hostile)"
    if exc.reason == "start":
        return "the examination could not start"
    return f"the file could not be parsed: {message[:200]}"


# --------------------------------------------------------------------------- in the child


def _probe_in_child(path: str, family: str) -> dict[str, Any]:
    """Runs in the sandbox: plain data only (see :class:`Probe`)."""
    return {PDF: _pdf, OLE: _ole, OOXML: _ooxml, IMAGE: _image}[family](path)


def _looks_executable(name: str, data: bytes) -> bool:
    return data.startswith(_EXECUTABLE_MAGIC) or name.lower().endswith(_EXECUTABLE_NAMES)


def _pdf(path: str) -> dict[str, Any]:
    import pikepdf

    out: dict[str, Any] = {"encrypted": False}
    try:
        pdf = pikepdf.open(path)
    except pikepdf.PasswordError:
        return {"encrypted": True, "parsed": False, "parse_error": "a password is needed to open"}
    except pikepdf.PdfError as exc:
        return {"parsed": False, "parse_error": f"not a readable PDF: {str(exc)[:200]}"}
    with pdf:
        out["encrypted"] = bool(pdf.is_encrypted)
        problems = [p for p in pdf.check_pdf_syntax() if "error" in str(p).lower()]
        out["pages"] = len(pdf.pages)
        javascript = launch = False
        attachments = 0
        executables: list[str] = []
        has_signature_field = False
        for count, obj in enumerate(pdf.objects):
            if count > _MAX_OBJECTS:
                problems.append("too many objects")
                break
            if not isinstance(obj, pikepdf.Dictionary | pikepdf.Stream):
                continue
            action = obj.get("/S")
            if action == pikepdf.Name.JavaScript or "/JS" in obj:
                javascript = True
            if action == pikepdf.Name.Launch:
                launch = True
            if obj.get("/FT") == pikepdf.Name.Sig or obj.get("/Type") == pikepdf.Name.Sig:
                has_signature_field = True
            if obj.get("/Type") == pikepdf.Name.Filespec and "/EF" in obj:
                attachments += 1
                name = str(obj.get("/UF", obj.get("/F", "")))
                ef = obj.get("/EF")
                stream = ef.get("/F") if isinstance(ef, pikepdf.Dictionary) else None
                head = b""
                if isinstance(stream, pikepdf.Stream):
                    head = stream.read_bytes()[:8]
                if _looks_executable(name, head):
                    executables.append(name[:100] or "(unnamed)")
        names = pdf.Root.get("/Names")
        if isinstance(names, pikepdf.Dictionary) and "/JavaScript" in names:
            javascript = True
        out.update(
            javascript=javascript,
            launch=launch,
            attachments=attachments,
            executables=executables,
            fonts_missing=sorted(_pdf_fonts_missing(pdf)),
        )
        out["parsed"] = not problems and out["pages"] > 0
        out["parse_error"] = "; ".join(str(p)[:120] for p in problems[:3]) or (
            None if out["pages"] else "the PDF has no pages"
        )
    out["signatures"] = _pdf_signatures(path) if has_signature_field else []
    return out


def _pdf_fonts_missing(pdf: Any) -> set[str]:
    """Fonts the pages use that are neither embedded nor standard nor installed here."""
    import pikepdf

    missing: set[str] = set()
    installed: set[str] | None = None
    for page in pdf.pages:
        resources = page.obj.get("/Resources")
        fonts = resources.get("/Font") if isinstance(resources, pikepdf.Dictionary) else None
        if not isinstance(fonts, pikepdf.Dictionary):
            continue
        for _key, font in fonts.items():
            if not isinstance(font, pikepdf.Dictionary) or font.get("/Subtype") == "/Type3":
                continue
            descriptor_of: Any = font
            descendants = font.get("/DescendantFonts")
            if isinstance(descendants, pikepdf.Array) and len(descendants):
                descriptor_of = descendants[0]
            descriptor = descriptor_of.get("/FontDescriptor")
            if isinstance(descriptor, pikepdf.Dictionary) and any(
                k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")
            ):
                continue
            name = str(font.get("/BaseFont", "")).lstrip("/")
            name = name.split("+", 1)[1] if "+" in name[:7] else name
            if name in _BASE14:
                continue
            if installed is None:
                installed = _installed_fonts()
            if name.split("-")[0].replace(" ", "").lower() not in installed:
                missing.add(name[:80] or "(unnamed)")
    return missing


def _installed_fonts() -> set[str]:
    import shutil
    import subprocess

    if shutil.which("fc-list") is None:
        return set()
    try:
        listed = subprocess.run(  # noqa: S603 - a fixed command, no file data in it
            ["fc-list", ":", "family", "postscriptname"],  # noqa: S607
            capture_output=True,
            timeout=10,
            check=False,
        ).stdout.decode("utf-8", "replace")
    except (OSError, subprocess.SubprocessError):
        return set()
    names: set[str] = set()
    for line in listed.splitlines():
        for part in line.replace(":", ",").split(","):
            part = part.strip()
            if part.startswith(("family=", "postscriptname=")):
                part = part.split("=", 1)[1]
            if part:
                names.add(part.split("-")[0].replace(" ", "").lower())
    return names


def _pdf_signatures(path: str) -> list[tuple[str, bool, bool, bool, str | None]]:
    """Each embedded signature validated by pyHanko, offline (no revocation fetching)."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    found: list[tuple[str, bool, bool, bool, str | None]] = []
    with open(path, "rb") as f:
        reader = PdfFileReader(f, strict=False)
        for sig in reader.embedded_signatures:
            name = str(sig.field_name)[:100]
            try:
                status = validate_pdf_signature(sig, ValidationContext(allow_fetching=False))
                found.append(
                    (name, bool(status.intact), bool(status.valid), bool(status.trusted), None)
                )
            except Exception as exc:  # noqa: BLE001 - a malformed signature is an invalid one
                found.append((name, False, False, False, f"{type(exc).__name__}"))
    return found


def _ole(path: str) -> dict[str, Any]:
    import msoffcrypto
    import olefile

    out: dict[str, Any] = {"attachments": None, "javascript": None, "launch": None}
    try:
        with open(path, "rb") as f:
            out["encrypted"] = bool(msoffcrypto.OfficeFile(f).is_encrypted())
    except Exception:  # noqa: BLE001 - a type msoffcrypto does not know: decided below
        out["encrypted"] = None
    try:
        ole = olefile.OleFileIO(path)
    except Exception as exc:  # noqa: BLE001
        out.update(parsed=False, parse_error=f"not a readable compound file: {str(exc)[:200]}")
        return out
    with ole:
        streams = ole.listdir(streams=True, storages=False)
        if out["encrypted"] is None:
            out["encrypted"] = ["EncryptionInfo"] in streams or ["EncryptedPackage"] in streams
        total = 0
        for entry in streams:  # reading every stream is reading the file to its end
            total += len(ole.openstream(entry).read())
        try:
            pages = ole.get_metadata().num_pages
        except Exception:  # noqa: BLE001 - no summary information
            pages = None
        out["pages"] = int(pages) if isinstance(pages, int) and pages > 0 else None
        out["executables"] = _ole_executables(ole)
    out["parsed"] = True
    out["parse_error"] = None
    try:
        out["macros"] = False if out["encrypted"] else _vba_macros(path)
    except Exception:  # noqa: BLE001 - a VBA project olevba cannot read: looked for, not found
        out["macros"] = None
    return out


def _ole_executables(ole: Any) -> list[str]:
    """Executables packaged as OLE objects (``\\x01Ole10Native`` streams, oleobj's parser)."""
    from oletools.oleobj import OleNativeStream

    found: list[str] = []
    for entry in ole.listdir(streams=True, storages=False):
        if entry[-1] != "\x01Ole10Native":
            continue
        data = ole.openstream(entry).read()
        try:
            native = OleNativeStream(data)
            name = str(native.filename or native.src_path or "")
            payload = bytes(native.data or b"")[:8]
        except Exception:  # noqa: BLE001 - an unparseable package: judge by its bytes
            name, payload = "", data[4:12]
        if _looks_executable(name, payload):
            found.append(name[:100] or "(unnamed)")
    return found


def _vba_macros(path: str) -> bool:
    from oletools.olevba import VBA_Parser

    parser = VBA_Parser(path)
    try:
        return bool(parser.detect_vba_macros())
    finally:
        parser.close()


def _ooxml(path: str) -> dict[str, Any]:
    import xml.etree.ElementTree as ET  # noqa: S405 - expat refuses entity expansion bombs

    out: dict[str, Any] = {"encrypted": False, "javascript": None, "launch": None}
    try:
        z = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        return {"parsed": False, "parse_error": f"not a readable package: {exc}"}
    with z:
        problem = inflation_problem(z)
        if problem:
            return {"parsed": False, "parse_error": problem}
        bad = z.testzip()  # every member decompressed and its CRC checked: read to the end
        if bad is not None:
            return {"parsed": False, "parse_error": f"a damaged member: {bad[:100]}"}
        names = z.namelist()
        for name in names:
            if name.endswith((".xml", ".rels")):
                try:
                    ET.fromstring(z.read(name))  # noqa: S314
                except ET.ParseError as exc:
                    return {"parsed": False, "parse_error": f"{name[:100]}: {exc}"}
        out["pages"] = _ooxml_pages(z, names)
        # A macro-enabled package keeps its VBA project in vbaProject.bin (oletools looks there
        # too): its presence is the finding, whatever the project holds.
        out["macros"] = any(n.lower().endswith("vbaproject.bin") for n in names)
        embedded = [n for n in names if "/embeddings/" in n]
        out["attachments"] = len(embedded)
        executables: list[str] = []
        for name in embedded:
            data = z.read(name)
            if data.startswith(_OLE_MAGIC):
                import io

                import olefile

                try:
                    with olefile.OleFileIO(io.BytesIO(data)) as ole:
                        executables += _ole_executables(ole)
                except Exception:  # noqa: BLE001 - unreadable embedded object
                    executables.append(name.rsplit("/", 1)[-1][:100])
            elif _looks_executable(name, data[:8]):
                executables.append(name.rsplit("/", 1)[-1][:100])
        out["executables"] = executables
    out["parsed"], out["parse_error"] = True, None
    return out


def _ooxml_pages(z: zipfile.ZipFile, names: list[str]) -> int | None:
    """Pages, sheets or slides: what the package records (Office writes it on save)."""
    import re

    if "docProps/app.xml" in names:
        app = z.read("docProps/app.xml").decode("utf-8", "replace")
        for tag in ("Pages", "Slides"):
            m = re.search(rf"<{tag}>(\d+)</{tag}>", app)
            if m and int(m.group(1)) > 0:
                return int(m.group(1))
    sheets = [n for n in names if n.startswith("xl/worksheets/sheet")]
    slides = [n for n in names if re.match(r"ppt/slides/slide\d+\.xml$", n)]
    return len(sheets) or len(slides) or None


def _image(path: str) -> dict[str, Any]:
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = 200_000_000
    out: dict[str, Any] = {"encrypted": False, "macros": None}
    try:
        with Image.open(path) as im:
            frames = getattr(im, "n_frames", 1)
            for n in range(min(frames, 5000)):
                im.seek(n)
                im.load()  # decoded to the end: a truncated image fails here
    except Exception as exc:  # noqa: BLE001 - Pillow raises many kinds for a bad image
        return {"parsed": False, "parse_error": f"the image does not decode: {str(exc)[:200]}"}
    out.update(parsed=True, parse_error=None, pages=frames)
    return out
