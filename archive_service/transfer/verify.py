"""Checking a transfer package (``archive transfer verify``): the manifest's Ed25519
signature, then every file it lists against its size, SHA-256 and SM3, and nothing in the
package it does not list. Needs neither this archive's database nor its keys: a problem
names the file it was found in."""

from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from archive_service.disposal.signing import key_id_of, verify_bytes
from archive_service.transfer import layout

CHUNK = 1024 * 1024
# More than this in a manifest is not a package this service wrote.
MAX_MANIFEST_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Problem:
    path: str
    message: str


@dataclass
class Verification:
    problems: list[Problem] = field(default_factory=list)
    manifest: dict[str, Any] | None = None
    key_id: str | None = None
    public_key: str | None = None
    pinned: bool = False  # checked against a key the caller trusts
    root: str = ""
    manifest_sha256: str | None = None  # of manifest.json as signed

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def package_id(self) -> str | None:
        return self.manifest["transfer"]["package_id"] if self.manifest else None

    def problem(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))


def _safe_member(name: str) -> bool:
    p = PurePosixPath(name)
    return not p.is_absolute() and ".." not in p.parts and "\\" not in name


def verify(path: Path, trusted_key: str | None = None) -> Verification:
    """Check the package at ``path``; ``trusted_key`` (PEM): the signature must be its."""
    out = Verification()
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        out.problem(path.name, f"not a readable ZIP file: {exc}")
        return out
    with zf:
        _check(zf, out, trusted_key)
    return out


def _check(zf: zipfile.ZipFile, out: Verification, trusted_key: str | None) -> None:
    members = {i.filename: i for i in zf.infolist() if not i.is_dir()}
    roots = {n.split("/", 1)[0] for n in members}
    for name, info in members.items():
        if not _safe_member(name) or (info.external_attr >> 16) & 0o170000 == 0o120000:
            out.problem(name, "a path that leaves the package, or a link")
    if len(roots) != 1:
        out.problem("/", "a package has exactly one top folder")
        return
    out.root = root = roots.pop()
    body = _read(zf, members, f"{root}/{layout.MANIFEST}", MAX_MANIFEST_BYTES, out)
    signature = _read(zf, members, f"{root}/{layout.SIGNATURE}", 1024, out)
    pem = _read(zf, members, f"{root}/{layout.PUBLIC_KEY}", 16 * 1024, out)
    if body is None or signature is None or pem is None:
        return
    out.public_key = pem.decode(errors="replace")
    out.key_id = key_id_of(out.public_key)
    if out.key_id is None:
        out.problem(layout.PUBLIC_KEY, "not an Ed25519 public key")
        return
    if not verify_bytes(out.public_key, body, signature):
        out.problem(layout.MANIFEST, "the signature does not match the manifest")
        return
    if trusted_key is not None:
        trusted = key_id_of(trusted_key)
        if trusted != out.key_id:
            out.problem(
                layout.PUBLIC_KEY, f"signed by key {out.key_id}, not the trusted key {trusted}"
            )
            return
        out.pinned = True
    try:
        manifest = json.loads(body)
        files = manifest["files"]
        assert manifest["format"] == layout.FORMAT and manifest["version"] == layout.VERSION
        manifest["transfer"]["package_id"]  # noqa: B018 (must be there)
    except (ValueError, KeyError, TypeError, AssertionError):
        out.problem(layout.MANIFEST, "not a transfer manifest this service can read")
        return
    out.manifest = manifest
    out.manifest_sha256 = hashlib.sha256(body).hexdigest()
    listed = set()
    for f in files:
        rel = f.get("path", "")
        listed.add(rel)
        member = members.get(f"{root}/{rel}")
        if member is None:
            out.problem(rel, "listed in the manifest but missing")
            continue
        _digests(zf, member, f, rel, out)
    sums = _read(zf, members, f"{root}/{layout.CHECKSUMS}", MAX_MANIFEST_BYTES, out)
    if sums is not None and hashlib.sha256(sums).hexdigest() != manifest["checksums"]["sha256"]:
        out.problem(layout.CHECKSUMS, "does not match the manifest")
    for name in members:
        rel = name[len(root) + 1 :]
        if rel not in listed and rel not in (*layout.UNLISTED, layout.CHECKSUMS):
            out.problem(rel, "in the package but not in the manifest")


def _read(
    zf: zipfile.ZipFile,
    members: dict[str, zipfile.ZipInfo],
    name: str,
    limit: int,
    out: Verification,
) -> bytes | None:
    rel = name.split("/", 1)[1]
    info = members.get(name)
    if info is None:
        out.problem(rel, "missing")
        return None
    if info.file_size > limit:
        out.problem(rel, "too large")
        return None
    try:
        with zf.open(info) as f:
            return f.read(limit + 1)[:limit]
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        out.problem(rel, f"cannot be read: {exc}")
        return None


def _digests(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, f: dict[str, Any], rel: str, out: Verification
) -> None:
    sha, sm3, size = hashlib.sha256(), hashlib.new("sm3"), 0
    expected = int(f.get("size", -1))
    try:
        with zf.open(info) as src:
            while chunk := src.read(CHUNK):
                size += len(chunk)
                if size > expected:
                    break
                sha.update(chunk)
                sm3.update(chunk)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        # A changed byte in a stored member fails the ZIP's own CRC check first.
        out.problem(rel, f"damaged: {exc}")
        return
    if size != expected:
        out.problem(rel, f"size differs from the manifest ({expected} bytes expected)")
    elif sha.hexdigest() != f.get("sha256"):
        out.problem(rel, "SHA-256 differs from the manifest")
    elif sm3.hexdigest() != f.get("sm3"):
        out.problem(rel, "SM3 differs from the manifest")
