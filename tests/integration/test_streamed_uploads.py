"""Large uploads read as they arrive (``POST /api/v1/documents``): stored byte for byte
whatever the order of the form's parts, and a refused or cut-off upload leaves nothing
behind — no object in the store, no row, no temporary file."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import secrets
import socket
import threading
import time
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from archive_service.archive.models import Document
from archive_service.vault.models import StoredObject
from tests import samples
from tests.conftest import People, bearer, token_for

BOUNDARY = "streamed-upload-test-" + secrets.token_hex(6)
MB = 1_000_000


@pytest.fixture
def org(client: Any, people: People) -> dict[str, Any]:
    people.user("clara", "clerk", department="SALES")
    people.user("arch", "archivist", department="OPS")
    heads = {name: bearer(token_for(client, name)) for name in ("clara", "arch")}
    return {**heads, "customer": people.customer("clara")}


def big_pdf(size: int, after_eof: bytes = b"\n") -> bytes:
    """A PDF-shaped file of ``size`` bytes: random stream content, one %%EOF at its end (and
    ``after_eof`` after it)."""
    head = b"%PDF-1.7\n1 0 obj\n<< /Length 0 >>\nstream\n"
    tail = b"\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF" + after_eof
    return head + os.urandom(size - len(head) - len(tail)) + tail


def big_docx(size: int) -> bytes:
    """A Word package holding a large stored (incompressible) picture."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        z.writestr("[Content_Types].xml", zipfile.ZipFile(io.BytesIO(samples.docx())).read(
            "[Content_Types].xml"
        ))  # fmt: skip
        z.writestr("word/document.xml", "<w:document/>")
        z.writestr("word/media/image1.bin", os.urandom(size))
    return buf.getvalue()


def multipart(fields: list[tuple[str, str]], filename: str, data: bytes, file_at: int) -> bytes:
    """A multipart body with the file as part number ``file_at`` among ``fields``."""
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields
    ]
    file_part = (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + data
        + b"\r\n"
    )
    parts.insert(file_at, file_part)
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def fields_of(customer: int, **extra: str) -> list[tuple[str, str]]:
    base = {
        "customer_id": str(customer),
        "category": "basic.profile",
        "title": "扫描件",
        "retention_class": "short",
        **extra,
    }
    return [(k, v) for k, v in base.items() if v]


def post(client: Any, who: dict[str, str], body: bytes) -> Any:
    return client.post(
        "/api/v1/documents",
        data=body,
        headers=who,
        content_type=f"multipart/form-data; boundary={BOUNDARY}",
    )


def deleted_files_open() -> int:
    """Open descriptors of this process on unlinked files (an unnamed temporary file)."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            count += os.readlink(f"/proc/self/fd/{fd}").endswith("(deleted)")
    return count


def store_files(rt: Any) -> list[Path]:
    """Every file in the local store's folder, finished objects and temporary ones."""
    root = Path(rt.vault.backend.root)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def assert_nothing_kept(rt: Any, open_before: int) -> None:
    assert list(rt.vault.backend.list_names()) == []
    assert store_files(rt) == []
    with rt.db.unit_of_work() as s:
        assert s.execute(select(func.count()).select_from(StoredObject)).scalar_one() == 0
        assert s.execute(select(func.count()).select_from(Document)).scalar_one() == 0
    assert deleted_files_open() <= open_before


@pytest.mark.parametrize(
    ("filename", "make", "file_at"),
    [
        ("scan.pdf", lambda: big_pdf(40 * MB), 4),  # the fields first: checked before the file
        ("ledger.pdf", lambda: big_pdf(30 * MB), 0),  # the file first: the fields checked after
        ("report.docx", lambda: big_docx(30 * MB), 2),  # checked on a copy made on the way
    ],
)
def test_large_upload_is_stored_byte_for_byte(
    client: Any, org: Any, filename: str, make: Any, file_at: int
) -> None:
    data = make()
    body = multipart(fields_of(org["customer"], **{"tags": "大文件"}), filename, data, file_at)
    resp = post(client, org["clara"], body)
    assert resp.status_code == 201, resp.get_json()
    doc = resp.get_json()
    assert doc["size"] == len(data) and doc["sha256"] == hashlib.sha256(data).hexdigest()
    assert doc["tags"] == ["大文件"] and doc["title"] == "扫描件"
    # The generated files are not real documents (their checks fail): accepted regardless.
    accepted = client.post(
        f"/api/v1/documents/{doc['id']}/accept",
        json={"override_reason": "测试文件"},
        headers=org["arch"],
    )
    assert accepted.status_code == 200, accepted.get_json()
    got = client.get(f"/api/v1/documents/{doc['id']}/content", headers=org["clara"])
    assert got.status_code == 200
    assert hashlib.sha256(got.data).hexdigest() == doc["sha256"] and got.data == data


