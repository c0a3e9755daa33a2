"""The restore drill's people and steps, shared by the drill tests (SQLite + folder and
PostgreSQL + S3): an organisation, documents filed long ago and now, a grant and its use,
and destructions run through the API as people would."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import time_machine
from sqlalchemy import select

from archive_service.app import create_app
from archive_service.archive.models import Document, Rendition
from archive_service.runtime import Runtime
from archive_service.vault.models import StoredObject
from tests import samples
from tests.conftest import People, bearer, token_for

NOW = datetime.now(UTC)
LONG_AGO = NOW - timedelta(days=11 * 366)
PASSPHRASE = "correct horse backup staple 7"
NAMES = ("clara", "arch", "olga", "leo", "sven", "sue", "sam", "audrey")


def organisation(people: People) -> None:
    people.user("clara", "clerk", department="SALES")
    people.user("sam", "department_head", department="SALES")
    people.user("sue", "requester", department="SALES")
    people.user("arch", "archivist", department="OPS")
    people.user("olga", "operations_head", department="OPS")
    people.user("leo", "leader", department="OPS")
    people.user("sven", "supervisor", department="OPS")
    people.user("audrey", "auditor", department="OPS")


@dataclass
class Drill:
    rt: Runtime
    client: Any = None
    h: dict[str, dict[str, str]] = field(default_factory=dict)
    docs: dict[str, int] = field(default_factory=dict)
    customer: int = 0

    @classmethod
    def on(cls, rt: Runtime) -> Drill:
        drill = cls(rt)
        drill.connect(rt)
        return drill

    def connect(self, rt: Runtime) -> None:
        self.rt = rt
        self.client = create_app(rt.settings, runtime=rt).test_client()
        self.h = {n: bearer(token_for(self.client, n)) for n in NAMES}

    def file(self, name: str, customer: int, long_ago: bool = False) -> int:
        people = People(self.rt)
        if long_ago:
            with time_machine.travel(LONG_AGO, tick=True):
                doc = people.document(
                    "clara",
                    customer,
                    samples.pdf(name),
                    title=name,
                    filename=f"{name}.pdf",
                    accepted_by=("arch",),
                )
        else:
            doc = people.document(
                "clara",
                customer,
                samples.pdf(name),
                title=name,
                filename=f"{name}.pdf",
                accepted_by=("arch",),
            )
        self.docs[name] = doc
        return doc

    def compile_review(self) -> tuple[int, list[int]]:
        review = self.client.post("/api/v1/retention-reviews", headers=self.h["arch"])
        assert review.status_code == 201, review.get_json()
        body = review.get_json()
        return body["id"], [i["document_id"] for i in body["items"]]

    def destroy(self, rid: int, doc_ids: list[int]) -> int:
        c, h = self.client, self.h
        assert (
            c.post(f"/api/v1/retention-reviews/{rid}/confirm", headers=h["olga"]).status_code == 200
        )
        for doc in doc_ids:
            resp = c.post(
                f"/api/v1/retention-reviews/{rid}/items/{doc}/appraisal",
                json={"decision": "destroy"},
                headers=h["arch"],
            )
            assert resp.status_code == 200, resp.get_json()
        dest = c.post(f"/api/v1/retention-reviews/{rid}/destruction", headers=h["arch"])
        assert dest.status_code == 201, dest.get_json()
        did = int(dest.get_json()["id"])
        for who in ("olga", "leo"):
            decided = c.post(
                f"/api/v1/destructions/{did}/decision",
                json={"decision": "approve"},
                headers=h[who],
            )
            assert decided.status_code == 200, decided.get_json()
        started = c.post(
            f"/api/v1/destructions/{did}/execute",
            json={"supervisor": "sven", "place": "机房"},
            headers=h["arch"],
        )
        assert started.status_code == 202, started.get_json()
        status = c.get(f"/api/v1/destructions/{did}", headers=h["audrey"]).get_json()
        assert status["status"] == "completed", status
        return did

    def grant(self) -> None:
        req = self.client.post(
            "/api/v1/access-requests",
            json={
                "purpose": "年度对账核查",
                "mode": "download",
                "customer": "华夏贸易",
                "categories": ["basic.profile"],
                "starts_at": (NOW - timedelta(minutes=1)).isoformat(),
                "ends_at": (NOW + timedelta(days=7)).isoformat(),
            },
            headers=self.h["sue"],
        )
        assert req.status_code == 201, req.get_json()
        decided = self.client.post(
            f"/api/v1/access-requests/{req.get_json()['id']}/decision",
            json={"decision": "approve"},
            headers=self.h["sam"],
        )
        assert decided.get_json()["status"] == "approved", decided.get_json()

    def content(self, doc: int, who: str = "clara") -> Any:
        return self.client.get(f"/api/v1/documents/{doc}/content", headers=self.h[who])

    def object_names(self, doc_id: int) -> list[str]:
        with self.rt.db.unit_of_work() as s:
            doc = s.get(Document, doc_id)
            assert doc is not None
            ids = [v.stored_object_id for v in doc.versions]
            if doc.text_object_id is not None:
                ids.append(doc.text_object_id)
            ids += [
                i
                for i in s.execute(
                    select(Rendition.stored_object_id).where(Rendition.document_id == doc_id)
                ).scalars()
                if i is not None
            ]
            rows = s.execute(select(StoredObject).where(StoredObject.id.in_(ids))).scalars()
            return sorted({r.object_name for r in rows})

    def keys_of(self, names: list[str]) -> list[str | None]:
        with self.rt.db.unit_of_work() as s:
            return [
                r.wrapped_key
                for r in s.execute(
                    select(StoredObject).where(StoredObject.object_name.in_(names))
                ).scalars()
            ]

    def register(self) -> list[dict[str, Any]]:
        resp = self.client.get("/api/v1/access-register", headers=self.h["arch"])
        assert resp.status_code == 200, resp.get_json()
        items: list[dict[str, Any]] = resp.get_json()["items"]
        return items


def before_backup(drill: Drill) -> dict[str, Any]:
    """Customers, documents (two filed long ago, so due), a grant used once, and the first
    destruction; returns what the restore must bring back."""
    people = People(drill.rt)
    old = people.customer("clara", name="旧客户")
    drill.customer = people.customer("clara", name="华夏贸易")
    drill.file("gone_before", old, long_ago=True)
    rid, listed = drill.compile_review()
    assert listed == [drill.docs["gone_before"]]
    drill.file("gone_after", old, long_ago=True)  # due, but not on the first list
    drill.file("licence", drill.customer)
    drill.file("kept_old", drill.customer)
    drill.grant()
    assert drill.content(drill.docs["licence"], "sue").status_code == 200  # registered
    names = {n: drill.object_names(drill.docs[n]) for n in ("gone_before", "gone_after")}
    drill.destroy(rid, listed)
    return {"names": names}
