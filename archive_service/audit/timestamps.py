"""RFC 3161 time-stamps of checkpoints (可信时间戳), through ``rfc3161-client``.

A time-stamping authority signs "this digest existed at this time" with a certificate the
service does not control, so even the audit key's holder cannot later write a checkpoint
and date it in the past. Optional: configured by ``ARCHIVE_AUDIT_TSA_URL`` and the roots
its certificate chains to (``ARCHIVE_AUDIT_TSA_CA_FILE``).
"""

from __future__ import annotations

import base64
import binascii
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from rfc3161_client import (
    HashAlgorithm,
    TimestampRequestBuilder,
    VerificationError,
    VerifierBuilder,
    decode_timestamp_response,
)

MAX_RESPONSE = 64 * 1024  # a time-stamp response is a few KiB; refuse a flood


class TimestampFailed(RuntimeError):
    """The authority could not be reached, or its answer does not verify."""


@dataclass(frozen=True)
class TimestampAuthority:
    url: str
    roots: tuple[x509.Certificate, ...] = field(repr=False)
    timeout: float = 10.0

    @classmethod
    def from_files(cls, url: str, ca_file: str, timeout: float) -> TimestampAuthority:
        if not ca_file:
            raise ValueError(
                "ARCHIVE_AUDIT_TSA_URL needs ARCHIVE_AUDIT_TSA_CA_FILE: the roots "
                "its certificate must chain to"
            )
        roots = tuple(x509.load_pem_x509_certificates(Path(ca_file).read_bytes()))
        return cls(url, roots, timeout)

    def _verifier(self, nonce: int | None = None) -> VerifierBuilder:
        builder = VerifierBuilder()
        for root in self.roots:
            builder = builder.add_root_certificate(root)
        return builder if nonce is None else builder.nonce(nonce)

    def stamp(self, message: bytes) -> str:
        """Ask the authority to stamp ``message`` (SHA-256 of it); the checked response,
        base64 DER."""
        request = (
            TimestampRequestBuilder().data(message).hash_algorithm(HashAlgorithm.SHA256).build()
        )
        http = urllib.request.Request(  # noqa: S310 - the operator's configured URL
            self.url,
            data=request.as_bytes(),
            headers={"Content-Type": "application/timestamp-query"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(http, timeout=self.timeout) as answer:  # noqa: S310
                der = answer.read(MAX_RESPONSE + 1)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise TimestampFailed(f"time-stamping authority unreachable: {exc}") from exc
        if len(der) > MAX_RESPONSE:
            raise TimestampFailed("time-stamping authority answered with too much")
        try:
            response = decode_timestamp_response(der)
            nonce = request.nonce
            self._verifier(nonce).build().verify_message(response, message)
        except (VerificationError, ValueError) as exc:
            raise TimestampFailed(f"time-stamp does not verify: {exc}") from exc
        return base64.b64encode(der).decode()

    def check(self, token: str, message: bytes) -> datetime:
        """When the authority saw ``message``; raises :class:`TimestampFailed` if the token
        is not the trusted authority's stamp of exactly this message."""
        try:
            response = decode_timestamp_response(base64.b64decode(token, validate=True))
            self._verifier().build().verify_message(response, message)
            at = response.tst_info.gen_time
        except (VerificationError, ValueError, binascii.Error) as exc:
            raise TimestampFailed(f"time-stamp does not verify: {exc}") from exc
        return at if at.tzinfo else at.replace(tzinfo=UTC)