def test_fields_after_the_file_count(client: Any, org: Any) -> None:
    """A category fact sent after the file is checked like one sent before it."""
    data = big_pdf(2 * MB)
    fields = fields_of(org["customer"], category="business.contract")
    body = multipart([*fields, ("facts.contract_number", "HT-2025-001")], "c.pdf", data, 4)
    resp = post(client, org["clara"], body)
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["facts"]["contract_number"] == "HT-2025-001"


def _too_large(rt: Any) -> bytes:
    rt.archive = replace(rt.archive, intake=replace(rt.archive.intake, max_bytes=1 * MB))
    return big_pdf(3 * MB)


@pytest.mark.parametrize(
    ("case", "status"),
    [
        ("too_large", 413),  # refused while it streams, past the intake limit
        ("executable", 415),  # refused from its first bytes
        ("zip_behind_pdf", 415),  # refused at its end, once stored: the object goes
        ("junk_after_eof", 415),  # the end holds no %%EOF: the stored file is read again
        ("not_a_package", 415),  # a ZIP named .docx, checked on its temporary copy
        ("no_title", 422),  # the file came first; the missing field is named after it
    ],
)
def test_refused_upload_keeps_nothing(
    client: Any, org: Any, rt: Any, case: str, status: int
) -> None:
    open_before = deleted_files_open()
    name, extra, file_at = "scan.pdf", {}, 4
    if case == "too_large":
        data = _too_large(rt)
    elif case == "executable":
        data = samples.windows_exe() + os.urandom(2 * MB)
    elif case == "zip_behind_pdf":
        data = big_pdf(3 * MB) + samples.exe_in_zip()
    elif case == "junk_after_eof":
        data = big_pdf(3 * MB, after_eof=b"\n" + os.urandom(100_000))
    elif case == "not_a_package":
        name, data = "report.docx", samples.zipped({"a.bin": os.urandom(3 * MB)})
    else:
        data, extra, file_at = big_pdf(3 * MB), {"title": ""}, 0
    resp = post(
        client, org["clara"], multipart(fields_of(org["customer"], **extra), name, data, file_at)
    )
    assert resp.status_code == status, resp.get_json()
    assert_nothing_kept(rt, open_before)


@pytest.fixture
def server(app: Any) -> Iterator[int]:
    """The app on a real HTTP server (werkzeug's, threaded) in this process."""
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_port
    httpd.shutdown()
    thread.join(10)


def _wait(condition: Any, seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_upload_cut_off_mid_body_keeps_nothing(org: Any, rt: Any, server: int) -> None:
    """The client sends half of a 20 MB upload and closes the connection: the partly stored
    object goes, no row is written, and the server takes the next upload."""
    open_before = deleted_files_open()
    body = multipart(fields_of(org["customer"]), "scan.pdf", big_pdf(20 * MB), 4)
    head = (
        f"POST /api/v1/documents HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: {org['clara']['Authorization']}\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", server)) as sock:
        sock.sendall(head + body[: len(body) // 2])
        # The server is storing it: the object's temporary file is in the store's folder.
        assert _wait(lambda: any(p.name.startswith(".tmp-") for p in store_files(rt)))
    assert _wait(lambda: store_files(rt) == [] and deleted_files_open() <= open_before)
    assert_nothing_kept(rt, open_before)
    whole = multipart(fields_of(org["customer"]), "scan.pdf", big_pdf(2 * MB), 4)
    with socket.create_connection(("127.0.0.1", server)) as sock:
        sock.sendall(head.replace(str(len(body)).encode(), str(len(whole)).encode()) + whole)
        answer = sock.makefile("rb").readline()
    assert answer.split()[1] == b"201", answer


@pytest.mark.parametrize("limit", ["field_size", "parts"])
def test_form_limits_hold(client: Any, org: Any, rt: Any, app: Any, limit: str) -> None:
    """A text field past ``MAX_FORM_MEMORY_SIZE``, or more parts than ``MAX_FORM_PARTS``,
    is refused (413) as werkzeug's own form parser refuses it."""
    open_before = deleted_files_open()
    fields = fields_of(org["customer"])
    if limit == "field_size":
        app.config["MAX_FORM_MEMORY_SIZE"] = 10_000
        fields.append(("facts.note", "注" * 10_000))
    else:
        app.config["MAX_FORM_PARTS"] = 5
        fields += [(f"facts.n{i}", "x") for i in range(5)]
    resp = post(client, org["clara"], multipart(fields, "scan.pdf", big_pdf(2 * MB), len(fields)))
    assert resp.status_code == 413, resp.get_json()
    assert_nothing_kept(rt, open_before)


def test_wrong_fields_are_answered_before_a_refused_file(client: Any, org: Any, rt: Any) -> None:
    """The file first, refused from its bytes, and an unknown customer after it: the answer
    names the customer, as when the whole form was read before the file was looked at."""
    open_before = deleted_files_open()
    fields = fields_of(999_999)
    body = multipart(fields, "scan.pdf", samples.windows_exe() + os.urandom(MB), 0)
    resp = post(client, org["clara"], body)
    assert resp.status_code == 422 and resp.get_json()["error"]["field"] == "customer_id"
    assert_nothing_kept(rt, open_before)
