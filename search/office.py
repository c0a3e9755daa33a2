"""Office documents and text converted with LibreOffice headless, one throw-away run per
file: to PDF for page rendering (``archive_service.viewing``), to DOCX/XLSX/PPTX for text
extraction of the formats no Python parser here reads (.doc, .xls, .ppt, .rtf, ODF, WPS).

Each run gets its own profile, temp dir and output dir inside the caller's work dir, a
fresh environment (none of the web process's secrets), a process group of its own so a
timeout kills every LibreOffice process, an address-space limit, and a profile that
blocks macros and network.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import logging
import os
import resource
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

# LibreOffice import filter per content type. Forcing the filter keeps LibreOffice from
# "detecting" something else in the bytes (an HTML page named .docx would otherwise be
# loaded by the web importer, which fetches remote images).
FILTERS: dict[str, tuple[str, str]] = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (
        "docx",
        "MS Word 2007 XML",
    ),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (
        "xlsx",
        "Calc MS Excel 2007 XML",
    ),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": (
        "pptx",
        "Impress MS PowerPoint 2007 XML",
    ),
    "application/msword": ("doc", "MS Word 97"),
    "application/vnd.ms-excel": ("xls", "MS Excel 97"),
    "application/vnd.ms-powerpoint": ("ppt", "MS PowerPoint 97"),
    "application/rtf": ("rtf", "Rich Text Format"),
    "application/vnd.oasis.opendocument.text": ("odt", "writer8"),
    "application/vnd.oasis.opendocument.spreadsheet": ("ods", "calc8"),
    "application/vnd.oasis.opendocument.presentation": ("odp", "impress8"),
    # Text is re-encoded to UTF-8 first, so the filter options can name the charset.
    "text/plain": ("txt", "Text (encoded):UTF8,LF,,,"),
    # Separator as sniffed, '"' quotes, UTF-8 (76), from line 1; quoted fields stay text and
    # formulas are not evaluated (token 13), so "=WEBSERVICE(...)" is only shown.
    "text/csv": ("csv", "CSV:{sep},34,76,1,,0,true,false,false,false,false,-1,false"),
}

# Kingsoft WPS files are Word / Excel / PowerPoint files under another name: the binary
# (OLE) formats, or, from newer WPS versions, the Office Open XML ones. The filter follows
# the bytes: a ZIP is read as the OOXML twin, anything else as the binary one.
WPS_WRITER = "application/wps-office.wps"
WPS_SPREADSHEET = "application/wps-office.et"
WPS_PRESENTATION = "application/wps-office.dps"
_DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
_WPS_TWINS: dict[str, tuple[str, str]] = {  # WPS type: (its OOXML twin, its binary twin)
    WPS_WRITER: (_DOCX, "application/msword"),
    WPS_SPREADSHEET: (_XLSX, "application/vnd.ms-excel"),
    WPS_PRESENTATION: (_PPTX, "application/vnd.ms-powerpoint"),
}
CONVERTIBLE: frozenset[str] = frozenset({*FILTERS, *_WPS_TWINS})

# What a document becomes for text extraction: the OOXML file of its kind, which the
# Python extractors read (tables, sheets and slides kept apart).
_FOR_TEXT: dict[str, tuple[str, str, str]] = {  # kind: (extension, export filter, type)
    "writer": ("docx", "MS Word 2007 XML", _DOCX),
    "calc": ("xlsx", "Calc MS Excel 2007 XML", _XLSX),
    "impress": ("pptx", "Impress MS PowerPoint 2007 XML", _PPTX),
}
_KIND = {
    **dict.fromkeys((_DOCX, "application/msword", "application/rtf", "text/plain"), "writer"),
    "application/vnd.oasis.opendocument.text": "writer",
    **dict.fromkeys((_XLSX, "application/vnd.ms-excel", "text/csv"), "calc"),
    "application/vnd.oasis.opendocument.spreadsheet": "calc",
    **dict.fromkeys((_PPTX, "application/vnd.ms-powerpoint"), "impress"),
    "application/vnd.oasis.opendocument.presentation": "impress",
    WPS_WRITER: "writer",
    WPS_SPREADSHEET: "calc",
    WPS_PRESENTATION: "impress",
}

# Address-space limit for LibreOffice (via prlimit); a small document needs about 512 MB.
MEMORY_MB = 2048

# Read at start-up by LibreOffice from the fresh profile: no macros, no links to
# untrusted external resources, every network request through a proxy that does not
# exist, and the zh-CN locale (A4 paper, Chinese default fonts).
_SCRIPTING = "/org.openoffice.Office.Common/Security/Scripting"
_INET = "/org.openoffice.Inet/Settings"
_PROFILE_SETTINGS: tuple[tuple[str, str, str], ...] = (
    (_SCRIPTING, "MacroSecurityLevel", "3"),
    (_SCRIPTING, "DisableMacrosExecution", "true"),
    (_SCRIPTING, "BlockUntrustedRefererLinks", "true"),
    (_INET, "ooInetProxyType", "1"),
    (_INET, "ooInetHTTPProxyName", "127.0.0.1"),
    (_INET, "ooInetHTTPProxyPort", "9"),
    (_INET, "ooInetHTTPSProxyName", "127.0.0.1"),
    (_INET, "ooInetHTTPSProxyPort", "9"),
    (_INET, "ooInetFTPProxyName", "127.0.0.1"),
    (_INET, "ooInetFTPProxyPort", "9"),
    (_INET, "ooInetNoProxy", ""),
    ("/org.openoffice.Setup/L10N", "ooSetupSystemLocale", "zh-CN"),
)

_DEAD_PROXY = "http://127.0.0.1:9"

log = logging.getLogger(__name__)


class ConversionError(Exception):
    """LibreOffice did not produce a PDF; the message says why."""


class ConversionTimeout(ConversionError):
    """LibreOffice ran out of its time and was killed."""


def soffice_path() -> str | None:
    """The LibreOffice launcher, or None when it is not installed."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def convert_to_pdf(source: Path, content_type: str, work_dir: Path, timeout: float) -> Path:
    """``source`` as a PDF inside a new directory under ``work_dir``; raises ConversionError."""
    return _run(source, content_type, work_dir, timeout, "pdf", "pdf")


