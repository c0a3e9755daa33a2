"""Writing a transfer package's ZIP file: the originals streamed from the store (their SM3
taken at extraction, or else computed on a second thread), the files the package makes
(metadata, lists) made on another while the originals stream in, every digest listed in the
manifest, the manifest signed (the package's layout: ``transfer.layout``)."""

from __future__ import annotations

import hashlib
import json
import os
import queue
import threading
import zipfile
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from archive_service import tables
from archive_service.checks.vocabulary import CHECK_GROUPS, CHECK_ITEMS
from archive_service.db import utcnow
from archive_service.transfer import layout
from archive_service.transfer.gathering import Content, Plan
from archive_service.transfer.metadata import metadata_xml
from archive_service.vocabulary import both_languages

if TYPE_CHECKING:
    from archive_service.disposal.signing import Signer
    from archive_service.vault.services import Vault


def check_items() -> dict[str, Any]:
    """What each check item and group of the reports is, in both languages."""
    return {
        "groups": {g.code: both_languages(g.label) for g in CHECK_GROUPS},
        "items": {
            i.code: {"group": i.group, "mandatory": i.mandatory, **both_languages(i.label)}
            for i in CHECK_ITEMS
        },
    }


SMALL = 16 << 10  # metadata files up to this size are not deflated


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


