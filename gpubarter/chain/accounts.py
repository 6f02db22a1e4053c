"""Signing keys: from the environment, a keystore file, or anvil's dev mnemonic.

A key is never printed, logged or put into an error message; errors about a key say
where it came from and what shape was expected.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount

from gpubarter.errors import SigningKeyError

#: The mnemonic of the dev chains' funded accounts (anvil's default): public, for dev chains only.
DEV_MNEMONIC = "test test test test test test test test test test test junk"

_HEX_KEY = re.compile(r"^(0x)?[0-9a-fA-F]{64}$")


def from_private_key(value: str, *, source: str) -> LocalAccount:
    """An account from a hex private key; ``source`` names where it came from."""
    text = value.strip()
    if not _HEX_KEY.match(text):
        shape = f"{len(text)} characters" if text else "an empty value"
        raise SigningKeyError(
            f"the private key from {source} is malformed: expected 64 hex characters "
            f"(32 bytes, optional 0x prefix), got {shape}"
        )
    try:
        return Account.from_key(text)
    except Exception:  # e.g. zero or above the curve order; never chain the key-bearing cause
        raise SigningKeyError(f"the private key from {source} is not a valid secp256k1 key") from None


def from_keystore(path: Path, password: str) -> LocalAccount:
    """An account from an encrypted JSON keystore (web3 secret storage)."""
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise SigningKeyError(f"keystore {path} does not exist") from None
    except (OSError, ValueError) as exc:
        raise SigningKeyError(f"keystore {path} is not a readable JSON keystore: {exc}") from None
    try:
        key = Account.decrypt(data, password)
    except ValueError:
        raise SigningKeyError(f"could not decrypt keystore {path}: wrong password?") from None
    except Exception:
        raise SigningKeyError(f"keystore {path} is not a valid web3 secret-storage file") from None
    return Account.from_key(key)


@cache
def dev_account(index: int) -> LocalAccount:
    """Anvil's funded dev account ``index`` (test mnemonic; for local chains only)."""
    Account.enable_unaudited_hdwallet_features()
    return Account.from_mnemonic(DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")
