"""When a failed text extraction is tried again: a pure rule, no database, no worker.

Some failures say nothing about the file — the sandbox could not start, or the parse
ran out of time on a loaded machine — and may pass on a later try: the repair job
retries them with a doubling back-off, up to a limit. The others (the file is broken,
too big for the memory limit, of a type nothing reads, or killed its parser) fail the
same way every time: an admin re-queues them after a fix (``archive search reextract``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from search.extract import SANDBOX_START, TIMEOUT

RETRYABLE = frozenset({SANDBOX_START, TIMEOUT})
RETRY_LIMIT = 5  # failed tries of one document before retrying is left to an admin
FIRST_RETRY = timedelta(minutes=30)  # then 1 h, 2 h, 4 h: the hourly repair picks them up


def next_retry(reason: str, failed_tries: int, now: datetime) -> datetime | None:
    """When the repair job tries again after ``failed_tries`` failures (None: it does not)."""
    if reason not in RETRYABLE or failed_tries >= RETRY_LIMIT:
        return None
    return now + FIRST_RETRY * 2 ** max(failed_tries - 1, 0)


# OCR continuation (pages past ARCHIVE_OCR_MAX_PAGES): a failed batch says nothing certain
# about the pages after it (a loaded machine, a worker restart), so every failure class is
# retried, sooner than a whole extraction, up to a limit; then the document shows "failed".
OCR_RETRY_LIMIT = 6
OCR_FIRST_RETRY = timedelta(minutes=5)  # then 10, 20, 40, 80 min: the 5-minute job picks up


def next_ocr_retry(failed_tries: int, now: datetime) -> datetime | None:
    """When a failed OCR batch is tried again after ``failed_tries`` failures (None: not)."""
    if failed_tries >= OCR_RETRY_LIMIT:
        return None
    return now + OCR_FIRST_RETRY * 2 ** max(failed_tries - 1, 0)


def ocr_stall(extract_timeout: int, page_seconds: int, max_pages: int) -> timedelta:
    """How long a running batch may go without progress before it is taken as lost (its
    worker died): longer than the batch's own deadline in the child."""
    return timedelta(seconds=extract_timeout + page_seconds * max_pages) + timedelta(minutes=5)
