"""One settings model: every variable read where it is used, the README's table written from it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from backend.db.engine import database_url
from backend.vault.config import open_keystore, vault_dir
from gpubarter import paths
from gpubarter.chain.network import local_node_url
from gpubarter.errors import ConfigError
from gpubarter.settings import Settings, markdown_table, settings, variables

README = Path(__file__).resolve().parent.parent / "README.md"


def test_the_readme_table_is_the_models() -> None:
    text = README.read_text()
    table = re.search(r"<!-- settings table: generated[^\n]*-->\n(.*?)<!-- end of settings table -->",
                      text, re.S)
    assert table, "README.md lost its settings table markers"
    assert table.group(1) == markdown_table(), "run `uv run python -m gpubarter.settings` into README.md"


def test_one_variable_per_setting_and_every_setting_documented() -> None:
    rows = variables()
    names = [name for name, _, _ in rows]
    assert len(names) == len(set(names))
    assert len(rows) == sum(len(field.annotation.model_fields) for field in Settings.model_fields.values())
    assert all(doc for _, _, doc in rows)
    assert {"GPUBARTER_IPFS_API", "GPUBARTER_DATABASE_URL", "GPUBARTER_VAULT_DIR"} <= set(names)
    assert "GPUBARTER_API_IPFS_API" not in names  # the IPFS node is set once, for the CLI and the API


def test_a_changed_variable_is_seen_by_every_reader(monkeypatch, tmp_path) -> None:
    before = settings()
    assert settings() is before  # unchanged environment: the same object, no re-read
    monkeypatch.setenv("GPUBARTER_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("GPUBARTER_VAULT_KEYS", str(tmp_path / "keys"))
    monkeypatch.setenv("GPUBARTER_DATABASE_URL", "postgresql://u@127.0.0.1:1/x")
    monkeypatch.setenv("GPUBARTER_LOCAL_RPC_URL", "http://127.0.0.1:1")
    assert paths.state_dir() == tmp_path / "state"
    assert vault_dir() == tmp_path / "state" / "vault"
    assert open_keystore().root == tmp_path / "keys"
    assert database_url() == "postgresql+psycopg://u@127.0.0.1:1/x"
    assert local_node_url() == "http://127.0.0.1:1"
    monkeypatch.setenv("GPUBARTER_VAULT_DIR", str(tmp_path / "v"))
    assert vault_dir() == tmp_path / "v"


@pytest.mark.parametrize(("variable", "value", "message"), [
    ("GPUBARTER_API_PORT", "eighty", "GPUBARTER_API_PORT='eighty' is not valid"),
    ("GPUBARTER_IPFS_TIMEOUT_S", "soon", "GPUBARTER_IPFS_TIMEOUT_S='soon' is not valid"),
    ("GPUBARTER_API_CORS_ORIGINS", "not json", "GPUBARTER_API_CORS_ORIGINS"),
])
def test_a_value_that_does_not_fit_names_its_variable(monkeypatch, variable, value, message) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=re.escape(message)):
        settings()
    monkeypatch.delenv(variable)
    assert settings()  # and the environment, once fixed, reads again
