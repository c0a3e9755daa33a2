"""Small generated files for the intake checks: PDFs with JavaScript, an embedded
executable, a password, a missing font, a signature (valid, then tampered); an encrypted
DOCX; a DOCX with a VBA project; a DOCX embedding an executable; a truncated image."""

from __future__ import annotations

import io
import zipfile
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pikepdf

from tests import samples


def _plain(data: bytes) -> pikepdf.Pdf:
    return pikepdf.open(io.BytesIO(data))


def _saved(pdf: pikepdf.Pdf, **options: object) -> bytes:
    buf = io.BytesIO()
    pdf.save(buf, **options)  # type: ignore[arg-type]
    return buf.getvalue()


def pdf_with_javascript() -> bytes:
    pdf = _plain(samples.pdf("script"))
    pdf.Root.OpenAction = pdf.make_indirect(
        pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert(1)"))
    )
    return _saved(pdf)


def pdf_with_launch() -> bytes:
    pdf = _plain(samples.pdf("launch"))
    pdf.Root.OpenAction = pdf.make_indirect(
        pikepdf.Dictionary(S=pikepdf.Name.Launch, F=pikepdf.String("calc.exe"))
    )
    return _saved(pdf)


def pdf_with_attachment(data: bytes = b"<invoice/>", name: str = "invoice.xml") -> bytes:
    pdf = _plain(samples.pdf("attached"))
    pdf.attachments[name] = pikepdf.AttachedFileSpec(pdf, data, filename=name)
    return _saved(pdf)


def pdf_with_executable() -> bytes:
    return pdf_with_attachment(samples.windows_exe(), "setup.exe")


def pdf_with_password() -> bytes:
    return _saved(
        _plain(samples.pdf("secret")), encryption=pikepdf.Encryption(user="pw", owner="pw")
    )


def pdf_with_missing_font() -> bytes:
    pdf = _plain(samples.pdf("font"))
    font = pdf.pages[0].Resources.Font
    for key in list(font.keys()):
        font[key].BaseFont = pikepdf.Name("/NoSuchFontAnywhereXyz")
    return _saved(pdf)


def signed_pdf(tampered: bool = False) -> bytes:
    """A PDF signed by pyHanko with a self-signed certificate made here; ``tampered``
    changes one byte of the signed content afterwards."""
    from asn1crypto import keys as akeys
    from asn1crypto import x509 as ax509
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "测试签章")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(
            x509.KeyUsage(True, True, False, False, False, False, False, False, False),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    signer = signers.SimpleSigner(
        signing_cert=ax509.Certificate.load(cert.public_bytes(serialization.Encoding.DER)),
        signing_key=akeys.PrivateKeyInfo.load(
            key.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        ),
        cert_registry=None,  # type: ignore[arg-type]
    )
    plain = io.BytesIO(
        _saved(
            _plain(samples.pdf("signed")),
            compress_streams=False,
            object_stream_mode=pikepdf.ObjectStreamMode.disable,
        )
    )
    # pyHanko's sign_pdf runs its own event loop (asyncio.run): in a thread of its own, so
    # that a loop left running in this one (Playwright's sync API) does not refuse it.
    with ThreadPoolExecutor(max_workers=1) as pool:
        out = pool.submit(
            signers.sign_pdf,
            IncrementalPdfFileWriter(plain),
            signers.PdfSignatureMetadata(field_name="Sig1"),
            signer=signer,
        ).result()
    data = out.getvalue()
    if tampered:
        at = data.index(b"signed)")
        data = data[:at] + b"SIGNED)" + data[at + 7 :]
    return data


def encrypted_docx(password: str = "pw") -> bytes:
    from msoffcrypto.format.ooxml import OOXMLFile

    out = io.BytesIO()
    OOXMLFile(io.BytesIO(samples.docx())).encrypt(password, out)
    return out.getvalue()


def _docx_plus(members: dict[str, bytes]) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(samples.docx()))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            z.writestr(info, src.read(info))
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def docm_with_macros() -> bytes:
    """A Word package carrying a VBA project (what a .docm holds), made by hand."""
    return _docx_plus({"word/vbaProject.bin": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)})


def docx_with_executable() -> bytes:
    return _docx_plus({"word/embeddings/payload.exe": samples.windows_exe()})


def truncated_png() -> bytes:
    return samples.png(200, 200)[:-40]
