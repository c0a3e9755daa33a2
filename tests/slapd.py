"""A real OpenLDAP server for the tests: Debian's ``slapd`` started on free ports with a
generated configuration (``slapd -f``), a CA and server certificate made here (StartTLS on
``ldap://``, and ``ldaps://``), and a generated directory: people, groups, a service
account. The ppolicy overlay gives ``pwdAccountLockedTime``, the attribute the tests'
"disabled filter" looks at."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from ldap3 import MODIFY_ADD, MODIFY_DELETE, Connection, Server, Tls

SLAPD = shutil.which("slapd") or "/usr/sbin/slapd"
SLAPADD = shutil.which("slapadd") or "/usr/sbin/slapadd"
SCHEMA = Path("/etc/ldap/schema")
MODULES = Path("/usr/lib/ldap")
BASE = "dc=archive,dc=test"
PEOPLE = f"ou=people,{BASE}"
GROUPS = f"ou=groups,{BASE}"
ADMIN_DN = f"cn=admin,{BASE}"
ADMIN_PASSWORD = "admin-secret-1"
SERVICE_DN = f"cn=archive-svc,{BASE}"
SERVICE_PASSWORD = "service secret 1"
CLERKS = f"cn=archive-clerks,{GROUPS}"
ARCHIVISTS = f"cn=archive-archivists,{GROUPS}"
AUDITORS = f"cn=archive-auditors,{GROUPS}"
GROUP_ROLES = f"{CLERKS}=clerk;{ARCHIVISTS}=archivist;{AUDITORS}=auditor"
DISABLED_FILTER = "(pwdAccountLockedTime=*)"
PASSWORD = "directory pass 7"

CONFIG = """\
include {schema}/core.schema
include {schema}/cosine.schema
include {schema}/inetorgperson.schema
modulepath {modules}
moduleload back_mdb
moduleload ppolicy
pidfile {dir}/slapd.pid
TLSCACertificateFile {dir}/ca.crt
TLSCertificateFile {dir}/server.crt
TLSCertificateKeyFile {dir}/server.key
TLSProtocolMin 3.3
database mdb
maxsize 20971520
suffix "{base}"
rootdn "{admin}"
rootpw {admin_password}
directory {dir}/data
overlay ppolicy
access to attrs=userPassword by anonymous auth by self write by * none
access to * by dn.exact="{service}" read by self read by * none
"""


def slapd_available() -> bool:
    return Path(SLAPD).exists() and Path(SLAPADD).exists() and (MODULES / "back_mdb.la").exists()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _ca(name: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    now = datetime.now(UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(name))
        .issuer_name(_name(name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def make_certificates(folder: Path) -> None:
    """ca.crt (trusted by the tests' settings), server.crt/.key for 127.0.0.1 and
    localhost, and other-ca.crt: a CA that did not issue the server's certificate."""
    ca, ca_key = _ca("Archive Test Directory CA")
    other, _other_key = _ca("Some Other CA")
    now = datetime.now(UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    server = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(IPv4Address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    (folder / "ca.crt").write_bytes(_pem(ca))
    (folder / "other-ca.crt").write_bytes(_pem(other))
    (folder / "server.crt").write_bytes(_pem(server))
    (folder / "server.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def _entry(dn: str, **attributes: str | list[str]) -> str:
    lines = [f"dn: {dn}"]
    for name, value in attributes.items():
        for v in value if isinstance(value, list) else [value]:
            lines.append(f"{name}: {v}")
    return "\n".join(lines) + "\n"


def _directory_ldif() -> str:
    """The base tree, the service account, and the mapped groups (groupOfNames needs a
    member: the service account stands in)."""
    entries = [
        _entry(BASE, objectClass=["dcObject", "organization"], o="Archive Test", dc="archive"),
        _entry(PEOPLE, objectClass="organizationalUnit", ou="people"),
        _entry(GROUPS, objectClass="organizationalUnit", ou="groups"),
        _entry(
            SERVICE_DN,
            objectClass="person",
            cn="archive-svc",
            sn="service",
            userPassword=SERVICE_PASSWORD,
        ),
    ]
    for group in (CLERKS, ARCHIVISTS, AUDITORS):
        cn = group.split(",")[0].split("=")[1]
        entries.append(_entry(group, objectClass="groupOfNames", cn=cn, member=SERVICE_DN))
    return "\n".join(entries)


@dataclass
class Slapd:
    """The running server and what the tests need to reach and change it."""

    folder: Path
    port: int
    ldaps_port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    @property
    def ldaps_url(self) -> str:
        return f"ldaps://127.0.0.1:{self.ldaps_port}"

    @property
    def ca_file(self) -> str:
        return str(self.folder / "ca.crt")

    @property
    def other_ca_file(self) -> str:
        return str(self.folder / "other-ca.crt")

    @contextmanager
    def admin(self) -> Iterator[Connection]:
        tls = Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=self.ca_file)
        server = Server("127.0.0.1", port=self.port, tls=tls, connect_timeout=5)
        conn = Connection(server, ADMIN_DN, ADMIN_PASSWORD, raise_exceptions=True)
        conn.open()
        conn.start_tls()
        conn.bind()
        try:
            yield conn
        finally:
            conn.unbind()

    def add_person(
        self,
        prefix: str,
        *groups: str,
        department: str | None = "SALES",
        display_name: str = "李华",
        disabled: bool = False,
    ) -> str:
        """A new person (a username no other test uses) in ``groups``; their username."""
        uid = f"{prefix}-{uuid.uuid4().hex[:8]}"
        dn = self.dn(uid)
        attributes: dict[str, str | list[str]] = {
            "objectClass": ["inetOrgPerson"],
            "cn": uid,
            "sn": uid,
            "displayName": display_name,
            "mail": f"{uid}@archive.test",
            "userPassword": PASSWORD,
        }
        if department:
            attributes["departmentNumber"] = department
        with self.admin() as conn:
            conn.add(dn, attributes=attributes)
            for group in groups:
                conn.modify(group, {"member": [(MODIFY_ADD, [dn])]})
            if disabled:
                self._lock(conn, dn)
        return uid

    @staticmethod
    def dn(uid: str) -> str:
        return f"uid={uid},{PEOPLE}"

    @staticmethod
    def _lock(conn: Connection, dn: str) -> None:
        conn.modify(dn, {"pwdAccountLockedTime": [(MODIFY_ADD, ["000001010000Z"])]})

    def disable(self, uid: str) -> None:
        with self.admin() as conn:
            self._lock(conn, self.dn(uid))

    def leave_group(self, uid: str, group: str) -> None:
        with self.admin() as conn:
            conn.modify(group, {"member": [(MODIFY_DELETE, [self.dn(uid)])]})

    def join_group(self, uid: str, group: str) -> None:
        with self.admin() as conn:
            conn.modify(group, {"member": [(MODIFY_ADD, [self.dn(uid)])]})

    def remove(self, uid: str) -> None:
        with self.admin() as conn:
            for group in (CLERKS, ARCHIVISTS, AUDITORS):
                conn.raise_exceptions = False
                conn.modify(group, {"member": [(MODIFY_DELETE, [self.dn(uid)])]})
            conn.raise_exceptions = True
            conn.delete(self.dn(uid))

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _wait_for(port: int, process: subprocess.Popen[bytes], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"slapd exited with {process.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError("slapd did not start listening")


@contextmanager
def running_slapd(folder: Path) -> Iterator[Slapd]:
    """Configure, load and start slapd in ``folder``; stop it at the end."""
    (folder / "data").mkdir(parents=True)
    make_certificates(folder)
    config = folder / "slapd.conf"
    config.write_text(
        CONFIG.format(
            schema=SCHEMA,
            modules=MODULES,
            dir=folder,
            base=BASE,
            admin=ADMIN_DN,
            admin_password=ADMIN_PASSWORD,
            service=SERVICE_DN,
        )
    )
    ldif = folder / "directory.ldif"
    ldif.write_text(_directory_ldif())
    subprocess.run(  # noqa: S603 - fixed arguments
        [SLAPADD, "-f", str(config), "-l", str(ldif)], check=True, capture_output=True
    )
    server = Slapd(folder=folder, port=free_port(), ldaps_port=free_port())
    log = (folder / "slapd.log").open("wb")
    server.process = subprocess.Popen(  # noqa: S603 - fixed arguments
        [
            SLAPD,
            "-d",
            "0",
            "-f",
            str(config),
            "-h",
            f"{server.url}/ {server.ldaps_url}/",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_for(server.port, server.process)
        _wait_for(server.ldaps_port, server.process)
        yield server
    finally:
        server.stop()
        log.close()
