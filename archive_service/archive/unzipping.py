"""Unpacking an uploaded ZIP of an import's files (导入文件包) into a staging folder, safely:
no member may land outside the folder (an absolute path, a drive, ``..``), no symbolic link
or other special file is made, and the number of members and the bytes written are
bounded (counted as they are written, so a member that lies about its size gains
nothing). Names a Chinese Windows wrote without the UTF-8 flag are read as GB18030.
Pure file handling: nothing here knows the database.
"""

from __future__ import annotations

import os
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

CHUNK = 1 << 20
_UTF8_FLAG = 0x800
_ENCRYPTED_FLAG = 0x1


class Refused(Exception):
    """The archive is refused as a whole; ``too_large`` when a limit was passed."""

    def __init__(self, message: str, *, too_large: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.too_large = too_large


@dataclass(frozen=True)
class Limits:
    max_members: int
    max_bytes: int  # all members together, unpacked
    max_member_bytes: int  # one member (the largest file intake takes)


def member_name(info: zipfile.ZipInfo) -> str:
    """The member's name as its writer meant it: UTF-8 when flagged (or when the bytes are
    UTF-8), else GB18030 (the Chinese Windows default) rather than zipfile's CP437."""
    if info.flag_bits & _UTF8_FLAG:
        return info.filename
    try:
        raw = info.filename.encode("cp437")
    except UnicodeEncodeError:
        return info.filename
    for encoding in ("utf-8", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return info.filename


def safe_parts(name: str) -> tuple[str, ...]:
    """The member's path parts under the staging folder; Refused when it would leave it."""
    text = name.replace("\\", "/")
    if any(ord(c) < 32 for c in text):
        raise Refused(f"the ZIP member {name!r} has a control character in its name")
    if text.startswith("/") or (len(text) > 1 and text[1] == ":"):
        raise Refused(f"the ZIP member {name!r} has an absolute path")
    parts = PurePosixPath(text).parts
    if ".." in parts:
        raise Refused(f"the ZIP member {name!r} leaves the folder (..)")
    return tuple(p for p in parts if p not in ("", "."))


def _kind(info: zipfile.ZipInfo) -> str:
    """``dir``, ``file``, or what else the member's Unix mode says it is."""
    if info.is_dir():
        return "dir"
    mode = info.external_attr >> 16
    if stat.S_IFMT(mode) == 0 or stat.S_ISREG(mode):  # no type: a DOS or bare writer's file
        return "file"
    if stat.S_ISLNK(mode):
        return "symbolic link"
    if stat.S_ISDIR(mode):
        return "dir"
    return "special file"


def unpack(source: IO[bytes], target: Path, limits: Limits) -> int:
    """Unpack the ZIP ``source`` into the empty folder ``target``; the number of files
    written. Refused (the caller removes ``target``) on anything unsafe or too large."""
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError, ValueError):
        raise Refused("the files must be a ZIP archive") from None
    with archive:
        members = archive.infolist()
        if len(members) > limits.max_members:
            raise Refused(f"the ZIP holds more than {limits.max_members} members", too_large=True)
        planned: list[tuple[zipfile.ZipInfo, tuple[str, ...], str]] = []
        seen: set[tuple[str, ...]] = set()
        declared = 0
        for info in members:
            name = member_name(info)
            parts = safe_parts(name)
            kind = _kind(info)
            if kind not in ("dir", "file"):
                raise Refused(f"the ZIP member {name!r} is a {kind}")
            if not parts:
                continue
            if kind == "file":
                if info.flag_bits & _ENCRYPTED_FLAG:
                    raise Refused(f"the ZIP member {name!r} is encrypted")
                if parts in seen:
                    raise Refused(f"the ZIP holds {name!r} twice")
                if info.file_size > limits.max_member_bytes:
                    raise Refused(
                        f"the ZIP member {name!r} is larger than {limits.max_member_bytes} bytes",
                        too_large=True,
                    )
                declared += info.file_size
            seen.add(parts)
            planned.append((info, parts, kind))
        if declared > limits.max_bytes:
            raise Refused(f"the ZIP unpacks to more than {limits.max_bytes} bytes", too_large=True)
        root = target.resolve()
        written = files = 0
        for info, parts, kind in planned:
            path = root.joinpath(*parts)
            if not path.resolve().is_relative_to(root):  # pragma: no cover - parts checked
                raise Refused(f"the ZIP member {info.filename!r} leaves the folder")
            try:
                if kind == "dir":
                    path.mkdir(mode=0o700, parents=True, exist_ok=True)
                    continue
                path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                written += _write(archive, info, path, limits, written)
            except (OSError, zipfile.BadZipFile, EOFError) as exc:
                if isinstance(exc, _TooLarge):
                    raise Refused(str(exc), too_large=True) from None
                reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
                message = f"the ZIP member {info.filename!r} cannot be unpacked: {reason}"
                raise Refused(message) from None
            files += 1
        return files


class _TooLarge(OSError):
    pass


def _write(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path, limits: Limits, before: int
) -> int:
    """Write one member, counting what it really holds (not what its header says)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags, 0o600)
    size = 0
    with os.fdopen(fd, "wb") as out, archive.open(info) as member:
        while chunk := member.read(CHUNK):
            size += len(chunk)
            if size > limits.max_member_bytes or before + size > limits.max_bytes:
                raise _TooLarge(f"the ZIP member {info.filename!r} unpacks to too many bytes")
            out.write(chunk)
    return size
