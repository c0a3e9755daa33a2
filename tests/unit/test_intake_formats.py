"""Legacy Office, RTF, OpenDocument, WPS and OFD at intake: each is recognised by its
structure (the OLE stream that names its kind, the stored ``mimetype``, ``OFD.xml``),
taken under its own content type, and refused when the name claims another kind."""

from __future__ import annotations

import io

import pytest

from archive_service.archive import containers
from archive_service.archive.intake import Refused, sniff
from tests import samples
from tests.office_samples import ODP, ODS, ODT, encrypted_docx, odf, ofd, ofd_bomb, rtf
from tests.office_samples import legacy as legacy  # noqa: F401 - the fixture

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def taken(data: bytes, name: str) -> str:
    """The content type intake takes ``data`` under, or the refusal's status and code."""
    try:
        content_type = sniff(data[:8192], name).content_type
    except Refused as exc:
        return f"refused {exc.status}"
    try:
        containers.check(io.BytesIO(data), content_type)
    except containers.NotWhatItClaims as exc:
        return f"refused {exc.code}"
    return content_type


@pytest.mark.parametrize(
    ("kind", "name", "content_type"),
    [
        ("doc", "合同.doc", "application/msword"),
        ("xls", "对账单.xls", "application/vnd.ms-excel"),
        ("ppt", "汇报.ppt", "application/vnd.ms-powerpoint"),
        ("doc", "合同.wps", "application/wps-office.wps"),
        ("xls", "对账单.et", "application/wps-office.et"),
        ("ppt", "汇报.dps", "application/wps-office.dps"),
    ],
)
def test_binary_office_and_wps_files_are_taken_by_their_stream(
    legacy: dict[str, bytes],  # noqa: F811
    kind: str,
    name: str,
    content_type: str,
) -> None:
    assert taken(legacy[kind], name) == content_type


@pytest.mark.parametrize(
    ("kind", "name"),
    [("doc", "报表.xls"), ("xls", "合同.doc"), ("ppt", "合同.wps"), ("doc", "汇报.dps")],
)
def test_a_binary_file_named_as_another_kind_is_refused(
    legacy: dict[str, bytes],  # noqa: F811
    kind: str,
    name: str,
) -> None:
    assert taken(legacy[kind], name) == f"refused {containers.NOT_BINARY_OFFICE}"


def test_a_truncated_doc_is_refused_when_its_directory_is_gone(
    legacy: dict[str, bytes],  # noqa: F811
) -> None:
    # Cut past its header: the directory that names the WordDocument stream is lost.
    assert taken(legacy["doc"][:1024], "合同.doc").startswith("refused")


def test_rtf_and_opendocument_files_are_taken() -> None:
    assert taken(rtf("合同正文"), "合同.rtf") == "application/rtf"
    assert taken(odf(ODT, "合同正文"), "合同.odt") == ODT
    assert taken(odf(ODS, "对账单"), "对账单.ods") == ODS
    assert taken(odf(ODP, "汇报"), "汇报.odp") == ODP


def test_an_opendocument_file_named_as_another_kind_is_refused() -> None:
    assert taken(odf(ODT, "合同正文"), "对账单.ods") == f"refused {containers.NOT_OPENDOCUMENT}"
    plain_zip = samples.zipped({"content.xml": b"<x/>"})
    assert taken(plain_zip, "合同.odt") == f"refused {containers.NOT_OPENDOCUMENT}"
    assert taken(rtf("合同"), "合同.doc") == "refused 415"


def test_an_ofd_is_taken_and_a_random_zip_named_ofd_is_refused() -> None:
    assert taken(ofd(["增值税电子普通发票"]), "发票.ofd") == "application/ofd"
    assert taken(samples.zipped({"a.txt": b"x"}), "发票.ofd") == f"refused {containers.NOT_OFD}"
    no_document = samples.zipped({"OFD.xml": ofd(["x"])[:0] + b"<OFD><DocBody/></OFD>"})
    assert taken(no_document, "发票.ofd") == f"refused {containers.NOT_OFD}"
    assert taken(ofd(["发票"]), "发票.docx") == f"refused {containers.NOT_OFFICE_PACKAGE}"


def test_an_ofd_bomb_is_taken_cheaply_for_its_extraction_to_refuse() -> None:
    # Intake reads only OFD.xml; its 64 MiB page is never inflated here.
    assert taken(ofd_bomb(), "发票.ofd") == "application/ofd"


def test_a_newer_wps_file_that_is_ooxml_is_taken_under_its_wps_name() -> None:
    assert taken(samples.word("合同"), "合同.wps") == "application/wps-office.wps"
    assert taken(samples.xlsx(("a", 1)), "合同.wps") == f"refused {containers.NOT_OFFICE_PACKAGE}"


def test_a_password_protected_docx_is_taken_under_its_ooxml_type() -> None:
    assert taken(encrypted_docx(), "合同.docx") == DOCX
    # An OLE file that is no encrypted package, named .docx, is not.
    assert taken(encrypted_docx(), "合同.doc") == f"refused {containers.NOT_BINARY_OFFICE}"


def test_a_doc_with_macros_is_taken() -> None:
    """Macros are for the intake checks to flag (安全性), not a reason to refuse the file."""
    from tests.office_samples import ole

    with_macros = ole({"WordDocument": b"\xec\xa5" + b"\x00" * 62, "Macros": b"Attribute VB_Name"})
    assert taken(with_macros, "合同.doc") == "application/msword"


def test_every_refusal_reads_in_chinese() -> None:
    import gettext
    from pathlib import Path

    import archive_service
    from archive_service.archive.vocabulary import INTAKE_REFUSALS

    mo = Path(archive_service.__file__).parent / "translations/zh/LC_MESSAGES/messages.mo"
    with mo.open("rb") as handle:
        zh = gettext.GNUTranslations(handle)
    for term in INTAKE_REFUSALS.terms:
        words = zh.pgettext(term.label.context, term.label.english)
        assert "文件未被保存" in words, term.code
