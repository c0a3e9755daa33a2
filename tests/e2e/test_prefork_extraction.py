"""Text extraction under the production worker, started exactly as docker-compose.yml starts it.

``init``, ``worker`` (Celery's prefork pool, its concurrency: daemonic pool
processes) and ``indexer`` run with the commands and environment of their
compose services, read from the file, against PostgreSQL, Redis and an S3
server (moto); only the mounted paths are host folders. A clerk files one
document of every type extraction reads; after acceptance each one's text is
extracted in the sandbox (OCR of a scan, LibreOffice for RTF, an OFD's own text) and the
document is found by a word of its body; the worker also makes the previews. The
embedded start (``--pool solo``) never showed the defect this guards against:
every extraction failed, silently, in a daemonic process.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from archive_service.app import create_app
from archive_service.archive.models import Document, Rendition
from archive_service.audit.signing import new_key_pem as new_audit_key_pem
from archive_service.config import Settings
from archive_service.disposal.signing import new_key_pem
from archive_service.indexing.term_key import new_key_text as new_search_key_text
from archive_service.runtime import build_runtime
from storage.keyring import Keyring
from tests import office_samples, samples
from tests.conftest import PASSWORD, People, bearer, require_redis, token_for
from tests.e2e import stack
from tests.integration.test_archive_api import new_customer, upload
from tests.storage.conftest import moto_endpoint  # noqa: F401 - the S3 server fixture
from workers.sender import connect

pytestmark = pytest.mark.slow
BROKER_DB, RESULTS_DB = 10, 11

# file name -> (content, a word of its body found by search and nowhere else)
FILES: dict[str, tuple[bytes, str]] = {
    "投诉记录.pdf": (
        samples.pdf_zh("客户投诉处理记录：付款延迟已经协调财务部门解决。"),
        "付款延迟",
    ),
    "采购合同.docx": (samples.word("本合同约定华夏贸易向本公司采购离心泵三百台。"), "离心泵"),
    "报价.xlsx": (samples.xlsx(("产品", "数量"), ("液压缸", 120)), "液压缸"),
    "季度汇报.pptx": (samples.pptx("第三季度营收增长，重点推广风力发电机组。"), "风力发电机组"),
    "协议.txt": ("年度仓储物流外包服务协议，warehouse outsourcing。".encode(), "warehouse"),
    "调研.txt": ("市场调研报告：华东地区对节能空调的需求明显增长。".encode("gbk") * 3, "节能空调"),
    "清单.csv": ("客户,产品,数量\n华夏贸易,防爆电机,40\n".encode(), "防爆电机"),
    "邮件.eml": (samples.eml("报价", "您好，请查收光伏组件的报价单。"), "光伏组件"),
    # OCR, LibreOffice and OFD in the compose worker's sandbox children.
    "营业执照.jpg": (
        samples.image_bytes(
            samples.scan("营业执照", "名称：上海恒泰隆贸易有限公司"), "JPEG", quality=80
        ),
        "恒泰隆贸易",
    ),
    "函件.rtf": (office_samples.rtf("本公司就冷链仓储事宜致函贵方。"), "冷链仓储"),
    "发票.ofd": (office_samples.ofd(["增值税电子普通发票", "货物名称：真空包装机"]), "真空包装机"),
}
# Their previews, made by the same worker (OCR'd image, LibreOffice's PDF, the drawn OFD).
PREVIEWED = ("营业执照.jpg", "函件.rtf", "发票.ofd")


def _stack(tmp_path: Path, pg_url: str, s3_endpoint: str) -> tuple[dict[str, Any], Settings]:
    """What .env and the mounts give the stack here; every app service's environment."""
    values = {
        "ARCHIVE_DATABASE_URL": pg_url,
        "ARCHIVE_BROKER_URL": f"redis://127.0.0.1:6379/{BROKER_DB}",
        "ARCHIVE_RESULT_BACKEND": f"redis://127.0.0.1:6379/{RESULTS_DB}",
        "ARCHIVE_SECRET_KEY": "prefork-extraction-test",
        "ARCHIVE_S3_ENDPOINT": s3_endpoint,
        "ARCHIVE_S3_ACCESS_KEY": "testing",
        "ARCHIVE_S3_SECRET_KEY": "testing-secret",
        "ARCHIVE_S3_BUCKET": f"prefork-{time.monotonic_ns()}",
        "ARCHIVE_ADMIN_PASSWORD": PASSWORD,
    }
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    Keyring.generate().save(secrets / "archive_keyring")
    (secrets / "archive_signing_key").write_text(new_key_pem())
    (secrets / "archive_audit_key").write_text(new_audit_key_pem())
    (secrets / "archive_search_key").write_text(new_search_key_text())
    mounts = {
        "/var/lib/archive/instance": tmp_path / "instance",
        "/var/lib/archive/index": tmp_path / "index",
        "/run/secrets": secrets,
        "/tmp": tmp_path / "tmpfs",  # noqa: S108 - the container path compose mounts a tmpfs on
    }
    for folder in mounts.values():
        folder.mkdir(exist_ok=True)
    envs = {name: stack.environment(name, values, mounts) for name in ("init", "worker", "indexer")}
    return envs, Settings.from_env(envs["worker"])


