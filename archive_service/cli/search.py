"""``archive search …``: the full-text index and text extraction."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator

import click

from archive_service.cli.common import OPERATOR, runtime, write_new_key


@contextlib.contextmanager
def _on_the_indexer() -> Iterator[None]:
    """A web machine's replica takes no writes: say where to run the command instead."""
    from search.replica import ReplicaReadOnly

    try:
        yield
    except ReplicaReadOnly as exc:
        raise click.ClickException(
            f"{exc}: this machine has ARCHIVE_SEARCH_REPLICA_FROM set; run the command where "
            "the index worker runs"
        ) from None


@click.group()
def search() -> None:
    """The full-text search index."""


@search.command("keygen")
@click.option("--file", "path", required=True, type=click.Path(dir_okay=False))
def search_keygen(path: str) -> None:
    """Create the key that keys the index's terms (0600); refuses to overwrite."""
    from archive_service.indexing.term_key import new_key_text

    write_new_key(path, new_key_text(), "a search key")
    click.echo(
        f"created {path}; mount it as ARCHIVE_SEARCH_KEY_FILE for the web, the indexer and "
        "the command line (not inside the index folder)"
    )


@search.command("reindex")
def search_reindex() -> None:
    """Rebuild the index from the database and the text renditions (no re-extraction).

    Stop the index worker first, or run it on the index worker's host: the index has
    one writer at a time, and this command waits for the lock. Also what turns an index
    written without this term key (an older format, or another key) into a usable one.
    """
    from archive_service.indexing.maintenance import reindex

    rt = runtime()
    reason = rt.indexing.index.needs_rebuild()
    with _on_the_indexer():
        count = reindex(rt.indexing, reason=reason)
    click.echo(f"indexed {count} documents" + (f" (the index was {reason})" if reason else ""))


@search.command("check")
@click.option("--repair", is_flag=True, help="Index what is missing, remove what is extra.")
def search_check(repair: bool) -> None:
    """Compare the index with the database both ways (exit 1 on differences).

    Also lists the documents whose text extraction failed, by reason class
    ("failed"), and those whose retry is due ("retry_due"); --repair queues those too.
    """
    from archive_service.indexing import maintenance

    rt = runtime()
    if repair:
        with _on_the_indexer():
            found = maintenance.repair(rt.indexing)
    else:
        with rt.db.unit_of_work() as s:
            found = maintenance.check(rt.indexing, s).as_dict()
    click.echo(json.dumps(found))
    if not found["ok"] and not repair:
        sys.exit(1)


@search.command("reextract")
@click.option("--failed", "failed", is_flag=True, help="Every document whose extraction failed.")
@click.option(
    "--reason",
    "reasons",
    multiple=True,
    help="Only failures of this reason class (repeatable): timeout, memory, parse_error, "
    "crashed, sandbox_start, unsupported.",
)
def search_reextract(failed: bool, reasons: tuple[str, ...]) -> None:
    """Queue failed text extractions again (the worker extracts, then indexes them).

    Run once after upgrading to 0006: under the prefork worker every extraction had
    failed ("sandbox_start").
    """
    from archive_service.indexing.renditions import reextract_failed
    from search.extract import REASONS

    if not failed:
        raise click.UsageError("say which documents: --failed")
    unknown = sorted(set(reasons) - set(REASONS))
    if unknown:
        raise click.BadParameter(
            f"{unknown}; choose from {', '.join(REASONS)}", param_hint="--reason"
        )
    from archive_service.indexing.continuation import retry_failed

    rt = runtime()
    with rt.db.unit_of_work() as s:
        ids = reextract_failed(s, OPERATOR, reasons)
        # OCR batches past the page limit that failed past their retries read on too.
        ocr = [] if reasons else retry_failed(s, OPERATOR)
    out: dict[str, object] = {"queued": len(ids), "documents": ids}
    if ocr:
        out["ocr_resumed"] = ocr
    click.echo(json.dumps(out))
