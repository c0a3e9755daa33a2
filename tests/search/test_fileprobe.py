"""The structural probe of the intake checks, on small generated files: each finding, and a
hostile or broken file ending as a readable result rather than an exception."""

from __future__ import annotations

from pathlib import Path

import pytest

from search import fileprobe
from search.fileprobe import OLE, OOXML, PDF, probe
from tests import check_files, samples


def _probe(tmp_path: Path, data: bytes, **limits: float) -> fileprobe.Probe:
    path = tmp_path / "file"
    path.write_bytes(data)
    return probe(path, **limits)  # type: ignore[arg-type]


def test_a_plain_pdf_is_clean(tmp_path: Path) -> None:
    p = _probe(tmp_path, samples.pdf("clean"))
    assert p.family == PDF and p.parsed and p.pages == 1 and p.encrypted is False
    assert p.signatures == () and p.fonts_missing == () and not p.javascript and not p.launch
    assert p.attachments == 0 and p.executables == ()


@pytest.mark.parametrize(
    ("make", "finding"),
    [
        (check_files.pdf_with_javascript, "javascript"),
        (check_files.pdf_with_launch, "launch"),
    ],
)
def test_active_content_in_a_pdf(tmp_path: Path, make: object, finding: str) -> None:
    p = _probe(tmp_path, make())  # type: ignore[operator]
    assert getattr(p, finding) is True


def test_embedded_files_and_executables_in_a_pdf(tmp_path: Path) -> None:
    attached = _probe(tmp_path, check_files.pdf_with_attachment())
    assert attached.attachments == 1 and attached.executables == ()
    exe = _probe(tmp_path, check_files.pdf_with_executable())
    assert exe.attachments == 1 and exe.executables == ("setup.exe",)


def test_a_password_protected_pdf(tmp_path: Path) -> None:
    p = _probe(tmp_path, check_files.pdf_with_password())
    assert p.encrypted is True and not p.parsed and p.error is None


def test_a_font_neither_embedded_nor_installed(tmp_path: Path) -> None:
    assert _probe(tmp_path, check_files.pdf_with_missing_font()).fonts_missing == (
        "NoSuchFontAnywhereXyz",
    )


def test_signatures_valid_then_tampered(tmp_path: Path) -> None:
    good = _probe(tmp_path, check_files.signed_pdf())
    assert good.signatures is not None and len(good.signatures) == 1
    assert good.signatures[0].intact and good.signatures[0].valid
    assert not good.signatures[0].trusted  # self-signed: no trusted root
    bad = _probe(tmp_path, check_files.signed_pdf(tampered=True))
    assert bad.signatures is not None and not bad.signatures[0].intact


def test_office_files(tmp_path: Path) -> None:
    clean = _probe(tmp_path, samples.docx())
    assert clean.family == OOXML and clean.parsed and clean.macros is False
    assert clean.executables == () and clean.encrypted is False
    locked = _probe(tmp_path, check_files.encrypted_docx())
    assert locked.family == OLE and locked.encrypted is True  # an OLE container
    assert _probe(tmp_path, check_files.docm_with_macros()).macros is True
    assert _probe(tmp_path, check_files.docx_with_executable()).executables == ("payload.exe",)


def test_broken_and_hostile_files_end_as_findings(tmp_path: Path) -> None:
    png = _probe(tmp_path, check_files.truncated_png())
    assert png.family == "image" and not png.parsed and "decode" in (png.parse_error or "")
    bomb = _probe(tmp_path, samples.zipped({"[Content_Types].xml": b"<a/>" + b" " * 40_000_000}))
    assert not bomb.parsed and "bomb" in (bomb.parse_error or "")
    cut = _probe(tmp_path, samples.pdf("cut")[:200])
    assert cut.family == PDF and (not cut.parsed or cut.error)


def test_a_parse_past_its_time_is_a_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def slow(*_args: object, **_kwargs: object) -> object:
        from search.sandbox import SandboxTimeout

        raise SandboxTimeout("no result within 1 s")

    monkeypatch.setattr(fileprobe, "run_limited", slow)
    p = _probe(tmp_path, samples.pdf("slow"), timeout=1)
    assert p.error == "the examination took longer than 1 s"