def convert_for_text(
    source: Path, content_type: str, work_dir: Path, timeout: float
) -> tuple[Path, str]:
    """``source`` as the OOXML file of its kind (DOCX, XLSX or PPTX) inside a new directory
    under ``work_dir``, and that file's content type; raises ConversionError."""
    extension, export, result_type = _FOR_TEXT[_KIND[content_type]]
    return _run(source, content_type, work_dir, timeout, extension, f"{extension}:{export}"), (
        result_type
    )


def import_filter(content_type: str, source: Path) -> tuple[str, str]:
    """The extension and LibreOffice import filter ``source`` is read with."""
    twins = _WPS_TWINS.get(content_type)
    if twins is not None:
        with source.open("rb") as handle:
            is_zip = handle.read(4) == b"PK\x03\x04"
        content_type = twins[0] if is_zip else twins[1]
    return FILTERS[content_type]


def _run(
    source: Path, content_type: str, work_dir: Path, timeout: float, suffix: str, target: str
) -> Path:
    if content_type not in CONVERTIBLE:
        raise ConversionError(f"LibreOffice does not read {content_type}")
    extension, infilter = import_filter(content_type, source)
    soffice = soffice_path()
    if soffice is None:
        raise ConversionError("LibreOffice (soffice) is not installed")
    run_dir = Path(tempfile.mkdtemp(prefix="office-", dir=work_dir))
    try:
        return _convert(
            soffice, source, content_type, extension, infilter, run_dir, timeout, suffix, target
        )
    except BaseException:
        shutil.rmtree(run_dir, ignore_errors=True)
        raise


