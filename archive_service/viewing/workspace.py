"""Where decrypted copies for page images live: one private folder per supervised session
under the temp area, wiped when the session ends; one per reader whose reading is
view-only (``viewing.page_views``), wiped once it has been idle for a while."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from archive_service.vault.services import Vault


@dataclass(frozen=True)
class Workspace:
    root: Path  # a folder in the private temp area (0700)
    vault: Vault
    render_timeout: int = 120

    def folder(self, session_id: int) -> Path:
        return self.root / f"s{session_id}"

    def reader_folder(self, user_id: int) -> Path:
        """A reader's copies outside any session (page images of a view-only grant)."""
        return self.root / f"r{user_id}"

    def wipe_idle_readers(self, idle_seconds: float) -> int:
        """Remove every reader folder nobody has shown a page from for ``idle_seconds``."""
        if not self.root.exists():
            return 0
        now, wiped = time.time(), 0
        for folder in self.root.iterdir():
            if not (folder.name.startswith("r") and folder.name[1:].isdigit()):
                continue
            used = [folder.stat().st_mtime, *(p.stat().st_mtime for p in folder.iterdir())]
            if now - max(used) > idle_seconds:
                shutil.rmtree(folder, ignore_errors=True)
                wiped += 1
        return wiped

    def wipe(self, session_id: int) -> None:
        shutil.rmtree(self.folder(session_id), ignore_errors=True)

    def wipe_all_but(self, open_ids: Iterable[int]) -> None:
        """Remove the folders of every session not in ``open_ids`` (a process may have died
        before wiping its own)."""
        keep = set(open_ids)
        if not self.root.exists():
            return
        for folder in self.root.iterdir():
            number = folder.name[1:]
            if folder.name.startswith("s") and number.isdigit() and int(number) not in keep:
                shutil.rmtree(folder, ignore_errors=True)
