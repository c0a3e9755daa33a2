"""Transfers (移交) end to end: an archivist applies for a customer's documents, the
operations head and a leader approve, the package is written through the API, checks
with the CLI and with standard-library tools alone (no service, no keys), and another
archive takes it in with the same numbers, dates, holds and history; then the receipt is
confirmed and the copies here, to be destroyed, become due for the destruction workflow.
A tampered package fails naming its file; bad applications and packages change nothing."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import func, select

from archive_service.archive import documents
from archive_service.archive.holds import place_hold
from archive_service.archive.models import AccessRecord, Document, HoldCase
from archive_service.config import Settings
from archive_service.disposal.reviews import compile_review
from archive_service.errors import Conflict
from archive_service.paper.models import PaperItem
from archive_service.paper.vocabulary import ItemState
from archive_service.runtime import Runtime, build_runtime
from archive_service.transfer import receive
from archive_service.transfer.models import ReceivedHistory, Transfer
from archive_service.transfer.verify import verify
from archive_service.vault.models import StoredObject
from storage.keyring import Keyring
from tests import samples
from tests.conftest import CHEAP_HASHING, People, unavailable
from tests.integration.test_disposal_api import headers, org  # noqa: F401 - fixtures
from tests.integration.test_paper_following import _box, _state
from workers.sender import connect


@pytest.fixture
def other(tmp_path: Path, sqlite_template: Path) -> Iterator[Runtime]:
    """A second archive (the receiver), on its own database, store and keys."""
    instance = tmp_path / "other"
    instance.mkdir()
    db = instance / "archive.sqlite3"
    shutil.copyfile(sqlite_template, db)
    keyring = instance / "keyring.json"
    Keyring.generate().save(keyring)
    settings = Settings(
        instance_dir=instance,
        database_url=f"sqlite:///{db}",
        secret_key="other-secret-key",
        keyring_file=str(keyring),
        celery_always_eager=True,
        **CHEAP_HASHING,
    ).with_defaults()
    runtime = connect(build_runtime(settings))
    yield runtime
    runtime.close()


@pytest.fixture
def filed(people: People, org: None, rt: Runtime) -> dict[str, int]:  # noqa: F811
    """A customer with three accepted documents (one held) and another customer's one."""
    customer = people.customer("clara", name="移交客户", credit_code="91310000TRANSFER")
    docs = {
        "customer": customer,
        "contract": people.document(
            "clara",
            customer,
            samples.pdf("合同正文"),
            title="合同",
            filename="合同.pdf",
            accepted_by=("arch",),
        ),
        "licence": people.document(
            "clara",
            customer,
            samples.pdf("执照"),
            title="营业执照",
            filename="执照.pdf",
            retention_class="long",
            accepted_by=("arch",),
        ),
        "held": people.document(
            "clara",
            customer,
            samples.pdf("争议"),
            title="争议函",
            filename="争议.pdf",
            accepted_by=("arch",),
        ),
    }
    other_customer = people.customer("clara", name="别的客户")
    docs["elsewhere"] = people.document(
        "clara",
        other_customer,
        samples.pdf("别的"),
        title="别的",
        filename="别的.pdf",
        accepted_by=("arch",),
    )
    with rt.db.unit_of_work() as s:
        place_hold(s, people.caller(s, "arch"), docs["held"], "合同纠纷", rt.archive.retention)
    return docs


def _approved(client: Any, h: dict[str, Any], filed: dict[str, int], **extra: Any) -> int:
    body = {
        "selection": {"customer_ids": [filed["customer"]]},
        "receiver": "集团综合档案室",
        "purpose": "合作终止，移交集团档案室",
        **extra,
    }
    made = client.post("/api/v1/transfers", json=body, headers=h["arch"])
    assert made.status_code == 201, made.get_json()
    tid = made.get_json()["id"]
    assert made.get_json()["count"] == 3
    for who in ("olga", "leo"):
        got = client.post(
            f"/api/v1/transfers/{tid}/decision", json={"decision": "approve"}, headers=h[who]
        )
        assert got.status_code == 200, got.get_json()
    assert got.get_json()["status"] == "approved"
    return tid


