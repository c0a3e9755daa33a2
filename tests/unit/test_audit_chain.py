from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from archive_service.audit.chain import GENESIS, canonical, link

BASE: dict[str, Any] = dict(
    seq=1,
    actor_id=1,
    actor="alice",
    ip="10.0.0.1",
    action="login.success",
    target_type="user",
    target_id="1",
    details={"channel": "web", "名称": "客户"},
)


def test_canonical_is_independent_of_timezone_and_key_order() -> None:
    at = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
    other_zone = at.astimezone(timezone(timedelta(hours=8)))
    a = canonical(at=at, **BASE)
    b = canonical(at=other_zone, **{**BASE, "details": {"名称": "客户", "channel": "web"}})
    assert a == b


def test_link_changes_with_any_field_and_with_the_previous_hash() -> None:
    at = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
    h = link(GENESIS, canonical(at=at, **BASE))
    assert len(h) == 64
    assert h != link("1" * 64, canonical(at=at, **BASE))
    assert h != link(GENESIS, canonical(at=at, **{**BASE, "ip": "10.0.0.2"}))
    assert h != link(GENESIS, canonical(at=at + timedelta(microseconds=1), **BASE))
