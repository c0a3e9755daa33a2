"""``archive import``: bring an existing archive in from a manifest and its files folder
(the use cases are archive_service.archive.importing; a dry run stores nothing)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from archive_service.cli.common import acting_as, fail, runtime
from archive_service.errors import DomainError


@click.command("import")
@click.option(
    "--manifest",
    "manifest_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The manifest (目录): .xlsx or .csv (UTF-8 or GB18030), one document per row.",
)
@click.option(
    "--files",
    "files_dir",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="The folder the manifest's file paths are relative to.",
)
@click.option("--dry-run", is_flag=True, help="Check every row and report; store nothing.")
@click.option(
    "--department", help="Department code of the customers opened for rows that name none."
)
@click.option(
    "--as",
    "username",
    help="Import as this user (the user's rights apply); default: the operator.",
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the report (row, column, problem) to this CSV file.",
)
def import_archive(
    manifest_path: Path,
    files_dir: Path,
    dry_run: bool,
    department: str | None,
    username: str | None,
    report_path: Path | None,
) -> None:
    """Import an existing archive; exit status 1 when any row has a problem.

    A run checks the whole manifest first and starts only when no row has a problem; it
    is resumable: run it again and the rows already in are skipped.
    """
    from archive_service.archive import importing

    rt = runtime()
    by = acting_as(rt, username)
    if username:  # as on the import page: the import's rule stands for its uploads
        from archive_service.policy import require

        try:
            require(by, "import.run")
        except DomainError as exc:
            fail(exc)
        by = by.acting_in("import.run")
    source = importing.Source(manifest_path, files_dir, department)
    ctx = importing.Importing.of(rt)

    def progress(done: int, total: int | None, stage: str) -> None:
        if total and done % 500 == 0 and done:
            click.echo(f"{stage}: {done}/{total}", err=True)

    if dry_run:
        report = importing.dry_run(ctx, by, source, progress)
    else:
        report = importing.run(ctx, by, source, progress)
    _print(report)
    if report_path is not None:
        report.write_csv(report_path)
        click.echo(f"wrote {report_path}")
    if not report.ok:
        sys.exit(1)


def _print(report: object) -> None:
    from archive_service.archive.importing import Report

    assert isinstance(report, Report)
    lines = [*report.problems, *report.notes]
    if lines:
        width = max(len(p.column) for p in lines)
        width = max(width, len("column"))
        click.echo(f"{'row':>7}  {'column':<{width}}  problem")
        for p in lines:
            click.echo(f"{p.row:>7}  {p.column:<{width}}  {p.message}")
    if report.dry_run:
        verdict = "no problems: ready to import" if report.ok else "fix them, then run again"
        click.echo(f"dry run: {report.rows} rows, {len(report.problems)} problems; {verdict}")
    elif report.refused:
        click.echo(
            f"not started: {len(report.problems)} problems in {report.rows} rows; nothing "
            "was stored (see --dry-run)"
        )
    else:
        click.echo(
            f"batch {report.batch_id}: {report.imported} imported, {report.skipped} already in, "
            f"{len(report.problems)} problems, of {report.rows} rows"
        )
        if report.stopped_at is not None:
            click.echo(
                f"stopped at row {report.stopped_at}: the rows before it are in; fix it and "
                "run the same command again to continue"
            )
