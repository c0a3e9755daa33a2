"""Customer use cases: open an archive, find and list customers, decide what of them is
shown (identity numbers and contact details only to those who may see the customer)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from archive_service.accounts.departments import department_by_code
from archive_service.accounts.models import User
from archive_service.archive.counters import next_in_scope
from archive_service.archive.fonds import fonds_by_code
from archive_service.archive.models import Category, Customer, Document, DocumentStatus
from archive_service.archive.vocabulary import CUSTOMER_TYPES, SCALES, TIERS
from archive_service.audit.services import record
from archive_service.errors import InvalidInput, NotFound
from archive_service.policy import Caller, may, require
from archive_service.policy.visibility import customers_clause, documents_clause
from archive_service.vocabulary import Vocabulary

TEXT_FIELDS = (
    "credit_code",
    "legal_representative",
    "address",
    "phone",
    "fax",
    "email",
    "business_scope",
    "industry",
    "business_domain",
    "credit_rating",
)
PERSONAL_FIELDS = ("credit_code", "legal_representative", "address", "phone", "fax", "email")
MONEY_FIELDS = ("registered_capital", "credit_limit")
# Every field a change request may change, and what it must be.
CHOICES: dict[str, Vocabulary[Any]] = {
    "customer_type": CUSTOMER_TYPES,
    "tier": TIERS,
    "scale": SCALES,
}
# The customer's life cycle: active until the relationship ends (合作终止), with a date and
# a reason, by change request; retention that waits for the end starts on that date.
LIFECYCLE_FIELDS = ("relationship_ended_on", "relationship_end_reason")
FIELDS = ("name", *CHOICES, *TEXT_FIELDS, *MONEY_FIELDS, *LIFECYCLE_FIELDS)


def money(value: Any, name: str) -> Decimal | None:
    """An amount of money (registered capital, credit limit): non-negative, or nothing."""
    if value in (None, ""):
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation as exc:
        raise InvalidInput(f"{name} must be a number", field=name) from exc
    if amount < 0 or not amount.is_finite():
        raise InvalidInput(f"{name} must be a non-negative number", field=name)
    return amount


def create_customer(session: Session, by: Caller, fields: dict[str, Any]) -> Customer:
    name = (fields.get("name") or "").strip()
    if not name:
        raise InvalidInput("name is required", field="name")
    dept = department_by_code(session, fields.get("department"))
    require(by, "customer.create", dept.id)
    clerk_id = None
    if fields.get("responsible_clerk"):
        clerk = session.execute(
            select(User).where(User.username == fields["responsible_clerk"])
        ).scalar_one_or_none()
        if clerk is None or clerk.department_id != dept.id or "clerk" not in clerk.roles:
            raise InvalidInput(
                "responsible_clerk must be a clerk of the owning department",
                field="responsible_clerk",
            )
        clerk_id = clerk.id
    elif by.user is not None and "clerk" in by.user.roles:
        clerk_id = by.user.id
    customer = Customer(
        seq=next_in_scope(session, "customer"),
        name=name[:300],
        customer_type=CUSTOMER_TYPES.check(fields.get("customer_type"), "customer_type"),
        tier=TIERS.check(fields.get("tier"), "tier", default="ordinary"),
        scale=SCALES.check(fields.get("scale"), "scale", optional=True),
        registered_capital=money(fields.get("registered_capital"), "registered_capital"),
        credit_limit=money(fields.get("credit_limit"), "credit_limit"),
        department_id=dept.id,
        fonds=fonds_by_code(session, fields.get("fonds")),
        responsible_clerk_id=clerk_id,
        created_by_id=by.user_id,
        **{k: (str(fields[k]).strip() or None) if fields.get(k) else None for k in TEXT_FIELDS},
    )
    session.add(customer)
    session.flush()
    record(
        session,
        by.actor,
        "customer.create",
        "customer",
        customer.id,
        seq=customer.seq,
        department=dept.code,
        tier=customer.tier,
        fonds=customer.fonds.code if customer.fonds else None,
    )
    return customer


def get_customer(session: Session, by: Caller, customer_id: int) -> Customer:
    """A customer the caller may see; any other is 'not found'."""
    customer = session.get(Customer, customer_id)
    if customer is None or not may(by, "customer.view", customer):
        if by.user is None and not by.operator:
            require(by, "customer.view", customer)
        raise NotFound("no such customer")
    return customer


def list_customers(
    session: Session,
    by: Caller,
    q: str | None = None,
    tier: str | None = None,
    department: str | None = None,
    page: int = 1,
    per_page: int = 50,
) -> tuple[list[Customer], int]:
    query = select(Customer).where(customers_clause(by))
    if q:
        like = f"%{q.strip()}%"
        query = query.where(or_(Customer.name.ilike(like), Customer.credit_code == q.strip()))
    if tier:
        query = query.where(Customer.tier == tier)
    if department:
        query = query.join(Customer.department).where(
            Customer.department.has(code=department.upper())
        )
    total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = (
        session.execute(query.order_by(Customer.seq).offset((page - 1) * per_page).limit(per_page))
        .scalars()
        .all()
    )
    return list(rows), total


def personal_details_visible(by: Caller, customer: Customer) -> bool:
    """Identity numbers and contact details (the policy's ``customer.personal``)."""
    return bool(may(by, "customer.personal", customer))


def category_counts(session: Session, by: Caller, customer_id: int) -> dict[str, int]:
    """How many live documents of the customer's archive the caller may open, by category
    (a count of what they may not open would tell them what exists)."""
    rows = session.execute(
        select(Category.code, func.count(Document.id))
        .join(Document, Document.category_id == Category.id)
        .where(
            Document.customer_id == customer_id,
            Document.status != DocumentStatus.DESTROYED,
            documents_clause(by),
        )
        .group_by(Category.code)
    ).all()
    return {code: int(n) for code, n in rows}
