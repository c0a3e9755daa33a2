"""Unpacking an import's ZIP: names as their writer meant them, nothing outside the
folder, no links, and the limits counted on what is written."""

from __future__ import annotations

import contextlib
import io
import stat
import zipfile
from pathlib import Path

import pytest

from archive_service.archive import unzipping

LIMITS = unzipping.Limits(max_members=10, max_bytes=1000, max_member_bytes=600)


def _zip(*members: tuple[str | zipfile.ZipInfo, bytes]) -> io.BytesIO:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, body in members:
            z.writestr(name, body)
    buf.seek(0)
    return buf


def test_a_plain_zip_unpacks_with_its_folders(tmp_path: Path) -> None:
    assert unzipping.unpack(_zip(("a/b.txt", b"1"), ("c.txt", b"22")), tmp_path, LIMITS) == 2
    assert (tmp_path / "a" / "b.txt").read_bytes() == b"1"
    assert stat.S_IMODE((tmp_path / "c.txt").stat().st_mode) == 0o600


def test_names_without_the_utf8_flag_are_read_as_gb18030(tmp_path: Path) -> None:
    info = zipfile.ZipInfo("x")
    info.filename = "合同/采购.pdf".encode("gb18030").decode("cp437")  # as WinRAR writes it
    info.flag_bits &= ~0x800
    assert unzipping.member_name(info) == "合同/采购.pdf"
    flagged = zipfile.ZipInfo("合同.pdf")
    flagged.flag_bits |= 0x800
    assert unzipping.member_name(flagged) == "合同.pdf"


@pytest.mark.parametrize("name", ["../x", "a/../../x", "/etc/x", "C:/x", "a\\..\\..\\x", "a\nb"])
def test_a_name_that_leaves_the_folder_is_refused(name: str) -> None:
    with pytest.raises(unzipping.Refused):
        unzipping.safe_parts(name)


def test_links_and_special_files_are_refused(tmp_path: Path) -> None:
    for mode in (stat.S_IFLNK | 0o777, stat.S_IFIFO | 0o644, stat.S_IFCHR | 0o644):
        info = zipfile.ZipInfo("m")
        info.external_attr = mode << 16
        with pytest.raises(unzipping.Refused):
            unzipping.unpack(_zip((info, b"target")), tmp_path, LIMITS)
    assert list(tmp_path.iterdir()) == []


def test_the_limits(tmp_path: Path) -> None:
    many = _zip(*((f"{i}.txt", b"x") for i in range(11)))
    with pytest.raises(unzipping.Refused) as refused:
        unzipping.unpack(many, tmp_path / "1", LIMITS)
    assert refused.value.too_large
    # A bomb: small packed, large unpacked (its headers say so too).
    bomb = _zip(("a.txt", b"0" * 700))
    with pytest.raises(unzipping.Refused) as refused:
        unzipping.unpack(bomb, tmp_path / "2", LIMITS)
    assert refused.value.too_large
    together = _zip(("a.txt", b"0" * 500), ("b.txt", b"0" * 501))
    with pytest.raises(unzipping.Refused) as refused:
        unzipping.unpack(together, tmp_path / "3", LIMITS)
    assert refused.value.too_large


def test_a_header_that_understates_its_size_gains_nothing(tmp_path: Path) -> None:
    raw = _zip(("a.txt", b"0" * 900)).getvalue()
    # The central directory's uncompressed size (offset 24 of its entry) says 10 bytes.
    at = raw.rindex(b"PK\x01\x02") + 24
    lied = raw[:at] + (10).to_bytes(4, "little") + raw[at + 4 :]
    (tmp_path / "out").mkdir()
    with contextlib.suppress(unzipping.Refused):
        unzipping.unpack(io.BytesIO(lied), tmp_path / "out", LIMITS)
    written = sum(p.stat().st_size for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert written <= LIMITS.max_member_bytes


def test_not_a_zip_and_an_encrypted_member(tmp_path: Path) -> None:
    with pytest.raises(unzipping.Refused, match="ZIP archive"):
        unzipping.unpack(io.BytesIO(b"no zip"), tmp_path, LIMITS)
    raw = bytearray(_zip(("a.txt", b"x")).getvalue())
    for sig, flag_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = raw.index(sig) + flag_at
        raw[at] |= 0x1
    with pytest.raises(unzipping.Refused, match="encrypted"):
        unzipping.unpack(io.BytesIO(bytes(raw)), tmp_path, LIMITS)
