"""Master-key use cases: rotate (a new active key, then every data key re-wrapped under
it, resumably in the workers) and retire an old key once no data key depends on it."""

from __future__ import annotations

from sqlalchemy.orm import Session

from archive_service.audit.services import record
from archive_service.errors import Conflict
from archive_service.jobs import later
from archive_service.policy import Caller
from archive_service.vault.services import Vault, keys_in_use
from storage.keyring import Keyring


def _keyring_path(vault: Vault) -> str:
    if not vault.keyring_path:
        raise Conflict(
            "the keyring is given inline (ARCHIVE_KEYRING); add the new key there and redeploy"
        )
    return vault.keyring_path


def rotate(
    session: Session, by: Caller, vault: Vault, rewrap_later: bool = True
) -> tuple[str, str]:
    """Add a new active master key to the keyring file; ``(new, previous)`` key ids. With
    ``rewrap_later`` the re-wrap of every data key is sent to the workers after commit."""
    path = _keyring_path(vault)
    ring = Keyring.load(path)
    old = ring.active_key_id
    new = ring.add_key(activate=True)
    ring.save(path)
    vault.refresh()
    record(session, by.actor, "keys.rotate", "keyring", new, previous=old)
    if rewrap_later:
        later(session, "rewrap_keys")
    return new, old


def retire(session: Session, by: Caller, vault: Vault, key_id: str) -> None:
    """Destroy an old master key; refused while any data key depends on it."""
    path = _keyring_path(vault)
    in_use = keys_in_use(session).get(key_id, 0)
    if in_use:
        raise Conflict(f"{in_use} data keys still depend on {key_id}; rotate first")
    ring = Keyring.load(path)
    try:
        ring.retire(key_id)
    except Exception as exc:  # KeyringError, UnknownMasterKey: say it plainly
        raise Conflict(str(exc)) from exc
    ring.save(path)
    vault.refresh()
    record(session, by.actor, "keys.retire", "keyring", key_id)
