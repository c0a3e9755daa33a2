"""Audit sampling pages (专项审计抽查): the draw form and the list, a sampling with each
archive's documents, checklist and findings forms, closing, and the report's export."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import pgettext

from archive_service.archive import documents
from archive_service.errors import DomainError
from archive_service.http import caller, request_session, signed_in, uow
from archive_service.policy import may, require
from archive_service.responses import TABLE_FORMATS, table_file_response
from archive_service.sampling import report, services
from archive_service.sampling.vocabulary import (
    CHECKLIST,
    FOLLOW_UPS,
    MAX_FINDINGS,
    RESULTS,
    SamplingState,
)
from archive_service.web.forms import ActionForm, CloseSamplingForm, DrawForm

bp = Blueprint("web_sampling", __name__, url_prefix="/audit-samplings")


def said(exc: DomainError) -> str:
    """A refusal of this area in the interface's language (context ``sampling refusal``)."""
    return pgettext("sampling refusal", exc.message)


def _number(raw: str | None, kind: type) -> Any:
    text = (raw or "").strip()
    if not text:
        return None
    try:
        return kind(text)
    except ValueError:
        return "bad"


@bp.get("/")
@signed_in
def index() -> Any:
    require(caller(), "sampling.read")
    s = request_session()
    rows, _total = services.list_samplings(s, caller(), 1, 50)
    return render_template(
        "sampling/index.html",
        samplings=rows,
        form=DrawForm(),
        may_draw=bool(may(caller(), "sampling.draw")),
    )


@bp.post("/")
@signed_in
def draw() -> Any:
    form = DrawForm()
    if not form.validate_on_submit():
        flash(_("A title is required."), "error")
        return redirect(url_for("web_sampling.index"))
    size, percent, seed = (
        _number(form.size.data, int),
        _number(form.percent.data, float),
        _number(form.seed.data, int),
    )
    if "bad" in (size, percent, seed):
        flash(_("Size, percentage and seed are numbers."), "error")
        return redirect(url_for("web_sampling.index"))
    data = services.DrawIn(
        title=form.title.data or "",
        size=size,
        percent=percent,
        stratified=form.stratified.data == "yes",
        seed=seed,
    )
    try:
        with uow() as s:
            sampling_id = services.draw(s, caller(), data).id
    except DomainError as exc:
        flash(said(exc), "error")
        return redirect(url_for("web_sampling.index"))
    return redirect(url_for("web_sampling.page", sampling_id=sampling_id))


@bp.get("/<int:sampling_id>")
@signed_in
def page(sampling_id: int) -> Any:
    s = request_session()
    sampling = services.get_sampling(s, caller(), sampling_id)
    working = sampling.state == SamplingState.OPEN and bool(
        may(caller(), "sampling.work", sampling)
    )
    docs: dict[int, list[Any]] = {}
    if working:
        # The documents this auditor may open now (the audit's reading: the one check).
        for a in sampling.archives:
            docs[a.customer_id] = documents.list_documents(
                s, caller(), customer_id=a.customer_id, per_page=200
            )[0]
    return render_template(
        "sampling/sampling.html",
        sampling=sampling,
        data=report.report_of(s, sampling),
        docs=docs,
        working=working,
        checklist=CHECKLIST,
        results=RESULTS,
        follow_ups=FOLLOW_UPS,
        max_findings=MAX_FINDINGS,
        form=ActionForm(),
        close_form=CloseSamplingForm(),
    )


def _answers() -> services.ChecklistIn:
    """The checklist form: ``result-<item>``/``note-<item>``, and the findings rows
    ``finding-<n>``/``follow-<n>`` (an empty text drops the row)."""
    items = {}
    for item in CHECKLIST:
        result = request.form.get(f"result-{item.code}") or ""
        if result:
            items[item.code] = {"result": result, "note": request.form.get(f"note-{item.code}")}
    findings = []
    for n in range(MAX_FINDINGS):
        text = (request.form.get(f"finding-{n}") or "").strip()
        if text:
            findings.append({"text": text, "follow_up": request.form.get(f"follow-{n}")})
    return services.ChecklistIn(items=items, findings=findings)


@bp.post("/<int:sampling_id>/archives/<int:customer_id>")
@signed_in
def checklist(sampling_id: int, customer_id: int) -> Any:
    if not ActionForm().validate_on_submit():
        flash(_("The form has expired; please try again."), "error")
    else:
        try:
            with uow() as s:
                services.record_checklist(s, caller(), sampling_id, customer_id, _answers())
            flash(_("The checklist is saved."), "info")
        except DomainError as exc:
            flash(said(exc), "error")
    target = url_for("web_sampling.page", sampling_id=sampling_id)
    return redirect(f"{target}#archive-{customer_id}")


@bp.post("/<int:sampling_id>/close")
@signed_in
def close(sampling_id: int) -> Any:
    form = CloseSamplingForm()
    if form.validate_on_submit():
        try:
            with uow() as s:
                services.close(s, caller(), sampling_id, form.recommendations.data)
            flash(_("The sampling is closed; its report is fixed."), "info")
        except DomainError as exc:
            flash(said(exc), "error")
    return redirect(url_for("web_sampling.page", sampling_id=sampling_id))


@bp.get("/<int:sampling_id>/report.<fmt>")
@signed_in
def report_file(sampling_id: int, fmt: str) -> Any:
    if fmt not in TABLE_FORMATS:
        return redirect(url_for("web_sampling.page", sampling_id=sampling_id))
    with uow() as s:
        sampling = services.get_sampling(s, caller(), sampling_id)
        body = report.report_file(s, sampling, fmt)
        services.exported(s, caller(), sampling, fmt)
    return table_file_response(body, fmt, f"audit-sampling-{sampling_id}")
