"""A real IPFS node (Kubo, or anything serving its ``/api/v0`` RPC) as the content store.

Talks through ``ipfshttpclient``. Its ``connect()`` refuses every daemon newer than
0.7.x, so the client is constructed directly (``Client(addr, session=True)``), which
skips that check. Content is added as ``cid_version=1, raw_leaves=True`` (the CIDs
Kubo gives by default for CIDv1) and the CID the node returns is checked against the
CID computed here from the same bytes. A writer spools to a temporary file while the
CID is computed, so a node that is down or slow costs a retry, never half an object.
"""

from __future__ import annotations

import contextlib
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from backend.vault.cid import normalize_cid
from backend.vault.content_store import READ_CHUNK, SpoolingWriter
from backend.vault.errors import ContentNotFound, IntegrityError, StoreUnavailable

DEFAULT_TIMEOUT_S = 60.0
#: How long the node may look for a block it does not hold before saying so.
HAS_TIMEOUT_S = 2.0


@contextlib.contextmanager
def _quiet_urllib3() -> Iterator[None]:
    """ipfshttpclient passes ``strict=`` to urllib3 2.x pools, which warns on every request."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning, message=".*strict.*")
        yield


def to_multiaddr(api: str) -> str:
    """``http://127.0.0.1:5001`` or a multiaddr -> the multiaddr ipfshttpclient wants."""
    if api.startswith("/"):
        return api
    url = urlparse(api if "://" in api else f"http://{api}")
    if not url.hostname or not url.port:
        raise StoreUnavailable(f"{api!r} is not an IPFS API address; give http://HOST:PORT "
                               "or a multiaddr such as /ip4/127.0.0.1/tcp/5001/http")
    proto = "ip6" if ":" in url.hostname else ("ip4" if url.hostname[0].isdigit() else "dns")
    return f"/{proto}/{url.hostname}/tcp/{url.port}/{url.scheme or 'http'}"


class IpfsWriter(SpoolingWriter):
    def __init__(self, store: IpfsStore, size_hint: int | None) -> None:
        super().__init__(store.spool_dir, "ipfs-add-", size_hint)
        self._store = store

    def commit(self) -> str:
        expected = self._builder.finish()
        self._spool.close()
        try:
            reply = self._store.call("add", self._spool.path, raw_leaves=True, cid_version=1,
                                     pin=True, opts={"cid-base": "base32"})
        finally:
            self.abort()
        got = normalize_cid(str(reply["Hash"]))
        if got != expected:
            raise IntegrityError(f"the IPFS node at {self._store.location} stored the bytes as "
                                 f"{got} but they hash to {expected}: the node does not use "
                                 "Kubo's default chunking (256 KiB, balanced, raw leaves)")
        return got


class IpfsStore:
    def __init__(self, api: str, *, timeout_s: float = DEFAULT_TIMEOUT_S,
                 spool_dir: Path | None = None) -> None:
        import ipfshttpclient

        self.location = api
        self.timeout_s = timeout_s
        self.spool_dir = spool_dir or Path(tempfile.gettempdir()) / "gpubarter-ipfs-spool"
        try:
            self._client = ipfshttpclient.Client(to_multiaddr(api), session=True,
                                                 timeout=(min(5.0, timeout_s), timeout_s))
        except ipfshttpclient.exceptions.AddressError as exc:
            raise StoreUnavailable(f"{api!r} is not an IPFS API address: {exc}") from None

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Call ``client.<method>`` and turn the client's errors into vault errors."""
        from ipfshttpclient import exceptions as exc

        fn: Any = self._client
        for part in method.split("."):
            fn = getattr(fn, part)
        try:
            with _quiet_urllib3():
                return fn(*args, **kwargs)
        except exc.TimeoutError:
            raise StoreUnavailable(f"the IPFS node at {self.location} did not answer within "
                                   f"{self.timeout_s:g} s; check that it is running and not "
                                   "overloaded, then try again") from None
        except exc.ConnectionError:
            raise StoreUnavailable(f"cannot reach an IPFS node at {self.location}; start it "
                                   "(ipfs daemon) or fix --ipfs-api, then try again") from None
        except exc.ErrorResponse as e:
            raise StoreUnavailable(f"the IPFS node at {self.location} refused {method}: "
                                   f"{e}") from None
        except exc.Error as e:
            raise StoreUnavailable(f"IPFS {method} at {self.location} failed: {e}") from None

    def writer(self, size_hint: int | None = None) -> IpfsWriter:
        return IpfsWriter(self, size_hint)

    def has(self, cid: str) -> bool:
        """Whether the node holds ``cid`` itself. ``offline`` makes Kubo answer from its own
        blocks; js-ipfs ignores it and would search its (empty) swarm forever, so a short
        server-side ``timeout`` also ends the search. The client's own timeout still tells a
        stalled node apart."""
        try:
            self.call("block.stat", normalize_cid(cid),
                      opts={"offline": "true", "timeout": f"{HAS_TIMEOUT_S:g}s"})
        except StoreUnavailable as exc:
            if "refused" in str(exc):
                return False
            raise
        return True

    def cat(self, cid: str) -> Iterator[bytes]:
        cid = normalize_cid(cid)
        if not self.has(cid):
            raise ContentNotFound(f"{cid} is not on the IPFS node at {self.location}; add it there "
                                  "or use the store that holds it")
        stream = self.call("cat", cid, stream=True)
        pending = bytearray()
        with _quiet_urllib3():
            try:
                for chunk in stream:
                    pending += chunk
                    if len(pending) >= READ_CHUNK:
                        yield bytes(pending)
                        pending.clear()
            except Exception as e:
                from ipfshttpclient import exceptions as exc

                if isinstance(e, exc.Error | OSError):
                    raise StoreUnavailable(f"reading {cid} from {self.location} failed: "
                                           f"{e}") from None
                raise
        if pending:
            yield bytes(pending)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._client.close()

    def __repr__(self) -> str:
        return f"IpfsStore({self.location})"
