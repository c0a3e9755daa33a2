"""The compiled Chinese catalogue is current and complete."""

from __future__ import annotations

import io
from pathlib import Path

from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

import archive_service

LC = Path(archive_service.__file__).parent / "translations" / "zh" / "LC_MESSAGES"


def test_every_message_has_a_chinese_translation() -> None:
    catalog = read_po((LC / "messages.po").open("rb"))
    missing = [m.id for m in catalog if m.id and not m.string]
    assert missing == []


def test_compiled_catalogue_matches_the_source() -> None:
    catalog = read_po((LC / "messages.po").open("rb"))
    compiled = read_mo((LC / "messages.mo").open("rb"))
    assert {(m.context, m.id): m.string for m in catalog if m.id} == {
        (m.context, m.id): m.string for m in compiled if m.id
    }
    buf = io.BytesIO()
    write_mo(buf, catalog)
    assert buf.getvalue()