class _SM3:
    """SM3 of the original files on a second thread while the first decrypts and writes
    them (hashlib lets go of the GIL): the digest costs little time beside the copy. The
    queue is short, so no more than a few chunks wait in memory."""

    def __init__(self) -> None:
        self._queue: queue.Queue[tuple[str, Any] | None] = queue.Queue(maxsize=8)
        self.digests: dict[str, str] = {}
        self._thread = threading.Thread(target=self._run, name="transfer-sm3", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        h, path = hashlib.new("sm3"), ""
        while (item := self._queue.get()) is not None:
            kind, value = item
            if kind == "start":
                h, path = hashlib.new("sm3"), value
            elif kind == "data":
                h.update(value)
            else:
                self.digests[path] = h.hexdigest()

    def start(self, path: str) -> None:
        self._queue.put(("start", path))

    def feed(self, chunk: bytes) -> None:
        self._queue.put(("data", chunk))

    def end(self) -> None:
        self._queue.put(("end", None))

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()


class _Writer:
    """The ZIP being written, and the digests of every file put in it."""

    def __init__(self, zf: zipfile.ZipFile, root: str) -> None:
        self.zf, self.root = zf, root
        self.files: list[dict[str, Any]] = []
        self.bytes = 0
        self.sm3: _SM3 | None = None  # started for the first original whose SM3 is not known

    def _open(self, path: str, compress: bool) -> IO[bytes]:
        info = zipfile.ZipInfo(f"{self.root}/{path}", date_time=_stamp())
        info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
        return self.zf.open(info, "w", force_zip64=True)

    def put(self, path: str, data: bytes, compress: bool = True) -> None:
        """A file the package makes (metadata, lists): its digests computed here. A small
        one is stored as it is: deflating thousands of small files costs more time than
        the few bytes it saves."""
        with self._open(path, compress and len(data) > SMALL) as f:
            f.write(data)
        self._listed(
            path, len(data), hashlib.sha256(data).hexdigest(), hashlib.new("sm3", data).hexdigest()
        )

    def copy(self, c: Content, chunks: Iterable[bytes]) -> None:
        """An original file, streamed from the store. Its SHA-256 is the one taken when it
        came in: the store's authenticated encryption refuses any other bytes; so is its SM3
        once the extraction has taken it, else it is computed on the way."""
        size = 0
        sm3 = None if c.sm3 else self._sm3()
        if sm3:
            sm3.start(c.path)
        with self._open(c.path, compress=False) as f:
            for chunk in chunks:
                f.write(chunk)
                if sm3:
                    sm3.feed(chunk)
                size += len(chunk)
        if sm3:
            sm3.end()
        if size != c.size:
            raise RuntimeError(f"{c.path}: {size} bytes read, {c.size} stored")
        self._listed(c.path, size, c.sha256, c.sm3)

    def _sm3(self) -> _SM3:
        if self.sm3 is None:
            self.sm3 = _SM3()
        return self.sm3

    def _listed(self, path: str, size: int, sha256: str, sm3: str | None) -> None:
        self.files.append({"path": path, "size": size, "sha256": sha256, "sm3": sm3})
        self.bytes += size

    def finish(self) -> None:
        """Wait for the last SM3 digests and put them in the list."""
        if self.sm3 is None:
            return
        self.sm3.close()
        for f in self.files:
            if f["sm3"] is None:
                f["sm3"] = self.sm3.digests[f["path"]]

    def raw(self, path: str, data: bytes) -> None:
        """A file outside the manifest's list (the manifest and what checks it)."""
        info = zipfile.ZipInfo(f"{self.root}/{path}", date_time=_stamp())
        info.compress_type = zipfile.ZIP_DEFLATED
        self.zf.writestr(info, data)


def _stamp() -> tuple[int, int, int, int, int, int]:
    now = utcnow()
    return (now.year, now.month, now.day, now.hour, now.minute, now.second)


def write(vault: Vault, plan: Plan, path: Path, signer: Signer) -> tuple[str, int, int]:
    """Write the whole package; returns the manifest's SHA-256, the files and their bytes."""
    head = plan.transfer
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as raw, zipfile.ZipFile(raw, "w", allowZip64=True) as zf:
        w = _Writer(zf, layout.root(head["package_id"]))
        try:
            _fill(w, vault, plan)
        finally:
            w.finish()
        sums = "".join(f"{f['sha256']}  {f['path']}\n" for f in w.files).encode()
        manifest = {
            "format": layout.FORMAT,
            "version": layout.VERSION,
            "transfer": head,
            "documents": [
                {"archive_number": d["metadata"]["archive_number"], "dir": d["dir"]}
                for d in plan.documents
            ],
            "files": w.files,
            "checksums": {"path": layout.CHECKSUMS, "sha256": hashlib.sha256(sums).hexdigest()},
        }
        body = _json(manifest)
        w.raw(layout.CHECKSUMS, sums)
        w.raw(layout.MANIFEST, body)
        w.raw(layout.SIGNATURE, signer.sign_bytes(body))
        w.raw(layout.PUBLIC_KEY, signer.public_pem.encode())
        return hashlib.sha256(body).hexdigest(), len(w.files), w.bytes


def _fill(w: _Writer, vault: Vault, plan: Plan) -> None:
    """The original files stream in while a second thread turns the metadata into its files
    (XML, JSON, the lists): the copy waits on the disk and the store, that on the CPU."""
    with ThreadPoolExecutor(1, thread_name_prefix="transfer-metadata") as pool:
        made = pool.submit(_made, plan)
        for c in plan.contents:
            w.copy(c, vault.store.open(c.object_name, c.wrapped_key))
        for path, data, compress in made.result():
            w.put(path, data, compress)


def _made(plan: Plan) -> list[tuple[str, bytes, bool]]:
    """Every file of the package but the originals: (path, bytes, compressed)."""
    out = [
        (layout.README, README_TEXT.encode(), True),
        (layout.CHECK_ITEMS, _json(check_items()), True),
    ]
    for doc in plan.documents:
        folder = doc["dir"]
        xml = metadata_xml(doc["metadata"], doc["history"], plan.transfer)
        out += [
            (f"{folder}/{layout.METADATA_XML}", xml, True),
            (f"{folder}/{layout.METADATA_JSON}", _json(doc["metadata"]), True),
            (f"{folder}/{layout.HISTORY}", _json(doc["history"]), True),
            (f"{folder}/{layout.REGISTER}", _json(doc["register"]), True),
            (f"{folder}/{layout.CHECKS}", doc["checks"], True),
        ]
    title, header, rows, footer = plan.list_table
    out.append((layout.LIST_PDF, tables.pdf("transfer list", title, header, rows, footer), False))
    out.append((layout.LIST_XLSX, tables.xlsx("transfer list", title, header, rows, footer), False))
    return out


README_TEXT = """\
移交包 / Transfer package
=========================

本包由客户档案管理系统导出，无需该系统或其密钥即可阅读与校验。
Written by the customer document archive; readable and checkable without it or its keys.

内容 / Contents
  manifest.json        包说明：移交信息、文件清单及每个文件的 SHA-256 与 SM3 摘要
                       the package: the transfer, its documents, every file's SHA-256 and SM3
  manifest.sig         对 manifest.json 的 Ed25519 签名（64 字节）
                       Ed25519 signature (64 raw bytes) over manifest.json
  public_key.pem       签名公钥，请与移交单位公布的密钥编号核对
                       the signing key: compare its id with the one the sender publishes
  checksums.sha256     sha256sum 格式的文件摘要 / the digests in sha256sum form
  transfer-list.pdf / transfer-list.xlsx   移交清单 / the transfer list
  documents/<档号>/    每件文件：metadata.xml（DA/T 46/48 元素）、metadata.json、
                       history.json（历史）、access-register.json（利用登记）、
                       checks.json（四性检测）、files/（原始文件）
                       per document: metadata (XML, JSON), history, access register,
                       check reports, and the original files

校验 / Checking
  1. openssl pkeyutl -verify -pubin -inkey public_key.pem -rawin \\
         -in manifest.json -sigfile manifest.sig
  2. sha256sum checksums.sha256   （应与 manifest.json 中 checksums.sha256 一致 /
                                     must equal manifest.json's checksums.sha256）
  3. sha256sum -c checksums.sha256
  或 / or:  archive transfer verify <package.zip> [--key public_key.pem]
"""
