"""Helpers the web and API layers share: the runtime, the caller, the unit of work,
and the access markers every route carries.

``public`` and ``signed_in`` mark a view with how it is guarded; a test walks
every route of the app and fails on a view that carries no marker, so a new
route cannot skip the policy by accident.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any, TypeVar

from flask import current_app, g, request
from flask_login import current_user
from sqlalchemy.orm import Session
from werkzeug.routing import IntegerConverter
from werkzeug.routing.map import Map

from archive_service.errors import NotAuthenticated
from archive_service.policy import Caller
from archive_service.runtime import Runtime

F = TypeVar("F", bound=Callable[..., Any])

#: The largest whole number an id, a page or a count may be: PostgreSQL's ``integer``, the
#: narrowest column the numbers reach. Anything larger is refused before the database sees it.
DB_INT_MAX = 2**31 - 1


def digits_up_to(limit: int) -> str:
    """A regular expression matching exactly the decimal numbers 0 … ``limit`` (ASCII
    digits, leading zeros allowed)."""
    top = str(limit)
    width = len(top)
    ways = ["0"]
    if width > 1:
        ways.append(f"[1-9][0-9]{{0,{width - 2}}}")  # fewer digits than the limit
    for i, digit in enumerate(top):  # as many: the limit's first i digits, then a smaller one
        low = 1 if i == 0 else 0
        if int(digit) > low:
            rest = width - i - 1
            ways.append(f"{top[:i]}[{low}-{int(digit) - 1}]" + (f"[0-9]{{{rest}}}" if rest else ""))
    ways.append(top)
    return "0*(?:" + "|".join(ways) + ")"


class BoundedIntConverter(IntegerConverter):
    """``<int:…>`` in every route of the app: its pattern matches only 0 … ``DB_INT_MAX``, so
    a larger number matches no route (404, on every method) and no id reaches a query it
    would overflow (installed by ``app.create_app``)."""

    regex = digits_up_to(DB_INT_MAX)

    def __init__(
        self,
        map: Map,  # noqa: A002 (werkzeug's name)
        fixed_digits: int = 0,
        min: int | None = None,  # noqa: A002
        max: int | None = None,  # noqa: A002
        signed: bool = False,
    ) -> None:
        super().__init__(map, fixed_digits, min, DB_INT_MAX if max is None else max, signed)


def db_int(value: str) -> int:
    """A query or form argument as a whole number 0 … ``DB_INT_MAX``: the ``type=`` of every
    ``request.args.get(…, type=db_int)`` (a ``ValueError`` makes ``get`` give its default)."""
    number = int(value)
    if not 0 <= number <= DB_INT_MAX:
        raise ValueError(f"{value!r} is out of range")
    return number


def runtime() -> Runtime:
    rt: Runtime = current_app.extensions["archive"]
    return rt


def request_session() -> Session:
    """The request's one database session (closed when the request ends)."""
    if "db_session" not in g:
        g.db_session = runtime().db.session()
    session: Session = g.db_session
    return session


def close_request_session(_exc: BaseException | None = None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


@contextmanager
def uow() -> Iterator[Session]:
    """The request's use case as one transaction: commit on success, else roll back.

    It shares the request session, so the caller's user object (loaded when
    the request came in) is the same object the use case changes.
    """
    session = request_session()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise


def current_account() -> Any:
    """The signed-in user: the bearer token's owner on the API, the session's on the web."""
    if request.blueprint and request.blueprint.startswith("api"):
        return g.get("api_user")
    user = current_user._get_current_object()  # noqa: SLF001
    return user if getattr(user, "is_authenticated", False) else None


def web_session_id() -> int | None:
    """The server's row of the current web session (None on the API, or signed out)."""
    current_account()
    ident: int | None = g.get("web_session_id")
    return ident


def peer_address() -> str | None:
    """The address of whoever opened the connection: with ``PROXY_FIX`` on, the proxy's
    own, not the client address it forwarded (the SSO gateway is recognised by it)."""
    original = request.environ.get("werkzeug.proxy_fix.orig") or {}
    peer: str | None = original.get("REMOTE_ADDR") or request.environ.get("REMOTE_ADDR")
    return peer


def caller() -> Caller:
    return Caller.of(current_account(), request.remote_addr)


def public(view: F) -> F:
    """Mark a view that anyone may call (login page, health, OpenAPI)."""
    view._access = "public"  # type: ignore[attr-defined]
    return view


def signed_in(view: F) -> F:
    """Refuse anonymous callers; the service behind the view asks the policy."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current_account() is None:
            raise NotAuthenticated("authentication required")
        return view(*args, **kwargs)

    wrapper._access = "signed_in"  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


def public_base() -> str:
    """The service's address as its users reach it: ``ARCHIVE_PUBLIC_URL`` when set (behind
    a proxy), else the address this request came to."""
    return runtime().settings.public_url.rstrip("/") or request.host_url.rstrip("/")
