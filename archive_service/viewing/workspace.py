"""Where a supervised session's decrypted copies live: one private folder per session
under the temp area, made renderable once, wiped when the session ends."""

from __future__ import annotations

import shutil
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
