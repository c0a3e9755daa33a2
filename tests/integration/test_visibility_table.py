"""The read rule in its two forms agrees: the per-object rule (``may``) and the SQL clauses
lists, counts and pages use (``policy.visibility``), for every person and document of a
small organisation with grants of every kind — no HTTP involved."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from archive_service.access import applications, grants
from archive_service.accounts.users import user_by_username
from archive_service.archive import customers, documents, review
from archive_service.archive.models import Customer, Document
from archive_service.db import utcnow
from archive_service.policy import Caller, may
from archive_service.policy.visibility import customers_clause, documents_clause
from archive_service.runtime import Runtime
from archive_service.sampling import services as sampling
from tests.conftest import People

PEOPLE = {
    "clara": ("clerk", "SALES"),
    "hank": ("department_head", "SALES"),
    "carl": ("clerk", "FIN"),
    "fiona": ("department_head", "FIN"),
    "fay": ("requester", "FIN"),
    "rita": ("requester", "FIN"),
    "arch": ("archivist", "OPS"),
    "olga": ("operations_head", "OPS"),
    "mona": ("manager", "OPS"),
    "audrey": ("auditor", "OPS"),
    "root": ("admin", "OPS"),
}


def _as(s: Any, name: str) -> Caller:
    return Caller.of(user_by_username(s, name))


def _document(s: Any, rt: Runtime, customer: int, category: str, n: int) -> int:
    doc = documents.upload(
        s,
        _as(s, "clara" if n < 10 else "carl"),
        rt.vault,
        documents.Upload(
            customer_id=customer,
            category=category,
            title=f"文件{n}",
            retention_class="short",
            document_date=None,
            filename=f"{n}.txt",
            stream=io.BytesIO(f"document {n}".encode()),
            facts={"contract_number": f"HT-{n}"},
        ),
        rt.archive,
    )
    review.accept(s, _as(s, "arch"), doc.id, rt.archive, rt.checking)
    return doc.id


def _grant(rt: Runtime, who: str, **scope: Any) -> int:
    """An application approved along its whole chain; returns its grant id."""
    now = utcnow()
    with rt.db.unit_of_work() as s:
        req = applications.apply(
            s,
            _as(s, who),
            applications.Application(
                purpose="核对", mode="view", starts_at=now, ends_at=now + timedelta(days=3), **scope
            ),
        )
        req_id = req.id
    for approver in ("fiona", "olga"):
        with rt.db.unit_of_work() as s:
            applications.decide(s, _as(s, approver), req_id, "approve", None)
    with rt.db.unit_of_work() as s:
        req = applications.get_request(s, Caller.cli(), req_id)
        assert req.grant is not None
        return req.grant.id


def test_sql_clauses_agree_with_the_per_object_rule(rt: Runtime, people: People) -> None:
    for dept in ("SALES", "FIN", "OPS"):
        people.department(dept)
    for name, (role, dept) in PEOPLE.items():
        people.user(name, role, department=dept)
    with rt.db.unit_of_work() as s:
        sales = customers.create_customer(
            s, _as(s, "clara"), {"name": "甲", "customer_type": "enterprise", "department": "SALES"}
        ).id
        other = customers.create_customer(
            s, _as(s, "clara"), {"name": "乙", "customer_type": "enterprise", "department": "SALES"}
        ).id
        fin = customers.create_customer(
            s, _as(s, "carl"), {"name": "丙", "customer_type": "enterprise", "department": "FIN"}
        ).id
        docs = {
            "profile": _document(s, rt, sales, "basic.profile", 1),
            "contract": _document(s, rt, sales, "business.contract", 2),
            "other": _document(s, rt, other, "basic.profile", 3),
            "fin": _document(s, rt, fin, "basic.profile", 11),
        }
    with rt.db.unit_of_work() as s:
        contract = s.get(Document, docs["contract"])
        assert contract is not None and contract.archive_number
        contract_number = contract.archive_number
    _grant(rt, "carl", numbers=(contract_number,))  # one document
    _grant(rt, "fay", customer="甲", categories=("basic.profile",))  # one category
    revoked = _grant(rt, "rita", customer="乙")  # a whole archive, then revoked
    with rt.db.unit_of_work() as s:
        grants.revoke(s, _as(s, "olga"), revoked, "核对完毕")
    with rt.db.unit_of_work() as s:  # an open audit sampling: its auditor reads one archive
        drawn = sampling.draw(s, _as(s, "audrey"), sampling.DrawIn("抽查", size=1, seed=7))
        sampled = drawn.archives[0].customer_id

    callers: list[str | None] = [*PEOPLE, None]  # None: the operator
    seen_documents: dict[str | None, set[int]] = {}
    with rt.db.unit_of_work() as s:
        all_docs = list(s.execute(select(Document)).scalars())
        all_customers = list(s.execute(select(Customer)).scalars())
        for who in callers:
            by = Caller.cli() if who is None else _as(s, who)
            by_rule = {d.id for d in all_docs if may(by, "document.view", d)}
            by_sql = set(s.execute(select(Document.id).where(documents_clause(by))).scalars())
            assert by_rule == by_sql, who
            seen_documents[who] = by_sql
            c_rule = {c.id for c in all_customers if may(by, "customer.view", c)}
            c_sql = set(s.execute(select(Customer.id).where(customers_clause(by))).scalars())
            assert c_rule == c_sql, who
    # And the table says what the rules are.
    everything = set(docs.values())
    assert seen_documents["arch"] == seen_documents["mona"] == seen_documents[None] == everything
    assert seen_documents["clara"] == seen_documents["hank"] == everything - {docs["fin"]}
    assert seen_documents["carl"] == {docs["fin"], docs["contract"]}
    assert seen_documents["fiona"] == {docs["fin"]}
    assert seen_documents["fay"] == {docs["profile"]}
    assert seen_documents["rita"] == set()  # revoked
    assert seen_documents["root"] == seen_documents["olga"] == set()
    with rt.db.unit_of_work() as s:
        audited = {d.id for d in all_docs if d.customer_id == sampled}
    assert audited and seen_documents["audrey"] == audited
