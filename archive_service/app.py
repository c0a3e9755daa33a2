"""The application factory: extensions, blueprints and error mapping, each in one place."""

from __future__ import annotations

import logging
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

from apiflask import APIFlask
from apiflask.exceptions import HTTPError
from flask import (
    Request,
    Response,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import Babel, force_locale, gettext, pgettext
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFError, CSRFProtect
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from archive_service import __version__
from archive_service.config import Settings
from archive_service.errors import DomainError, NotAuthenticated
from archive_service.http import (
    BoundedIntConverter,
    close_request_session,
    public,
    request_session,
)
from archive_service.instance import ensure_instance, secret_key
from archive_service.runtime import Runtime, build_runtime
from archive_service.serving import max_body_bytes
from archive_service.vocabulary import Label, label_of
from storage.errors import IntegrityError as StorageIntegrityError
from storage.errors import StoreUnavailable
from workers.sender import connect

LOCALES = ("zh", "en")
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; "
    "script-src 'self'; frame-ancestors 'none'"
)  # every page, the API's documentation too
UNNAMED = "(unnamed part)"  # how a 422 names a multipart part that carries no name


class ArchiveRequest(Request):
    """Uploaded files spool into the instance's private temp area, unnamed.

    ``TemporaryFile`` has no name on Linux (O_TMPFILE) and vanishes when
    closed, so plaintext never lands anywhere but this wiped area.
    """

    temp_dir: str | None = None

    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> Any:
        return tempfile.TemporaryFile(dir=self.temp_dir)  # noqa: SIM115


csrf = CSRFProtect()
login_manager = LoginManager()
babel = Babel()
log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> APIFlask:
    settings = settings or Settings.from_env()
    ensure_instance(settings)
    app = APIFlask(
        __name__,
        title="Customer Archive Service API",
        version=__version__,
        spec_path="/api/v1/openapi.json",
        docs_path=None,  # api/docs.py serves Swagger UI from our own origin, under the CSP
        json_errors=False,
        static_folder="web/static",
        template_folder="web/templates",
    )
    app.config.update(
        SECRET_KEY=secret_key(settings),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.cookies_secure,
        REMEMBER_COOKIE_SECURE=settings.cookies_secure,
        REMEMBER_COOKIE_HTTPONLY=True,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.session_hours),
        WTF_CSRF_TIME_LIMIT=None,
        BABEL_DEFAULT_LOCALE=settings.default_locale,
        BABEL_TRANSLATION_DIRECTORIES="translations",
        SECURITY_SCHEMES={"BearerAuth": {"type": "http", "scheme": "bearer"}},
        **settings.extra,
    )
    if settings.extra.get("PROXY_FIX"):
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1)  # type: ignore[method-assign]
    app.request_class = ArchiveRequest
    ArchiveRequest.temp_dir = str(Path(settings.temp_dir))
    Path(ArchiveRequest.temp_dir).mkdir(mode=0o700, parents=True, exist_ok=True)
    app.extensions["archive"] = runtime or connect(build_runtime(settings))
    # Refuse oversize bodies from their Content-Length, before reading them.
    app.config["MAX_CONTENT_LENGTH"] = max_body_bytes(settings)
    app.teardown_appcontext(close_request_session)
    # Before any route is added: every ``<int:…>`` is bounded to what the database holds.
    app.url_map.converters["int"] = BoundedIntConverter

    _init_extensions(app)
    _register_blueprints(app)
    _register_error_handlers(app)
    _security_headers(app)
    return app


def _init_extensions(app: APIFlask) -> None:
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "web_auth.login"
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def load_user(key: str) -> Any:
        """The cookie carries a web session's key: the server's row decides (open, not
        idle, not past its lifetime, the account active)."""
        from archive_service.accounts.web_sessions import resume
        from archive_service.http import runtime

        db = request_session()
        found = resume(db, key, request.remote_addr, runtime().accounts)
        db.commit()  # a timed-out session's end, or its last-seen time, is kept regardless
        if found is None:
            return None
        g.web_session_id = found[1].id
        return found[0]

    @app.before_request
    def _resume_web_session() -> None:
        # A signed-in browser's session is checked first, before any use case opens its
        # transaction (the loader commits).
        if "_user_id" in session and not request.path.startswith("/api/"):
            current_user._get_current_object()  # noqa: SLF001

    babel.init_app(app, locale_selector=_select_locale)

    @app.context_processor
    def _template_globals() -> dict[str, Any]:
        return {
            "current_locale": _select_locale(),
            "locales": LOCALES,
            "inbox_count": _inbox_count(),
            "disposal_count": _disposal_count(),
            "transfer_count": _transfer_count(),
            "notification_count": _notification_count(),
            "duty_count": _duty_count(),
        }

    # Globals rather than context: imported macros (``_steps.html``) see them too.
    app.jinja_env.globals.update(can=_can, term=_term, label=_label, check_detail=_check_detail)


