"""Which secrets an instance holds, where each lives, and putting them back on restore.

Each is read where its loader reads it (inline setting, mounted file, or the instance
folder's default file), never generated here: a backup of an instance that never made
one simply has none.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from archive_service.config import Settings
from archive_service.instance import write_secret_file


@dataclass(frozen=True)
class Secret:
    name: str
    inline: str  # the value given in the settings themselves ("" if none)
    path: Path  # the file it is read from, or would be


def _places(settings: Settings) -> list[Secret]:
    inst = Path(settings.instance_dir)
    keyring = settings.keyring.strip()
    keyring_path = keyring if keyring and not keyring.startswith("{") else settings.keyring_file
    return [
        Secret("keyring", keyring if keyring.startswith("{") else "", Path(keyring_path)),
        Secret(
            "signing_key",
            settings.signing_key,
            Path(settings.signing_key_file or inst / "signing_key.pem"),
        ),
        Secret(
            "audit_key", settings.audit_key, Path(settings.audit_key_file or inst / "audit_key.pem")
        ),
        Secret(
            "search_key", settings.search_key, Path(settings.search_key_file or inst / "search_key")
        ),
        Secret("secret_key", settings.secret_key, inst / "secret_key"),
    ]


def gather(settings: Settings) -> dict[str, str]:
    """Every secret this instance holds, by name."""
    out: dict[str, str] = {}
    for secret in _places(settings):
        if secret.inline:
            out[secret.name] = secret.inline
        elif secret.path.is_file():
            out[secret.name] = secret.path.read_text(encoding="utf-8")
    return out


def conflicts(settings: Settings, secrets: dict[str, str]) -> list[str]:
    """Secrets this instance already holds that differ from the backup's (a non-empty
    instance, or one set up with other keys)."""
    out = []
    for secret in _places(settings):
        if secret.name not in secrets:
            continue
        mine = secret.inline or (
            secret.path.read_text(encoding="utf-8") if secret.path.is_file() else None
        )
        if mine is not None and mine.strip() != secrets[secret.name].strip():
            out.append(f"{secret.name} ({'setting' if secret.inline else secret.path})")
    return out


def put_back(settings: Settings, secrets: dict[str, str]) -> list[str]:
    """Write each secret where this instance reads it (0600); those the settings give
    inline are left to the settings. Returns the files written."""
    written = []
    for secret in _places(settings):
        if secret.name not in secrets or secret.inline or secret.path.is_file():
            continue
        secret.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_secret_file(secret.path, secrets[secret.name])
        written.append(str(secret.path))
    return written
