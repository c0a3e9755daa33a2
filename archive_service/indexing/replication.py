"""Which search backend a process builds: the index itself, the index publishing to a shared
place (the indexer, when web machines hold replicas), or a replica synced from there (a web
machine). The shared place is a folder or ``s3://bucket/prefix`` on the document store's S3
endpoint and keys; docs/search.md, "Several web machines"."""

from __future__ import annotations

from archive_service.backup.target import Target, open_place
from archive_service.config import Settings
from search import SearchBackend
from search.keyed import TermKey

__all__ = ["open_share", "search_backend"]


def open_share(settings: Settings, where: str) -> Target:
    """The shared place ``where`` names (a folder or ``s3://bucket/prefix``)."""
    return open_place(
        where,
        "the search share",
        endpoint=settings.s3_endpoint,
        access_key=settings.s3_access_key,
        secret_key=settings.s3_secret_key,
        secure=settings.s3_secure,
    )


def search_backend(settings: Settings, key: bytes) -> SearchBackend:
    """The backend of this process, as its settings say (see the module docstring)."""
    from search.index import SearchIndex  # the embedded default (Whoosh)

    term_key = TermKey(key)
    if settings.search_replica_from:
        from search.replica import SearchReplica

        return SearchReplica(
            settings.search_index_dir,
            key=term_key,
            shelf=open_share(settings, settings.search_replica_from),
            check_seconds=settings.search_sync_seconds,
            wait_seconds=settings.search_sync_wait_ms / 1000,
        )
    index = SearchIndex(settings.search_index_dir, key=term_key)
    if settings.search_publish_to:
        from search.publish import PublishedIndex, Publisher

        return PublishedIndex(index, Publisher(open_share(settings, settings.search_publish_to)))
    return index
