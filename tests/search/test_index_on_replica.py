"""The search library's own query tests (test_index.py), run again on a web machine's
replica: writes go to the indexer's index, which publishes each one, and every search reads
a replica synced from the shared folder. Tests that look into one index's files are not
repeated here (they hold for the replica's copy by construction: the same files)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.search import test_index
from tests.search.conftest import Replicated

# Those that open one index's folder or internals themselves (its side files, snapshots,
# segment layout, a second handle on its directory, a failing side-file writer).
_LOCAL_ONLY = {
    "test_a_damaged_side_file_is_ignored",
    "test_a_failed_side_file_write_leaves_the_index_as_it_was",
    "test_body_is_not_stored",
    "test_date_column_fast_read_matches_whoosh",
    "test_every_segment_gets_a_side_file_and_searches_use_it",
    "test_length_column_fast_read_matches_whoosh",
    "test_merged_segments_keep_side_files_and_lose_the_old_ones",
    "test_readers_see_old_content_until_rebuild_commits",
    "test_rebuild_replaces_everything",
    "test_rebuild_workers_write_side_files",
    "test_results_are_the_same_without_side_files",
    "test_side_file_postings_are_whoosh_postings",
}

corpus = test_index.corpus  # the shared fixture, on the replicated index below
for _name in dir(test_index):
    if _name.startswith("test_") and _name not in _LOCAL_ONLY:
        globals()[_name] = getattr(test_index, _name)


@pytest.fixture
def index(tmp_path: Path) -> Replicated:
    return Replicated(tmp_path)
