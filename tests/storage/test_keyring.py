"""Master keys: wrapping, wrong or missing keys, rotation, the keyring file."""

from __future__ import annotations

import io
import json
import os
import stat
import threading
from pathlib import Path

import pytest

from storage import EncryptedStore, LocalStore
from storage.errors import KeyringError, KeyUnwrapError, UnknownMasterKey
from storage.keyring import Keyring, WrappedKey, new_data_key
from tests.storage.conftest import SEG, pattern


def test_wrap_unwrap_and_string_form(keyring: Keyring) -> None:
    dek = new_data_key()
    wrapped = keyring.wrap(dek)
    text = wrapped.to_str()
    assert text.startswith(f"kw1:{keyring.active_key_id}:") and len(text) < 100
    assert dek.hex() not in text and WrappedKey.from_str(text) == wrapped
    assert WrappedKey.from_bytes(wrapped.to_bytes()) == wrapped
    assert keyring.unwrap(text) == keyring.unwrap(wrapped) == dek


def test_missing_master_key_fails_clearly(keyring: Keyring) -> None:
    wrapped = keyring.wrap(new_data_key())
    other = Keyring.generate()
    with pytest.raises(UnknownMasterKey, match=keyring.active_key_id) as err:
        other.unwrap(wrapped)
    assert isinstance(err.value, KeyError)
    assert "not in the keyring" in str(err.value)


def test_wrong_master_key_under_same_id_fails_clearly(keyring: Keyring) -> None:
    wrapped = keyring.wrap(new_data_key())
    impostor = Keyring({keyring.active_key_id: os.urandom(32)}, keyring.active_key_id)
    with pytest.raises(KeyUnwrapError, match="wrong master key"):
        impostor.unwrap(wrapped)


@pytest.mark.parametrize(
    "text", ["", "kw1:abc", "kw2:k:AAAA", "kw1:bad id:AAAA", "kw1:k:!!!", "kw1:k:AAAA"]
)
def test_malformed_wrapped_key_fails_clearly(keyring: Keyring, text: str) -> None:
    with pytest.raises(KeyUnwrapError):
        keyring.unwrap(text)


def test_corrupted_wrapped_key_fails(keyring: Keyring) -> None:
    wrapped = keyring.wrap(new_data_key())
    bad = WrappedKey(wrapped.key_id, bytes([wrapped.wrapped[0] ^ 1]) + wrapped.wrapped[1:])
    with pytest.raises(KeyUnwrapError):
        keyring.unwrap(bad)


def test_rotation_rewraps_without_reencrypting(tmp_path: Path, keyring: Keyring) -> None:
    backend = LocalStore(tmp_path / "objects")
    backend.ensure_ready()
    store = EncryptedStore(backend, keyring, SEG)
    contents = [pattern(n, n) for n in (0, 1, SEG, 5 * SEG + 3)]
    stored = [store.store(io.BytesIO(c)) for c in contents]
    old = keyring.active_key_id
    files_before = {p: p.read_bytes() for p in (tmp_path / "objects").rglob("*") if p.is_file()}

    new = keyring.add_key()
    assert keyring.active_key_id == new != old
    assert all(store.needs_rewrap(s.wrapped_key) for s in stored)
    rewrapped = [store.rewrap(s.wrapped_key) for s in stored]
    assert all(WrappedKey.from_str(w).key_id == new for w in rewrapped)
    assert not any(old in w for w in rewrapped)

    keyring.retire(old)
    assert old not in keyring and keyring.key_ids == [new]
    for s, w, c in zip(stored, rewrapped, contents, strict=True):
        assert store.open(s.object_name, w).read() == c
    # Content untouched: rotation only re-wraps data keys.
    assert files_before == {p: p.read_bytes() for p in files_before}
    with pytest.raises(UnknownMasterKey, match="retired"):
        store.open(stored[0].object_name, stored[0].wrapped_key)


def test_cannot_retire_active_or_reuse_ids(keyring: Keyring) -> None:
    with pytest.raises(KeyringError):
        keyring.retire(keyring.active_key_id)
    old = keyring.active_key_id
    keyring.add_key()
    keyring.retire(old)
    with pytest.raises(KeyringError):
        keyring.add_key(key_id=old)  # a retired id never comes back with other key material
    keyring.add_key(activate=False, key_id="spare")
    assert keyring.active_key_id != "spare"
    keyring.activate("spare")
    assert keyring.active_key_id == "spare"


def test_save_load_is_atomic_and_private(tmp_path: Path, keyring: Keyring) -> None:
    path = tmp_path / "secret" / "keyring.json"
    keyring.add_key()
    keyring.save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert os.listdir(path.parent) == ["keyring.json"]  # no temp file left
    loaded = Keyring.load(path)
    assert loaded.key_ids == keyring.key_ids and loaded.active_key_id == keyring.active_key_id
    dek = new_data_key()
    assert loaded.unwrap(keyring.wrap(dek)) == dek
    doc = json.loads(path.read_text())
    assert doc["kind"] == "archive-keyring" and doc["active"] == keyring.active_key_id
    keyring.add_key()
    keyring.save(path)  # replaces
    assert Keyring.load(path).active_key_id == keyring.active_key_id
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_load_or_create(tmp_path: Path) -> None:
    path = tmp_path / "instance" / "keyring.json"
    ring, created = Keyring.load_or_create(path)
    assert created and stat.S_IMODE(path.stat().st_mode) == 0o600
    again, created_again = Keyring.load_or_create(path)
    assert not created_again and again.key_ids == ring.key_ids


def test_load_or_create_race_has_one_winner(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    results: list[tuple[Keyring, bool]] = []
    threads = [
        threading.Thread(target=lambda: results.append(Keyring.load_or_create(path)))
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(created for _, created in results) <= 1
    assert len({r.active_key_id for r, _ in results}) == 1
    assert os.listdir(tmp_path) == ["keyring.json"]


def test_from_env_json_or_path(tmp_path: Path, keyring: Keyring) -> None:
    assert Keyring.from_env(keyring.to_json()).key_ids == keyring.key_ids
    path = tmp_path / "k.json"
    keyring.save(path)
    assert Keyring.from_env(f" {path} ").key_ids == keyring.key_ids
    for bad in ("", "   ", None):
        with pytest.raises(KeyringError):
            Keyring.from_env(bad)
    with pytest.raises(KeyringError):
        Keyring.from_env(str(tmp_path / "missing.json"))


def test_malformed_keyring_errors_reveal_no_key_material(keyring: Keyring) -> None:
    doc = json.loads(keyring.to_json())
    secret = doc["keys"][keyring.active_key_id]["key"]
    doc["keys"][keyring.active_key_id]["key"] = secret[:-4]  # wrong length
    with pytest.raises(KeyringError) as err:
        Keyring.from_json(json.dumps(doc))
    assert secret[:10] not in str(err.value)
    for bad in ("{", "[]", '{"kind": "archive-keyring", "version": 1}', '{"kind": "x"}'):
        with pytest.raises(KeyringError):
            Keyring.from_json(bad)
    assert secret not in repr(keyring)
