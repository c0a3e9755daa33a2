"""ZIP packages (OOXML, OFD) read without inflating a bomb: each member's declared size and
ratio, and the sum of them, are checked against limits before any member is inflated."""

from __future__ import annotations

import zipfile

MAX_MEMBER_BYTES = 512 * 1024 * 1024
MAX_RATIO = 200  # past 10 MiB, a member may inflate at most this many times its size
MAX_TOTAL_BYTES = 2 * 1024 * 1024 * 1024


def inflation_problem(archive: zipfile.ZipFile) -> str | None:
    """Why the archive's members would inflate absurdly (a message), or None."""
    total = 0
    for info in archive.infolist():
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > MAX_MEMBER_BYTES or (
            info.file_size > 10 * 1024 * 1024 and ratio > MAX_RATIO
        ):
            return (
                f"zip bomb suspected: {info.filename} inflates to "
                f"{info.file_size // (1024 * 1024)} MiB ({ratio:.0f}:1)"
            )
    if total > MAX_TOTAL_BYTES:
        return "zip bomb suspected: members inflate to over 2 GiB"
    return None