def _convert(
    soffice: str,
    source: Path,
    content_type: str,
    extension: str,
    infilter: str,
    run_dir: Path,
    timeout: float,
    suffix: str = "pdf",
    target: str = "pdf",
) -> Path:
    profile, tmp, in_dir, out_dir = (run_dir / n for n in ("profile", "tmp", "in", "out"))
    for d in (profile / "user", tmp, in_dir, out_dir):
        d.mkdir(parents=True)
    _write_profile(profile / "user" / "registrymodifications.xcu")
    # A neutral name: Calc prints the sheet name (the file's stem) in the page header,
    # and the original name must not reach LibreOffice anyway.
    document = in_dir / f"document.{extension}"
    if content_type == "text/plain":
        document.write_text(_decode_text(source.read_bytes()), encoding="utf-8")
    elif content_type == "text/csv":
        text = _decode_text(source.read_bytes())
        document.write_text(text, encoding="utf-8")
        infilter = infilter.format(sep=ord(_sniff_delimiter(text)))
    else:
        shutil.copyfile(source, document)

    cmd = [
        soffice,
        "--headless",
        "--invisible",
        "--nologo",
        "--nodefault",
        "--nolockcheck",
        "--norestore",
        f"-env:UserInstallation={profile.as_uri()}",
        f"--infilter={infilter}",
        "--convert-to",
        target,
        "--outdir",
        str(out_dir),
        str(document),
    ]
    prlimit = shutil.which("prlimit")
    if prlimit:
        limit = _memory_limit()
        cmd = [prlimit, f"--as={limit}", "--core=0", "--", *cmd]
    log_path = run_dir / "soffice.log"
    with log_path.open("wb") as log_file:
        # A session of its own: the launcher forks soffice.bin, and a timeout must kill both.
        proc = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=log_file,
            env=_environment(profile, tmp),
            cwd=run_dir,
            start_new_session=True,
        )
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            log.warning("LibreOffice killed after %g s", timeout)
            raise ConversionTimeout(f"LibreOffice took longer than {timeout:g} s") from None
        except BaseException:
            _kill_group(proc)
            raise
        # The launcher has exited; anything it left behind in its group goes too.
        _kill_group(proc)

    pdf = out_dir / f"document.{suffix}"
    if not pdf.is_file() or pdf.stat().st_size == 0:
        # LibreOffice's own words name paths: they go to the operator's log, not the message.
        detail = log_path.read_text(encoding="utf-8", errors="replace").strip()[-500:]
        log.warning("LibreOffice (exit %s) made no PDF: %s", proc.returncode, detail)
        raise ConversionError("LibreOffice could not convert the file")
    # Only the result is needed from here on: drop the plaintext copy and LibreOffice's files.
    for d in (profile, tmp, in_dir):
        shutil.rmtree(d, ignore_errors=True)
    log_path.unlink(missing_ok=True)
    return pdf


def _memory_limit() -> int:
    """MEMORY_MB, or less when this process may not give that much (inside the limited
    child of ``search.sandbox`` a limit may be lowered but never raised)."""
    limit = MEMORY_MB * 1024 * 1024
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    return limit


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _environment(profile: Path, tmp: Path) -> dict[str, str]:
    """A minimal environment: nothing of the web process (keys, database URLs) leaks in,
    temporary files stay in the work dir, and network access goes nowhere."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "HOME": str(profile),
        "TMPDIR": str(tmp),
        "TMP": str(tmp),
        "TEMP": str(tmp),
        "LANG": "C.UTF-8",
        "SAL_USE_VCLPLUGIN": "svp",
        "no_proxy": "",
        "NO_PROXY": "",
    }
    for name in ("http_proxy", "https_proxy", "ftp_proxy", "all_proxy"):
        env[name] = env[name.upper()] = _DEAD_PROXY
    return env


def _write_profile(path: Path) -> None:
    items = "".join(
        f'<item oor:path="{node}"><prop oor:name="{name}" oor:op="fuse">'
        f"<value>{value}</value></prop></item>\n"
        for node, name, value in _PROFILE_SETTINGS
    )
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<oor:items xmlns:oor="http://openoffice.org/2001/registry" '
        'xmlns:xs="http://www.w3.org/2001/XMLSchema" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n'
        f"{items}</oor:items>\n",
        encoding="utf-8",
    )


def _decode_text(data: bytes) -> str:
    """Text of unknown encoding: UTF-8 (with or without BOM), UTF-16 with BOM, then GB18030
    (the usual legacy encoding of Chinese files), else Latin-1, which never fails."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def _sniff_delimiter(text: str) -> str:
    try:
        return csv.Sniffer().sniff(text[:8192], delimiters=",;\t|").delimiter
    except csv.Error:
        return ","
