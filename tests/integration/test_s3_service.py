"""The production storage path end to end: the service configured for S3 (a real
S3-protocol server, moto, through the real minio client) with PostgreSQL or SQLite."""

from __future__ import annotations

import secrets
from dataclasses import replace
from typing import Any

import pytest

from archive_service.app import create_app
from archive_service.cli.start import initialise
from tests.conftest import People, bearer, token_for
from tests.storage.conftest import moto_config, moto_endpoint, raw_client  # noqa: F401

pytestmark = pytest.mark.slow


def test_upload_and_download_through_s3(settings: Any, moto_endpoint: str) -> None:  # noqa: F811
    bucket = f"archive-{secrets.token_hex(4)}"
    s3 = replace(
        settings,
        storage="s3",
        s3_endpoint=moto_endpoint,
        s3_access_key="testing",
        s3_secret_key="testing-secret",
        s3_bucket=bucket,
        s3_secure=False,
        admin_password="s3 test root pass",
    )
    rt, _ = initialise(s3)  # creates the bucket
    try:
        app = create_app(s3, runtime=rt)
        client = app.test_client()
        assert client.get("/api/v1/health").get_json()["checks"]["object_store"] == {"ok": True}
        people = People(rt)
        people.user("clara", "clerk", department="SALES")
        people.user("arch1", "archivist", department="OPS")
        clara, arch = bearer(token_for(client, "clara")), bearer(token_for(client, "arch1"))
        cid = client.post(
            "/api/v1/customers",
            headers=clara,
            json={"name": "华夏贸易", "customer_type": "enterprise", "department": "SALES"},
        ).get_json()["id"]
        marker = "机密客户资料 MARKER-7731"
        data = marker.encode() * 3000
        import io

        doc = client.post(
            "/api/v1/documents",
            headers=clara,
            content_type="multipart/form-data",
            data={
                "customer_id": str(cid),
                "category": "service.inquiry",
                "title": "咨询记录",
                "retention_class": "short",
                "file": (io.BytesIO(data), "咨询记录.txt"),
            },
        ).get_json()
        client.post(f"/api/v1/documents/{doc['id']}/accept", headers=arch)
        got = client.get(f"/api/v1/documents/{doc['id']}/content", headers=clara)
        assert got.status_code == 200 and got.data == data
        # What the S3 server holds: random names, no plaintext, no metadata about the customer.
        raw = raw_client(moto_config(moto_endpoint, bucket))
        # The file, its text rendition (the extracted text) and its preview PDF and
        # thumbnail, all encrypted like the file.
        objects = list(raw.list_objects(bucket, recursive=True))
        assert len(objects) == 4
        for obj in objects:
            name = obj.object_name
            assert all(c in "0123456789abcdef" for c in name.split("/")[-1])
            response = raw.get_object(bucket, name)
            try:
                stored = response.read()
            finally:
                response.close()
                response.release_conn()
            assert marker.encode() not in stored and b"MARKER" not in stored
            stat = raw.stat_object(bucket, name)
            assert "华夏" not in str(stat.metadata)
            assert "customer" not in str(stat.metadata).lower()
    finally:
        rt.close()