def _package(client: Any, h: dict[str, Any], tid: int, where: Path) -> Path:
    got = client.post(f"/api/v1/transfers/{tid}/package", headers=h["arch"])
    assert got.status_code == 200, got.data[:300]
    assert got.headers["Cache-Control"] == "no-store"
    where.write_bytes(got.data)
    assert (
        hashlib.sha256(_member(where, "manifest.json")).hexdigest()
        == got.headers["X-Manifest-SHA256"]
    )
    return where


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        unavailable(f"{name} is not installed")
    return path


def _caller(rt: Runtime, people: People, username: str) -> Any:
    with rt.db.session() as s:  # closed: the user stays loaded, no transaction stays open
        return people.caller(s, username)


def _content(rt: Runtime, s: Any, doc: Document) -> bytes:
    version = doc.current_version
    assert version is not None
    obj = s.get(StoredObject, version.stored_object_id)
    return b"".join(rt.vault.open(obj))


def _member(path: Path, rel: str) -> bytes:
    with zipfile.ZipFile(path) as zf:
        root = zf.namelist()[0].split("/", 1)[0]
        return zf.read(f"{root}/{rel}")


def test_a_transfer_from_application_to_the_other_archive(
    client: Any,
    rt: Runtime,
    other: Runtime,
    people: People,
    filed: dict[str, int],
    tmp_path: Path,
) -> None:
    h = headers(client)
    tid = _approved(client, h, filed, disposition="destroy")
    with rt.db.unit_of_work() as s:
        # The extraction took each file's SM3 as it decrypted it; the package lists that.
        # A version from before (none here: the licence's, cleared) is hashed on the way.
        for name in ("contract", "licence"):
            doc = s.get(Document, filed[name])
            assert doc is not None and doc.current_version is not None
            version = doc.current_version
            assert version.sm3 == hashlib.new("sm3", _content(rt, s, doc)).hexdigest()
        version.sm3 = None
    zip_path = _package(client, h, tid, tmp_path / "package.zip")

    # Checked with the standard library alone: the signature over the manifest, then
    # every file's SHA-256 and SM3 — no service, no database, no archive key.
    manifest_bytes = _member(zip_path, "manifest.json")
    key = serialization.load_pem_public_key(_member(zip_path, "public_key.pem"))
    assert isinstance(key, Ed25519PublicKey)
    key.verify(_member(zip_path, "manifest.sig"), manifest_bytes)
    manifest = json.loads(manifest_bytes)
    for f in manifest["files"]:
        data = _member(zip_path, f["path"])
        assert hashlib.sha256(data).hexdigest() == f["sha256"]
        assert hashlib.new("sm3", data).hexdigest() == f["sm3"]
    assert (
        hashlib.sha256(_member(zip_path, "checksums.sha256")).hexdigest()
        == manifest["checksums"]["sha256"]
    )
    paths = {f["path"] for f in manifest["files"]}
    assert {"transfer-list.pdf", "transfer-list.xlsx", "README.txt"} <= paths
    with rt.db.unit_of_work() as s:
        contract = s.get(Document, filed["contract"])
        assert contract is not None
        number, filing = contract.archive_number, contract.filing_date
        original = _content(rt, s, contract)
    folder = next(d["dir"] for d in manifest["documents"] if d["archive_number"] == number)
    meta = json.loads(_member(zip_path, f"{folder}/metadata.json"))
    assert meta["title"] == "合同" and meta["filing_date"] == filing.isoformat()  # type: ignore[union-attr]
    assert _member(zip_path, meta["versions"][0]["path"]) == original
    xml = ET.fromstring(_member(zip_path, f"{folder}/metadata.xml"))  # noqa: S314 - our own file
    assert xml.tag == "电子文件封装包"
    assert xml.findtext(".//文件实体/档号") == number
    assert xml.findtext(".//内容描述/题名") == "合同"
    history = json.loads(_member(zip_path, f"{folder}/history.json"))
    assert [e["action"] for e in history][:2] == ["document.upload", "document.checks"] or (
        history[0]["action"] == "document.upload"
    )
    register = json.loads(_member(zip_path, f"{folder}/access-register.json"))
    assert any(r["action"] == "transfer" and r["user"] == "arch" for r in register)
    listing = _member(zip_path, "transfer-list.xlsx")
    from openpyxl import load_workbook

    rows = [list(r) for r in load_workbook(io.BytesIO(listing)).active.iter_rows(values_only=True)]  # type: ignore[union-attr]
    assert rows[0][0].startswith("移交清单 Transfer list")
    assert sorted(r[1] for r in rows[2:5]) == sorted(
        i["archive_number"] for i in manifest["documents"]
    )

    # And with the standard tools README.txt names: openssl and sha256sum.
    unpacked = tmp_path / "unpacked"
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(unpacked)
    (top,) = unpacked.iterdir()
    signed = subprocess.run(
        [_tool("openssl"), "pkeyutl", "-verify", "-pubin", "-inkey", "public_key.pem", "-rawin",
         "-in", "manifest.json", "-sigfile", "manifest.sig"],
        cwd=top, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert signed.returncode == 0 and "Verified Successfully" in signed.stdout, signed.stderr
    sums = subprocess.run(
        [_tool("sha256sum"), "-c", "checksums.sha256"], cwd=top, capture_output=True, check=False
    )
    assert sums.returncode == 0, sums.stdout[-500:]

    # The CLI agrees, and pins the key when given one.
    from archive_service.cli import main

    pem = tmp_path / "sender.pem"
    pem.write_bytes(_member(zip_path, "public_key.pem"))
    ran = CliRunner().invoke(main, ["transfer", "verify", str(zip_path), "--key", str(pem)])
    assert ran.exit_code == 0, ran.output
    assert "verifies" in ran.output and "the trusted key" in ran.output

    # The other archive takes it in: same numbers, dates, holds and history.
    receiver = People(other)
    receiver.user("rita", "archivist", "clerk", department="ARCH")
    rita = _caller(other, receiver, "rita")
    got = receive.receive(receive.Receiving.of(other), rita, zip_path, "ARCH")
    assert got.documents == 3 and got.customers_opened == 1
    with other.db.unit_of_work() as s:
        by = receiver.caller(s, "rita")
        doc = documents.find_by_number(s, by, number or "")
        assert doc.title == "合同" and doc.filing_date == filing and doc.status == "accepted"
        assert doc.customer.credit_code == "91310000TRANSFER"
        assert _content(other, s, doc) == original
        kept = s.scalars(select(ReceivedHistory).where(ReceivedHistory.document_id == doc.id)).one()
        assert kept.history[0]["action"] == "document.upload"
        held = s.scalars(select(Document).where(Document.title == "争议函")).one()
        assert held.on_hold and held.disposal_date is None
        cases = s.scalars(select(HoldCase)).all()
        assert [c.name for c in cases] == ["合同纠纷"]
    with pytest.raises(Conflict):
        receive.receive(receive.Receiving.of(other), rita, zip_path, "ARCH")

    # The receipt is confirmed: the copies here are due now, except the held one.
    confirmed = client.post(
        f"/api/v1/transfers/{tid}/confirm", json={"receipt": "接收回执 2026-001"}, headers=h["arch"]
    )
    assert confirmed.status_code == 200 and confirmed.get_json()["status"] == "confirmed"
    with rt.db.unit_of_work() as s:
        review = compile_review(s, people.caller(s, "arch"), rt.archive.retention)
        listed = {i.document_id for i in review.items}
    assert listed == {filed["contract"], filed["licence"]}
    again = client.post(
        "/api/v1/transfers",
        json={"selection": {"document_ids": [filed["contract"]]}, "receiver": "x", "purpose": "y"},
        headers=h["arch"],
    )
    assert again.status_code == 409  # transferred already


def test_who_may_do_what_and_bad_applications(
    client: Any, filed: dict[str, int], tmp_path: Path
) -> None:
    h = headers(client)
    body = {"selection": {"customer_ids": [filed["customer"]]}, "receiver": "R", "purpose": "P"}
    assert client.post("/api/v1/transfers", json=body, headers=h["clara"]).status_code == 403
    for bad in (
        {**body, "selection": {}},
        {**body, "selection": {"categories": ["no.such"]}},
        {**body, "selection": {"document_ids": [999999]}},
        {**body, "receiver": ""},
        {**body, "disposition": "burn"},
        {**body, "selection": {"number_from": "ZZZZ"}},
    ):
        got = client.post("/api/v1/transfers", json=bad, headers=h["arch"])
        assert got.status_code == 422, (bad, got.get_json())
    made = client.post("/api/v1/transfers", json=body, headers=h["arch"])
    assert made.status_code == 201
    tid = made.get_json()["id"]
    # Its documents are spoken for; it cannot be written before approval.
    assert client.post("/api/v1/transfers", json=body, headers=h["arch"]).status_code == 409
    assert client.post(f"/api/v1/transfers/{tid}/package", headers=h["arch"]).status_code == 409
    # Nobody approves their own, the leader does not go first, the clerk not at all.
    decide = f"/api/v1/transfers/{tid}/decision"
    assert client.post(decide, json={"decision": "approve"}, headers=h["leo"]).status_code == 403
    assert client.post(decide, json={"decision": "approve"}, headers=h["arch"]).status_code == 403
    assert client.post(decide, json={"decision": "reject"}, headers=h["olga"]).status_code == 422
    rejected = client.post(
        decide, json={"decision": "reject", "comment": "范围不对"}, headers=h["olga"]
    )
    assert rejected.get_json()["status"] == "rejected"
    # A rejected transfer frees its documents; the clerk cannot read transfers.
    assert client.post("/api/v1/transfers", json=body, headers=h["arch"]).status_code == 201
    assert client.get("/api/v1/transfers", headers=h["clara"]).status_code == 403
    listed = client.get("/api/v1/transfers", headers=h["audrey"]).get_json()
    assert listed["total"] == 2
    confirm = client.post(
        f"/api/v1/transfers/{tid}/confirm", json={"receipt": "r"}, headers=h["arch"]
    )
    assert confirm.status_code == 409


def _rewrite(src: Path, dst: Path, change: Any) -> None:
    """Copy the package, passing each member through ``change(name, data)`` (None drops it)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = change(info.filename, zin.read(info))
            if data is not None:
                zout.writestr(info.filename, data)


def test_a_tampered_package_fails_naming_its_file(
    client: Any, rt: Runtime, people: People, filed: dict[str, int], tmp_path: Path
) -> None:
    h = headers(client)
    tid = _approved(client, h, filed)
    good = _package(client, h, tid, tmp_path / "good.zip")
    assert verify(good).ok
    manifest = json.loads(_member(good, "manifest.json"))
    target = next(f["path"] for f in manifest["files"] if "/files/" in f["path"])

    def flip(name: str, data: bytes) -> bytes | None:
        return data[:-1] + bytes([data[-1] ^ 1]) if name.endswith(target) else data

    bad = tmp_path / "bad.zip"
    _rewrite(good, bad, flip)
    checked = verify(bad)
    assert not checked.ok and [p.path for p in checked.problems] == [target]
    ran = CliRunner().invoke(
        __import__("archive_service.cli", fromlist=["main"]).main, ["transfer", "verify", str(bad)]
    )
    assert ran.exit_code == 1 and target in ran.output

    def forge(name: str, data: bytes) -> bytes | None:
        if name.endswith("/manifest.json"):
            return data.replace("集团综合档案室".encode(), "别处".encode())
        return data

    _rewrite(good, bad, forge)
    assert [p.path for p in verify(bad).problems] == ["manifest.json"]
    _rewrite(good, bad, lambda n, d: None if n.endswith("transfer-list.pdf") else d)
    assert [p.path for p in verify(bad).problems] == ["transfer-list.pdf"]
    _rewrite(good, bad, lambda n, d: d)
    with zipfile.ZipFile(bad, "a") as zf:
        zf.writestr(zf.namelist()[0].split("/")[0] + "/extra.exe", b"MZ")
        zf.writestr("../escape.txt", b"x")
    problems = {p.path for p in verify(bad).problems}
    assert "../escape.txt" in problems
    (tmp_path / "junk.zip").write_bytes(b"not a zip")
    assert not verify(tmp_path / "junk.zip").ok
    other_key = (
        serialization.load_pem_private_key(
            __import__("archive_service.disposal.signing", fromlist=["x"]).new_key_pem().encode(),
            None,
        )
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    pinned = verify(good, other_key)
    assert [p.path for p in pinned.problems] == ["public_key.pem"]

    # Taken into the archive that wrote it, every number is taken: refused, nothing stored.
    with rt.db.unit_of_work() as s:
        before = s.scalar(select(func.count()).select_from(Document))
        registers = s.scalar(select(func.count()).select_from(AccessRecord))
    arch = _caller(rt, people, "arch")
    with pytest.raises(receive.PackageRefused) as refused:
        receive.receive(receive.Receiving.of(rt), arch, good, "SALES")
    assert all("is taken here" in p.message for p in refused.value.problems)
    with rt.db.unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(Document)) == before
        assert s.scalar(select(func.count()).select_from(AccessRecord)) == registers
        t = s.get(Transfer, tid)
        assert t is not None and t.exports == 1 and t.status == "exported"


def _point_at(mp: pytest.MonkeyPatch, settings: Settings) -> None:
    mp.setenv("ARCHIVE_INSTANCE_DIR", str(settings.instance_dir))
    mp.setenv("ARCHIVE_DATABASE_URL", settings.database_url)
    mp.setenv("ARCHIVE_CELERY_ALWAYS_EAGER", "1")


def test_the_command_line_exports_and_another_archive_imports(
    client: Any,
    rt: Runtime,
    other: Runtime,
    filed: dict[str, int],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from archive_service.cli import main

    h = headers(client)
    tid = _approved(client, h, filed)
    runner = CliRunner()
    _point_at(monkeypatch, rt.settings)
    listed = runner.invoke(main, ["transfer", "list"])
    assert listed.exit_code == 0 and f"{tid}\tapproved\t3 documents" in listed.output
    out = tmp_path / "cli.zip"
    clerk = runner.invoke(
        main, ["transfer", "export", str(tid), "--out", str(out), "--as", "clara"]
    )
    assert clerk.exit_code != 0 and not out.exists(), clerk.output  # not an archivist
    done = runner.invoke(main, ["transfer", "export", str(tid), "--out", str(out), "--as", "arch"])
    assert done.exit_code == 0 and "3 documents" in done.output, done.output
    assert runner.invoke(main, ["transfer", "verify", str(out)]).exit_code == 0

    _point_at(monkeypatch, other.settings)
    People(other).user("rita", "archivist", "clerk", department="ARCH")
    nowhere = runner.invoke(main, ["transfer", "import", str(out), "--as", "rita"])
    assert nowhere.exit_code != 0 and "name a department" in nowhere.output, nowhere.output
    taken = runner.invoke(main, ["transfer", "import", str(out), "--department", "ARCH"])
    assert taken.exit_code == 0 and "3 documents, 1 customers opened" in taken.output
    with other.db.unit_of_work() as s:
        numbers = set(s.scalars(select(Document.archive_number)))
    with rt.db.unit_of_work() as s:
        sent = {s.get(Document, filed[k]).archive_number for k in ("contract", "licence", "held")}  # type: ignore[union-attr]
    assert numbers == sent


def _resign(src: Path, dst: Path, change: Any) -> str:
    """Repackage ``src`` with members passed through ``change(rel, data)``, digests and
    checksums made anew and signed with a fresh key: a package that verifies, from
    someone else. Returns that key's public PEM."""
    from archive_service.disposal.signing import new_key_pem, signer_of

    signer = signer_of(new_key_pem().encode())
    with zipfile.ZipFile(src) as zin:
        root = zin.namelist()[0].split("/", 1)[0]
        files = {n[len(root) + 1 :]: zin.read(n) for n in zin.namelist()}
    manifest = json.loads(files["manifest.json"])
    for f in manifest["files"]:
        data = change(f["path"], files[f["path"]])
        files[f["path"]] = data
        f.update(
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            sm3=hashlib.new("sm3", data).hexdigest(),
        )
    sums = "".join(f"{f['sha256']}  {f['path']}\n" for f in manifest["files"]).encode()
    manifest["checksums"]["sha256"] = hashlib.sha256(sums).hexdigest()
    body = json.dumps(manifest, ensure_ascii=False).encode()
    files.update(
        {
            "checksums.sha256": sums,
            "manifest.json": body,
            "manifest.sig": signer.sign_bytes(body),
            "public_key.pem": signer.public_pem.encode(),
        }
    )
    with zipfile.ZipFile(dst, "w") as zout:
        for rel, data in files.items():
            zout.writestr(f"{root}/{rel}", data)
    return signer.public_pem


def test_a_package_signed_by_someone_else_is_refused_or_taken_with_care(
    client: Any, other: Runtime, filed: dict[str, int], tmp_path: Path
) -> None:
    h = headers(client)
    tid = _approved(client, h, filed)
    good = _package(client, h, tid, tmp_path / "good.zip")
    sender_key = _member(good, "public_key.pem").decode()

    def untitled(rel: str, data: bytes) -> bytes:
        if rel.endswith("/metadata.json"):
            meta = json.loads(data)
            del meta["title"]
            return json.dumps(meta).encode()
        return data

    forged = tmp_path / "forged.zip"
    _resign(good, forged, untitled)
    assert verify(forged).ok  # self-consistent: only a trusted key tells it apart
    assert [p.path for p in verify(forged, sender_key).problems] == ["public_key.pem"]
    receiver = People(other)
    receiver.user("rita", "archivist", "clerk", department="ARCH")
    rita = _caller(other, receiver, "rita")
    with pytest.raises(receive.PackageRefused) as refused:
        receive.receive(receive.Receiving.of(other), rita, forged, "ARCH", sender_key)
    assert refused.value.problems[0].path == "public_key.pem"
    with pytest.raises(receive.PackageRefused) as unreadable:
        receive.receive(receive.Receiving.of(other), rita, forged, "ARCH")
    assert "cannot be read" in unreadable.value.message
    with other.db.unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(Document)) == 0
        assert s.scalar(select(func.count()).select_from(StoredObject)) == 0
    got = receive.receive(receive.Receiving.of(other), rita, good, "ARCH", sender_key)
    assert got.documents == 3 and got.verification is not None and got.verification.pinned


