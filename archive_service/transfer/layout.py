"""The layout of a transfer package (移交包): what each file in it is, named once for the
writer (``transfer.package``), the checker (``transfer.verify``) and the receiver
(``transfer.receive``).

A package is a ZIP file with one folder, ``transfer-<package id>/``, holding::

    README.txt              what is here and how to check it with standard tools
    manifest.json           the package: transfer, sender, documents, every file's digests
    manifest.sig            Ed25519 signature (64 raw bytes) over manifest.json as stored
    public_key.pem          the key that signed it (compare its id with the sender's)
    checksums.sha256        every file listed in the manifest, in ``sha256sum -c`` form
    check-items.json        what each 四性检测 item of the reports is, in both languages
    transfer-list.pdf/.xlsx the 移交清单
    documents/<number>/metadata.xml        DA/T 46 element names, in a DA/T 48 envelope
    documents/<number>/metadata.json       the same and more, for machines
    documents/<number>/history.json        the document's audit events, oldest first
    documents/<number>/access-register.json who read it
    documents/<number>/checks.json         its 四性检测 reports, as stored
    documents/<number>/files/v<n>-<name>   the original files, decrypted
"""

from __future__ import annotations

import re

FORMAT = "archive-transfer-package"
VERSION = 1
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
PUBLIC_KEY = "public_key.pem"
CHECKSUMS = "checksums.sha256"
README = "README.txt"
CHECK_ITEMS = "check-items.json"
LIST_PDF = "transfer-list.pdf"
LIST_XLSX = "transfer-list.xlsx"
METADATA_XML = "metadata.xml"
METADATA_JSON = "metadata.json"
HISTORY = "history.json"
REGISTER = "access-register.json"
CHECKS = "checks.json"
# Files outside the manifest's list: the manifest itself and what checks it.
UNLISTED = (MANIFEST, SIGNATURE, PUBLIC_KEY)

_UNSAFE = re.compile(r"[^\w.·\-]+", re.UNICODE)


def root(package_id: str) -> str:
    return f"transfer-{package_id}"


def safe_name(text: str, limit: int = 120) -> str:
    """``text`` as one path segment: no separators, no dot-only names, bounded."""
    name = _UNSAFE.sub("_", text).strip("._") or "_"
    return name[:limit]


def document_dir(number: str, taken: set[str]) -> str:
    base = f"documents/{safe_name(number)}"
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}_{n}"
    taken.add(name)
    return name


def file_name(version: int, filename: str) -> str:
    return f"files/v{version}-{safe_name(filename)}"
