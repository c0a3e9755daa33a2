"""HTTP responses both faces send (``web/`` and ``api/`` are siblings; neither imports the
other): a stored file streamed, a rendered page image, a CSV table."""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from flask import Response, send_file, stream_with_context

from archive_service.access.applications import Attachment
from archive_service.archive.reading import Reading, RenditionReading
from archive_service.tables import XLSX
from archive_service.transfer import package

if TYPE_CHECKING:
    from archive_service.policy import Caller
    from archive_service.runtime import Runtime


def stream_file(
    chunks: Any, *, content_type: str, filename: str, size: int, sha256: str, disposition: str
) -> Response:
    """Stream verified plaintext; the name travels only in the header, RFC 6266-encoded."""
    resp = Response(stream_with_context(chunks), mimetype=content_type, direct_passthrough=True)
    resp.headers["Content-Length"] = str(size)
    resp.headers["Content-Disposition"] = (
        f"{disposition}; filename=\"document\"; filename*=UTF-8''{quote(filename)}"
    )
    resp.headers["X-Content-SHA256"] = sha256
    resp.headers["Cache-Control"] = "no-store"
    return resp


def attachment_response(file: Attachment) -> Response:
    """A stored attachment (a legal basis, change evidence) streamed like a document."""
    return stream_file(
        file.chunks,
        content_type=file.content_type,
        filename=file.filename,
        size=file.size,
        sha256=file.sha256,
        disposition="attachment",
    )


def content_response(reading: Reading, disposition: str) -> Response:
    v = reading.version
    return stream_file(
        reading.chunks,
        content_type=v.content_type,
        filename=v.filename,
        size=v.size,
        sha256=v.sha256,
        disposition=disposition,
    )


def rendition_response(reading: RenditionReading, content_type: str) -> Response:
    """A preview PDF or thumbnail, shown inline under the original's name (PDF: ``.pdf``)."""
    stem = reading.version.filename.rsplit(".", 1)[0] or "document"
    suffix = ".png" if content_type == "image/png" else ".pdf"
    return stream_file(
        reading.chunks,
        content_type=content_type,
        filename=f"{stem}{suffix}",
        size=reading.stored.size,
        sha256=reading.stored.sha256,
        disposition="inline",
    )


def png_response(png: bytes) -> Response:
    """A rendered page: no caching anywhere, no file name, nothing to save but pixels."""
    resp = Response(png, mimetype="image/png")
    resp.headers["Cache-Control"] = "no-store, private, max-age=0"
    resp.headers["Pragma"] = "no-cache"
    resp.headers["Content-Disposition"] = "inline"
    return resp


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    # A cell a spreadsheet would run as a formula is made inert.
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def csv_rows(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """A CSV table, a line at a time, with formula-looking cells made inert."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
        yield buf.getvalue()
        buf.seek(0)
        buf.truncate()
    yield buf.getvalue()


def csv_response(filename: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Response:
    return Response(
        stream_with_context(csv_rows(columns, rows)),
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename={filename}"},
    )


def download_response(body: bytes, content_type: str, filename: str) -> Response:
    """A generated file (a list as PDF or XLSX) as a download nobody caches."""
    return Response(
        body,
        mimetype=content_type,
        headers={
            "Content-Disposition": f"attachment; filename={filename}",
            "Cache-Control": "no-store",
        },
    )


TABLE_FORMATS = {"pdf": "application/pdf", "xlsx": XLSX}  # a list handed out (tables.py)


def table_file_response(body: bytes, fmt: str, stem: str) -> Response:
    """A list made by ``tables.pdf`` or ``tables.xlsx`` as ``{stem}.{fmt}``."""
    return download_response(body, TABLE_FORMATS[fmt], f"{stem}.{fmt}")


def table(items: Iterable[dict[str, Any]], columns: Sequence[str]) -> Iterator[list[Any]]:
    """Dicts as rows of ``columns``."""
    return ([item[c] for c in columns] for item in items)


def transfer_package(rt: Runtime, by: Caller, transfer_id: int) -> Response:
    """Write an approved transfer's package (``transfer.package.export``: registered and
    audited first) into the private temporary folder and hand it over; the file is gone
    from the folder before the first byte is sent (the open handle keeps it)."""
    fd, name = tempfile.mkstemp(prefix="transfer-", suffix=".zip", dir=rt.temp_dir)
    os.close(fd)
    path = Path(name)
    try:
        done = package.export(package.Exporting.of(rt), by, transfer_id, path)
        handle = path.open("rb")
    finally:
        path.unlink(missing_ok=True)
    response = send_file(
        handle,
        mimetype="application/zip",
        as_attachment=True,
        download_name=f"transfer-{transfer_id}.zip",
        max_age=0,
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Manifest-SHA256"] = done.manifest_sha256
    return response