def test_a_metadata_file_larger_than_any_this_service_writes_is_refused(
    client: Any,
    other: Runtime,
    filed: dict[str, int],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    h = headers(client)
    good = _package(client, h, _approved(client, h, filed), tmp_path / "good.zip")
    receiver = People(other)
    receiver.user("rita", "archivist", "clerk", department="ARCH")
    monkeypatch.setattr(receive, "MAX_METADATA_BYTES", 100)  # each metadata.json is larger
    with pytest.raises(receive.PackageRefused) as refused:
        receive.receive(receive.Receiving.of(other), _caller(other, receiver, "rita"), good, "ARCH")
    assert refused.value.problems[0].path.endswith("/metadata.json")
    assert refused.value.problems[0].message == "too large"


def test_a_document_is_in_a_transfer_or_in_disposal_work_never_both(
    client: Any, rt: Runtime, people: People, filed: dict[str, int]
) -> None:
    from datetime import date

    h = headers(client)
    body = {"selection": {"customer_ids": [filed["customer"]]}, "receiver": "R", "purpose": "P"}
    assert client.post("/api/v1/transfers", json=body, headers=h["arch"]).status_code == 201
    # Decades later everything short-lived is due: the review leaves out what another
    # archive waits for, and lists the rest.
    with rt.db.unit_of_work() as s:
        review = compile_review(
            s, people.caller(s, "arch"), rt.archive.retention, today=date(2070, 1, 1)
        )
        listed = {i.document_id for i in review.items}
    assert listed == {filed["elsewhere"]}
    # A document on an open review is not put into a transfer.
    other = {**body, "selection": {"document_ids": [filed["elsewhere"]]}}
    busy = client.post("/api/v1/transfers", json=other, headers=h["arch"])
    assert busy.status_code == 409 and "review" in busy.get_json()["error"]["message"]


def test_a_confirmed_transfer_takes_the_paper_originals(
    client: Any,
    rt: Runtime,
    filed: dict[str, int],
    tmp_path: Any,  # noqa: F811
) -> None:
    h = headers(client)
    box = _box(client, h["arch"])
    for key in ("contract", "licence"):
        got = client.put(
            f"/api/v1/documents/{filed[key]}/paper", json={"location_id": box}, headers=h["arch"]
        )
        assert got.status_code == 200
    tid = _approved(client, h, filed)
    _package(client, h, tid, tmp_path / "package.zip")
    with rt.db.unit_of_work() as s:  # the licence's original is out on loan
        s.scalars(
            select(PaperItem).where(PaperItem.document_id == filed["licence"])
        ).one().state = ItemState.LENT
    confirm = f"/api/v1/transfers/{tid}/confirm"
    refused = client.post(confirm, json={"receipt": "回执"}, headers=h["arch"])
    assert refused.status_code == 409 and "lent out" in refused.get_json()["error"]["message"]
    assert _state(rt, filed["contract"]).state == ItemState.IN_PLACE  # nothing changed
    with rt.db.unit_of_work() as s:  # back from the loan
        s.scalars(
            select(PaperItem).where(PaperItem.document_id == filed["licence"])
        ).one().state = ItemState.IN_PLACE
    assert client.post(confirm, json={"receipt": "回执"}, headers=h["arch"]).status_code == 200
    assert _state(rt, filed["contract"]).state == ItemState.TRANSFERRED
    assert _state(rt, filed["licence"]).state == ItemState.TRANSFERRED