def _can(action: str, target: Any = None) -> bool:
    """Templates ask the policy, never role names: ``{% if can('document.hold', doc) %}``."""
    from archive_service.http import caller
    from archive_service.policy import may

    return bool(may(caller(), action, target))


def _label(label: Label | str | None, fallback: str = "") -> str:
    """A vocabulary label in the interface's language (its context kept apart); words an
    operator wrote in a setting are shown as written."""
    if label is None:
        return fallback
    if isinstance(label, str):
        return label
    return str(pgettext(label.context, label.english))


def _check_detail(result: dict[str, Any]) -> str:
    """A check item's detail in the interface's language."""
    from archive_service.checks.rules import detail_in

    return detail_in(result, _label)


def _term(context: str, code: str | None) -> str:
    """The words for a stored code: ``{{ term('tier', c.tier) }}`` → 重要 / important."""
    if code is None:
        return "—"
    return _label(label_of(context, code), code)


def _signed_in_page() -> bool:
    from flask_login import current_user

    return not request.path.startswith("/api/") and getattr(current_user, "is_authenticated", False)


def _inbox_count() -> int | None:
    """How many applications wait for the signed-in approver (None: not an approver)."""
    from archive_service.access.applications import inbox
    from archive_service.http import caller

    if not _signed_in_page() or not _can("access.inbox"):
        return None
    return len(inbox(request_session(), caller()))


def _disposal_count() -> int | None:
    """How many review or destruction steps wait for the signed-in person (None: not theirs)."""
    from archive_service.disposal.destructions import waiting_for
    from archive_service.http import caller

    if not _signed_in_page() or not _can("review.read"):
        return None
    return sum(len(v) for v in waiting_for(request_session(), caller()).values())


def _notification_count() -> int | None:
    """The signed-in person's unread notifications (None: nobody is signed in)."""
    from archive_service.http import caller
    from archive_service.notifications.services import unread_count

    if not _signed_in_page():
        return None
    return unread_count(request_session(), caller())


def _transfer_count() -> int | None:
    """How many transfers wait for the signed-in person (None: not a transfer reader)."""
    from archive_service.http import caller
    from archive_service.transfer.applications import waiting_for

    if not _signed_in_page() or not _can("transfer.read"):
        return None
    return sum(len(v) for v in waiting_for(request_session(), caller()).values())


def _duty_count() -> int | None:
    """How many recurring reviews the signed-in person is to do (None: sees no reviews)."""
    from archive_service.duties.services import mine_open
    from archive_service.http import caller

    if not _signed_in_page() or not _can("duty.list"):
        return None
    return len(mine_open(request_session(), caller()))


def _select_locale() -> str:
    wanted = request.args.get("lang")
    if wanted in LOCALES:
        session["lang"] = wanted
        return wanted
    stored = session.get("lang")
    if stored in LOCALES:
        return str(stored)
    return str(current_app.config["BABEL_DEFAULT_LOCALE"])


def _register_blueprints(app: APIFlask) -> None:
    from archive_service import api, web

    api.register(app)
    web.register(app)
    for name, bp in app.blueprints.items():
        if name.startswith("api"):
            csrf.exempt(bp)  # the API takes bearer tokens only, never cookies
    # Framework-provided views (OpenAPI, docs, static files) are public by nature.
    for endpoint, view in app.view_functions.items():
        if endpoint.startswith("openapi.") or endpoint.endswith("static"):
            public(view)


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def _json_error(http_status: int, code: str, message: str, **extra: Any) -> Response:
    body = {"error": {"code": code, "message": message, **extra}}
    resp = jsonify(body)
    resp.status_code = http_status
    if http_status == 401:
        resp.headers["WWW-Authenticate"] = 'Bearer realm="archive"'
    return resp


