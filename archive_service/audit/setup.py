"""Build the anchor from settings: the audit key, the stores, the time-stamping authority."""

from __future__ import annotations

from archive_service.audit.anchor import Anchor
from archive_service.audit.anchor_stores import AnchorStore, FileAnchor, ObjectAnchor
from archive_service.audit.signing import load_audit_key
from archive_service.audit.timestamps import TimestampAuthority
from archive_service.config import Settings
from storage.backends.s3 import S3Config, S3Store


def build_stores(settings: Settings) -> tuple[AnchorStore, ...]:
    stores: list[AnchorStore] = []
    if settings.audit_anchor_dir:
        stores.append(FileAnchor(settings.audit_anchor_dir))
    if settings.audit_anchor_s3_bucket:
        endpoint = settings.audit_anchor_s3_endpoint or settings.s3_endpoint
        config = S3Config(
            endpoint=endpoint,
            access_key=settings.audit_anchor_s3_access_key or settings.s3_access_key,
            secret_key=settings.audit_anchor_s3_secret_key or settings.s3_secret_key,
            bucket=settings.audit_anchor_s3_bucket,
            secure=settings.s3_secure,
            max_connections=2,
        )
        stores.append(ObjectAnchor(S3Store(config), f"s3:{endpoint}/{config.bucket}"))
    if not stores:
        raise ValueError("no audit anchor store: set ARCHIVE_AUDIT_ANCHOR_DIR or ..._S3_BUCKET")
    return tuple(stores)


def build_anchor(settings: Settings) -> Anchor:
    tsa = (
        TimestampAuthority.from_files(
            settings.audit_tsa_url,
            settings.audit_tsa_ca_file,
            float(settings.audit_tsa_timeout_seconds),
        )
        if settings.audit_tsa_url or settings.audit_tsa_ca_file  # the CA checks old stamps too
        else None
    )
    return Anchor(key=load_audit_key(settings), stores=build_stores(settings), tsa=tsa)
