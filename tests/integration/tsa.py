"""A local RFC 3161 time-stamping authority for the tests: OpenSSL's own ``openssl ts
-reply`` (an implementation independent of the client under test) behind a tiny HTTP
server, with a CA and a TSA certificate made here."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CONFIG = """\
[ tsa ]
default_tsa = local
[ local ]
dir = {dir}
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.crt
signer_key = $dir/tsa.key
# No "certs": the answer carries the signer's certificate alone (OpenSSL does not sort a
# SET OF several into DER order, which a strict parser rightly refuses).
signer_digest = sha256
default_policy = 1.3.6.1.4.1.99999.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = no
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def make_ca(folder: Path, name: str = "Test TSA Root") -> tuple[Path, Path, Path]:
    """A root CA and a TSA certificate it issued (critical EKU timeStamping, RFC 3161
    §2.3): the paths of ca.crt, tsa.crt and tsa.key."""
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name(name))
        .issuer_name(_name(name))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    tsa_key = ec.generate_private_key(ec.SECP256R1())
    tsa = (
        x509.CertificateBuilder()
        .subject_name(_name(f"{name} TSA"))
        .issuer_name(ca.subject)
        .public_key(tsa_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    paths = (folder / "ca.crt", folder / "tsa.crt", folder / "tsa.key")
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(tsa.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(_pem_key(tsa_key))
    return paths


@dataclass(frozen=True)
class LocalTSA:
    url: str
    ca_file: Path
    requests: list[bytes]


OPENSSL = shutil.which("openssl") or "openssl"


def openssl_ts_available() -> bool:
    if shutil.which("openssl") is None:
        return False
    probe = subprocess.run([OPENSSL, "ts", "-help"], capture_output=True, check=False)  # noqa: S603
    return b"-reply" in probe.stdout + probe.stderr


@contextmanager
def local_tsa(folder: Path) -> Iterator[LocalTSA]:
    ca_file, _tsa_crt, _tsa_key = make_ca(folder)
    (folder / "serial").write_text("01\n")
    config = folder / "tsa.cnf"
    config.write_text(CONFIG.format(dir=folder))
    lock = threading.Lock()
    seen: list[bytes] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            query = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            seen.append(query)
            with lock, tempfile.TemporaryDirectory(dir=folder) as work:
                tsq, tsr = Path(work) / "q.tsq", Path(work) / "r.tsr"
                tsq.write_bytes(query)
                command = [
                    OPENSSL,
                    "ts",
                    "-reply",
                    "-config",
                    str(config),
                    "-queryfile",
                    str(tsq),
                    "-out",
                    str(tsr),
                ]
                subprocess.run(command, check=True, capture_output=True)  # noqa: S603
                body = tsr.read_bytes()
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LocalTSA(f"http://127.0.0.1:{server.server_address[1]}/tsa", ca_file, seen)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
