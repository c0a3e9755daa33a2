"""``archive hold …``: hold cases (保全事项) at the console — list, show, open, add to and
release them, through the same use cases as the pages and the API
(archive_service.archive.hold_cases), as the operator or ``--as`` a user."""

from __future__ import annotations

import click

from archive_service.cli.common import acting_as, fail, runtime
from archive_service.errors import DomainError
from archive_service.http import DB_INT_MAX

IDS = click.IntRange(1, DB_INT_MAX)
AS_USER = click.option(
    "--as", "username", help="Act as this user (the user's rights apply); default: the operator."
)


@click.group("hold")
def hold() -> None:
    """Hold cases (保全事项): what they hold is never destroyed while they are open."""


@hold.command("list")
@click.option("--state", type=click.Choice(["open", "released"]), help="Only these cases.")
@click.option("--page", type=click.IntRange(1, 100000), default=1, show_default=True)
@AS_USER
def hold_list(state: str | None, page: int, username: str | None) -> None:
    """The cases, newest first, 50 a page."""
    from archive_service.archive import hold_cases
    from archive_service.archive.hold_serializers import case_dict

    rt = runtime()
    by = acting_as(rt, username)
    try:
        with rt.db.read_only() as s:
            rows, total = hold_cases.list_cases(s, by, state, page, 50)
            shown = [case_dict(c) for c in rows]
    except DomainError as exc:
        fail(exc)
    click.echo(f"{'id':>6}  {'state':<8}  {'documents':>9}  {'customers':>9}  name")
    for c in shown:
        click.echo(
            f"{c['id']:>6}  {c['state']:<8}  {c['documents']:>9}  {c['customers']:>9}  "
            f"{c['name']} ({c['basis']}{', ' + c['reference'] if c['reference'] else ''})"
        )
    click.echo(f"{total} cases" + (f"; page {page}" if total > 50 else ""))


@hold.command("show")
@click.argument("case_id", type=IDS)
@AS_USER
def hold_show(case_id: int, username: str | None) -> None:
    """One case: what it is, what it holds, its history."""
    from archive_service.archive import hold_cases
    from archive_service.archive.hold_serializers import case_detail

    rt = runtime()
    by = acting_as(rt, username)
    try:
        with rt.db.read_only() as s:
            shown = case_detail(s, by, hold_cases.get_case(s, by, case_id))
    except DomainError as exc:
        fail(exc)
    click.echo(f"case {shown['id']}: {shown['name']} [{shown['state']}]")
    click.echo(
        f"  basis {shown['basis']}; reference {shown['reference'] or '-'}; "
        f"owner {shown['owner'] or '-'}"
    )
    click.echo(f"  reason: {shown['reason']}")
    if shown["release_reason"]:
        click.echo(f"  released {shown['released_at']}: {shown['release_reason']}")
    for item in shown["items"]:
        if item["document_id"] is not None:
            title = item["title"] or "(not shown to you)"
            held = {True: "on hold", False: "free", None: "-"}[item["on_hold"]]
            number = item["archive_number"] or "-"
            click.echo(f"  document {item['document_id']}  {number}  {title}  [{held}]")
        else:
            name = item["customer_name"] or "(not shown to you)"
            click.echo(f"  customer {item['customer_id']}  {name}  (all its documents)")


@hold.command("open")
@click.option("--name", required=True, help="The case's name.")
@click.option("--basis", required=True, help="dispute, litigation, audit or open_matter.")
@click.option("--reason", required=True, help="Why the case holds what it holds.")
@click.option("--reference", help="The court's, auditor's or matter's reference number.")
@click.option("--owner", help="Username of the case's owner (default: who opens it).")
@click.option("--document", "document_ids", type=IDS, multiple=True, help="A document id.")
@click.option("--customer", "customer_ids", type=IDS, multiple=True, help="A customer id.")
@AS_USER
def hold_open(
    name: str,
    basis: str,
    reason: str,
    reference: str | None,
    owner: str | None,
    document_ids: tuple[int, ...],
    customer_ids: tuple[int, ...],
    username: str | None,
) -> None:
    """Open a case, with its first documents and customers (all or none)."""
    from archive_service.archive import hold_cases

    rt = runtime()
    by = acting_as(rt, username)
    data = hold_cases.CaseIn(
        name=name, basis=basis, reason=reason, reference=reference, owner=owner
    )
    try:
        with rt.db.unit_of_work() as s:
            case = hold_cases.open_case(
                s,
                by,
                data,
                rt.archive.retention,
                document_ids=document_ids,
                customer_ids=customer_ids,
            )
            case_id = case.id
    except DomainError as exc:
        fail(exc)
    click.echo(f"opened hold case {case_id}")


@hold.command("add")
@click.argument("case_id", type=IDS)
@click.option("--document", "document_ids", type=IDS, multiple=True, help="A document id.")
@click.option("--customer", "customer_ids", type=IDS, multiple=True, help="A customer id.")
@AS_USER
def hold_add(
    case_id: int, document_ids: tuple[int, ...], customer_ids: tuple[int, ...], username: str | None
) -> None:
    """Put documents and whole customers in an open case (all or none)."""
    from archive_service.archive import hold_cases

    rt = runtime()
    by = acting_as(rt, username)
    try:
        with rt.db.unit_of_work() as s:
            hold_cases.add_items(
                s,
                by,
                case_id,
                rt.archive.retention,
                document_ids=document_ids,
                customer_ids=customer_ids,
            )
    except DomainError as exc:
        fail(exc)
    click.echo(f"added to hold case {case_id}")


@hold.command("release")
@click.argument("case_id", type=IDS)
@click.option("--reason", required=True, help="Why the case ends.")
@AS_USER
def hold_release(case_id: int, reason: str, username: str | None) -> None:
    """Release a case: what no other open case holds is free again."""
    from archive_service.archive import hold_cases

    rt = runtime()
    by = acting_as(rt, username)
    try:
        with rt.db.unit_of_work() as s:
            hold_cases.release(s, by, case_id, reason, rt.archive.retention)
    except DomainError as exc:
        fail(exc)
    click.echo(f"released hold case {case_id}")