def test_every_type_is_extracted_and_found_under_the_compose_worker(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    pg_url: str = request.getfixturevalue("pg_schema_url")
    from tests.conftest import _reset_pg

    _reset_pg(pg_url)
    require_redis(BROKER_DB, RESULTS_DB)
    envs, settings = _stack(tmp_path, pg_url, request.getfixturevalue("moto_endpoint"))
    log = tmp_path / "stack.log"
    init = stack.start(stack.command("init"), stack.process_env(envs["init"]), log)
    assert init.wait(timeout=120) == 0, stack.tail(log)
    workers = [
        stack.start(stack.command(name), stack.process_env(envs[name]), log)
        for name in ("worker", "indexer")
    ]
    rt = connect(build_runtime(settings))
    try:
        client = create_app(settings, runtime=rt).test_client()
        people = People(rt)
        people.user("clara", "clerk", department="SALES")
        people.user("arch", "archivist", department="OPS")
        clara, arch = (bearer(token_for(client, n)) for n in ("clara", "arch"))
        customer = new_customer(client, clara)
        docs: dict[str, int] = {}
        for n, (name, (data, _word)) in enumerate(FILES.items()):
            resp = upload(client, clara, customer, data, filename=name, title=f"文件{n}")
            assert resp.status_code == 201, (name, resp.get_json())
            docs[name] = resp.get_json()["id"]
            accepted = client.post(f"/api/v1/documents/{docs[name]}/accept", headers=arch)
            assert accepted.status_code == 200, accepted.get_json()

        def found(word: str) -> list[int]:
            resp = client.get("/api/v1/documents", query_string={"q": word}, headers=clara)
            assert resp.status_code == 200, resp.get_json()
            return [item["id"] for item in resp.get_json()["items"]]

        # Every extraction ends (done or failed), then every extracted one reaches the index.
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            with rt.db.unit_of_work() as s:
                states = dict(s.execute(select(Document.id, Document.extraction)).all())
            if "pending" not in states.values() and (
                "failed" in states.values()
                or all(found(word)[:1] == [docs[name]] for name, (_data, word) in FILES.items())
            ):
                break
            for proc in workers:
                assert proc.poll() is None, f"a worker stopped:\n{stack.tail(log)}"
            time.sleep(1)
        with rt.db.unit_of_work() as s:
            outcome = {
                d.id: (d.extraction, d.extraction_error)
                for d in s.execute(select(Document)).scalars()
            }
        assert outcome == {doc: ("done", None) for doc in docs.values()}, stack.tail(log)
        for name, (_data, word) in FILES.items():
            assert found(word) == [docs[name]], (name, word)
        wanted = {docs[name] for name in PREVIEWED}
        while time.monotonic() < deadline:
            with rt.db.unit_of_work() as s:
                rows = s.execute(select(Rendition).where(Rendition.document_id.in_(wanted)))
                made = {(r.document_id, r.kind): r.status for r in rows.scalars()}
            if len(made) == 2 * len(wanted):
                break
            time.sleep(1)
        assert made == {(d, k): "made" for d in wanted for k in ("preview_pdf", "thumbnail")}, (
            made,
            stack.tail(log),
        )
    finally:
        rt.close()
        for proc in workers:
            stack.stop(proc)
