"""The test session's one real IPFS node (js-ipfs on loopback, no bootstrap peers).

Not a test module: tests/conftest.py loads it as a plugin, so every test that asks for
``ipfs_node`` shares the same node, started on first use.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devservers.ipfs import LocalIpfsNode


@pytest.fixture(scope="session")
def ipfs_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalIpfsNode]:
    with LocalIpfsNode(repo=tmp_path_factory.mktemp("ipfs-repo")) as node:
        yield node