STORE_DOWN = "the object store is unavailable; nothing was stored, try again later"
DB_DOWN = "the database is unavailable; nothing was changed, try again later"


def _unavailable(code: str, message: str, as_visitor: bool = False) -> Any:
    """A 503 in both languages: the service is up, a part it needs is not (retry later)."""
    if _wants_json():
        with force_locale("zh"):
            message_zh = str(gettext(message))
        resp = _json_error(503, code, message, message_zh=message_zh)
    else:
        if as_visitor:
            # Drawn as for a visitor: who is signed in is in the database that is away, and
            # asking it again for the page would turn the 503 into a 500.
            g._login_user = current_app.login_manager.anonymous_user()  # type: ignore[attr-defined]
        resp = Response(render_template("error.html", status=503, message=gettext(message)), 503)
    resp.headers["Retry-After"] = "30"
    return resp


def _register_error_handlers(app: APIFlask) -> None:
    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError) -> Any:
        if _wants_json():
            extra = {k: v for k, v in exc.details.items() if v is not None}
            return _json_error(exc.status, exc.code, exc.message, **extra)
        if isinstance(exc, NotAuthenticated):
            return redirect(url_for("web_auth.login", next=request.full_path))
        return render_template(
            "error.html", status=exc.status, message=exc.message, rule=exc.details.get("rule")
        ), exc.status

    @app.errorhandler(StoreUnavailable)
    def store_down(exc: StoreUnavailable) -> Any:
        log.error("object store unavailable: %s", exc)
        return _unavailable("store_unavailable", STORE_DOWN)

    @app.errorhandler(DBAPIError)
    def database_error(exc: DBAPIError) -> Any:
        # A lost or refused connection (a restarted server, a locked SQLite file) is the
        # database being away, not a bug: the transaction rolled back; try again later.
        if not (exc.connection_invalidated or isinstance(exc, OperationalError | InterfaceError)):
            return unexpected(exc)
        log.error("database unavailable: %s", type(exc.orig).__name__)
        return _unavailable("database_unavailable", DB_DOWN, as_visitor=True)

    @app.errorhandler(StorageIntegrityError)
    def integrity(exc: StorageIntegrityError) -> Any:
        log.critical("integrity check failed on %s %s: %s", request.method, request.path, exc)
        message = "the stored file failed its integrity check; the event was logged"
        if _wants_json():
            return _json_error(500, "integrity_failed", message)
        return render_template("error.html", status=500, message=message), 500

    @app.error_processor
    def validation_error(error: HTTPError) -> Any:
        # Input that does not fit a schema: name the fields.
        detail = error.detail or {}
        fields: dict[str, Any] = {}
        for location in detail.values():
            if isinstance(location, dict):
                # A multipart part without a name arrives under the key None.
                fields.update({UNNAMED if k is None else str(k): v for k, v in location.items()})
        if fields:
            message = "invalid fields: " + ", ".join(sorted(fields))
            return _json_error(422, "invalid", message, fields=fields)
        return _json_error(error.status_code, "bad_request", error.message or "bad request")

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError) -> Any:
        return render_template("error.html", status=400, message=exc.description), 400

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        status = exc.code or 500
        if _wants_json():
            code = (exc.name or "error").lower().replace(" ", "_")
            message = exc.description or exc.name
            if status == 400 and request.is_json:
                message = "malformed JSON body"
            resp = _json_error(status, code, message)
        else:
            page = render_template("error.html", status=status, message=exc.description)
            resp = Response(page, status=status, mimetype="text/html")
        # The exception's own headers (a 405's ``Allow``, a 401's challenge) go with it.
        for name, value in exc.get_headers():
            if name.lower() != "content-type":
                resp.headers.setdefault(name, value)
        return resp

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Any:
        log.exception("unhandled error on %s %s", request.method, request.path)
        if _wants_json():
            return _json_error(500, "internal_error", "internal error; the event was logged")
        return render_template("error.html", status=500, message="internal error"), 500


def _security_headers(app: APIFlask) -> None:
    @app.after_request
    def headers(resp: Response) -> Response:
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("X-Frame-Options", "DENY")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        resp.headers.setdefault("Content-Security-Policy", CSP)
        if request.path.startswith("/api/") or resp.mimetype == "text/html":
            resp.headers.setdefault("Cache-Control", "no-store")
        return resp
