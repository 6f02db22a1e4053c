"""The owner's key store: shard keys live here and nowhere else (never IPFS, logs or chain).

One JSON file per sealed dataset, ``<manifest-cid>.json`` in a folder only the owner
can enter (0700), each file created 0600 through a temporary file and an atomic
rename. A file that others can read is refused, as ssh refuses such a private key.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from backend.vault.aead import KEY_BYTES
from backend.vault.cid import normalize_cid
from backend.vault.errors import KeyStoreError
from gpubarter.private_files import atomic_write


def parse_key(text: str) -> bytes:
    """A shard key given as 64 hex characters (optionally 0x-prefixed)."""
    body = text.strip().removeprefix("0x")
    try:
        key = bytes.fromhex(body)
    except ValueError:
        key = b""
    if len(key) != KEY_BYTES:
        raise KeyStoreError("a shard key is 64 hexadecimal characters (32 bytes); the one given "
                            "is not (its value is not shown)")
    return key


class KeyStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path_for(self, manifest_cid: str) -> Path:
        return self.root / f"{normalize_cid(manifest_cid)}.json"

    def save(self, manifest_cid: str, keys: list[bytes]) -> Path:
        try:
            self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.chmod(self.root, 0o700)
            path = self.path_for(manifest_cid)
            doc = {"manifest": normalize_cid(manifest_cid), "keys": [k.hex() for k in keys]}
            atomic_write(path, json.dumps(doc, indent=1).encode() + b"\n", mode=0o600)
        except OSError as exc:
            raise KeyStoreError(f"cannot write the key store at {self.root}: "
                                f"{exc.strerror}") from None
        return path

    def has(self, manifest_cid: str) -> bool:
        return self.path_for(manifest_cid).is_file()

    def load(self, manifest_cid: str) -> list[bytes]:
        path = self.path_for(manifest_cid)
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            raise KeyStoreError(f"no keys for {manifest_cid} in {self.root}; give the key with "
                                "--key-file, or use the key store of the owner who sealed "
                                "it") from None
        if stat.S_IMODE(mode) & 0o077:
            raise KeyStoreError(f"{path} can be read by other users (mode {stat.S_IMODE(mode):o}); "
                                f"run `chmod 600 {path}` and try again")
        try:
            doc = json.loads(path.read_text())
            keys = [parse_key(k) for k in doc["keys"]]
        except (OSError, ValueError, KeyError, TypeError, KeyStoreError):
            raise KeyStoreError(f"{path} is not a readable vault key file") from None
        return keys

    def key(self, manifest_cid: str, index: int) -> bytes:
        keys = self.load(manifest_cid)
        if not 0 <= index < len(keys):
            raise KeyStoreError(f"{manifest_cid} has {len(keys)} shard keys; there is no "
                                f"shard {index}")
        return keys[index]
