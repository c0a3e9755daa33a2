"""The import page (档案导入) for archivists: upload a manifest and a ZIP of its files (or
name a folder under the import root), watch the check, read and download its report, then
import; the check and the run are the worker's (archive_service.archive.import_jobs)."""

from __future__ import annotations

import io
from typing import Any

from flask import Blueprint, flash, jsonify, redirect, render_template, url_for
from flask_babel import gettext as _

from archive_service.archive import import_jobs, importing
from archive_service.errors import Conflict, DomainError, InvalidInput
from archive_service.http import caller, request_session, runtime, signed_in, uow
from archive_service.responses import download_response
from archive_service.tables import XLSX, xlsx
from archive_service.web.forms import ActionForm, ImportForm, refusal

bp = Blueprint("web_import", __name__, url_prefix="/import")


def _refusal(exc: DomainError) -> str:
    """A refused upload or start in the interface's language; the service's own words
    (which member of the ZIP, and why) follow where they say more."""
    reason = exc.details.get("reason")
    words = {
        "manifest-type": _("The manifest must be an .xlsx or a .csv file."),
        "manifest-empty": _("The manifest is empty."),
        "files-missing": _("Give either a ZIP of the files or a folder on the server."),
        "zip-refused": _("The ZIP was refused, nothing was kept: %(why)s", why=exc.message),
        "zip-too-large": _("The ZIP is too large, nothing was kept: %(why)s", why=exc.message),
        "folder": _("No such folder under the import folder."),
        "not-checked": _("Only a checked manifest without problems can be imported."),
        "started": _("This import has already started."),
    }
    return words.get(str(reason), refusal(exc))


def _jobs() -> import_jobs.Jobs:
    return import_jobs.Jobs.of(runtime())


def _form(jobs: import_jobs.Jobs) -> ImportForm:
    form = ImportForm()
    form.folder.choices = [("", "—"), *((f, f) for f in import_jobs.folders(jobs))]
    return form


@bp.route("/", methods=["GET", "POST"])
@signed_in
def index() -> Any:
    jobs = _jobs()
    recent = import_jobs.recent(jobs, caller())  # asks the policy: archivists only
    form = _form(jobs)
    if form.validate_on_submit():
        manifest, files = form.manifest.data, form.files.data
        try:
            if manifest is None or not manifest.filename:
                raise InvalidInput(_("Choose the manifest file."), field="manifest")
            up = import_jobs.Upload(
                manifest_name=manifest.filename,
                manifest=manifest.stream,
                files_zip=files.stream if files is not None and files.filename else None,
                folder=form.folder.data or None,
                department=form.department.data,
            )
            with uow() as s:
                job_id = import_jobs.stage(s, jobs, caller(), up)
        except DomainError as exc:
            flash(_refusal(exc), "error")
            return _page(form, recent, jobs), exc.status
        return redirect(url_for("web_import.job", job_id=job_id))
    if form.errors:
        return _page(form, recent, jobs), 400
    return _page(form, recent, jobs)


def _page(form: ImportForm, recent: list[dict[str, Any]], jobs: import_jobs.Jobs) -> str:
    return render_template(
        "importing/index.html", form=form, recent=recent, has_root=jobs.import_root is not None
    )


@bp.get("/<job_id>")
@signed_in
def job(job_id: str) -> Any:
    jobs = _jobs()
    status = import_jobs.status_of(jobs, caller(), job_id)
    report = import_jobs.report_of(jobs, caller(), job_id)
    documents = []
    if status["state"] == import_jobs.DONE and status.get("batch_id"):
        documents = import_jobs.batch_documents(request_session(), caller(), status["batch_id"])
    return render_template(
        "importing/job.html",
        job=status,
        report=report[: import_jobs.SHOWN_LIMIT],
        report_total=len(report),
        documents=documents,
        form=ActionForm(),
    )


@bp.get("/<job_id>/status")
@signed_in
def job_status(job_id: str) -> Any:
    """The progress as JSON, for the page's bar (polled while the job runs)."""
    s = import_jobs.status_of(_jobs(), caller(), job_id)
    keys = ("state", "stage", "done", "total", "percent", "running")
    return jsonify({k: s.get(k) for k in keys})


@bp.post("/<job_id>/run")
@signed_in
def run(job_id: str) -> Any:
    if ActionForm().validate_on_submit():
        try:
            with uow() as s:
                import_jobs.start(s, _jobs(), caller(), job_id)
        except Conflict as exc:  # a refusal (403) or an unknown job (404) is the error page
            flash(_refusal(exc), "error")
    return redirect(url_for("web_import.job", job_id=job_id))


@bp.get("/<job_id>/report.<fmt>")
@signed_in
def report_file(job_id: str, fmt: str) -> Any:
    """The whole report (row, column, problem) as CSV or XLSX."""
    if fmt not in ("csv", "xlsx"):
        raise InvalidInput("the report is csv or xlsx", field="format")
    jobs = _jobs()
    status = import_jobs.status_of(jobs, caller(), job_id)
    lines = import_jobs.report_of(jobs, caller(), job_id)
    name = f"import-report-{job_id[:8]}.{fmt}"
    if fmt == "csv":
        out = io.StringIO()
        importing.write_report_csv(out, lines)
        return download_response(out.getvalue().encode("utf-8-sig"), "text/csv", name)
    body = xlsx(
        _("Import report"),
        _("Import report: %(manifest)s", manifest=status["manifest"]),
        [_("Row"), _("Column"), _("Problem")],
        [[p.row, p.column, p.message] for p in lines],
    )
    return download_response(body, XLSX, name)
