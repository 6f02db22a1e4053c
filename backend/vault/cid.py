"""Content identifiers exactly as Kubo computes them for ``ipfs add --cid-version=1 --raw-leaves``.

Kubo's defaults: fixed 256 KiB chunks, a balanced DAG with at most 174 links per
node, raw leaves (multicodec ``raw``) and dag-pb internal nodes carrying UnixFS
``File`` data (``filesize`` and one ``blocksizes`` entry per child). A file of at
most one chunk is its own raw leaf. :class:`CidBuilder` consumes bytes as they
stream and keeps only the pending links of each DAG level (at most 174 per level),
so memory stays flat in the file's size.

dag-pb encodes ``Links`` (field 2) before ``Data`` (field 1); each link carries
``Hash`` (1), ``Name`` (2, always present, empty) and ``Tsize`` (3), where
``Tsize`` is the child's encoded size plus its own children's ``Tsize``.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

CHUNK_SIZE = 256 * 1024
MAX_LINKS = 174

_RAW = 0x55
_DAG_PB = 0x70
_SHA2_256 = 0x12
_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _cid_bytes(codec: int, digest: bytes) -> bytes:
    return b"\x01" + varint(codec) + bytes([_SHA2_256, len(digest)]) + digest


def cid_string(cid: bytes) -> str:
    """Binary CIDv1 -> multibase base32 (``b`` + lower-case RFC 4648, no padding)."""
    return "b" + base64.b32encode(cid).decode().lower().rstrip("=")


def _b58decode(text: str) -> bytes:
    n = 0
    for ch in text:
        n = n * 58 + _B58.index(ch)
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return b"\x00" * (len(text) - len(text.lstrip("1"))) + raw


def normalize_cid(text: str) -> str:
    """Any CIDv1 string in base32 (``b...``) or base58btc (``z...``) -> canonical base32.

    CIDv0 (``Qm...``) is refused: the vault only ever produces CIDv1.
    """
    text = text.strip()
    try:
        if text.startswith("b"):
            body = text[1:].upper()
            raw = base64.b32decode(body + "=" * (-len(body) % 8))
        elif text.startswith("z"):
            raw = _b58decode(text[1:])
        else:
            raise ValueError("not a CIDv1 in base32 or base58btc")
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a CIDv1 ({exc})") from None
    if len(raw) < 4 or raw[0] != 1:
        raise ValueError(f"{text!r} is not a CIDv1")
    return cid_string(raw)


def _pb_bytes(field: int, payload: bytes) -> bytes:
    return varint(field << 3 | 2) + varint(len(payload)) + payload


def _pb_varint(field: int, value: int) -> bytes:
    return varint(field << 3) + varint(value)


@dataclass(frozen=True)
class _Link:
    cid: bytes
    tsize: int  # cumulative DAG size below and including the child block
    filesize: int  # file bytes under the child


def _file_node(links: list[_Link]) -> _Link:
    """Encode a dag-pb UnixFS File node over ``links``; return the link that points to it."""
    filesize = sum(link.filesize for link in links)
    unixfs = _pb_varint(1, 2) + _pb_varint(3, filesize) + b"".join(
        _pb_varint(4, link.filesize) for link in links)
    block = b"".join(
        _pb_bytes(2, _pb_bytes(1, link.cid) + _pb_bytes(2, b"") + _pb_varint(3, link.tsize))
        for link in links) + _pb_bytes(1, unixfs)
    cid = _cid_bytes(_DAG_PB, hashlib.sha256(block).digest())
    return _Link(cid, len(block) + sum(link.tsize for link in links), filesize)


class CidBuilder:
    """Feed bytes with :meth:`update`; :meth:`finish` returns the CID Kubo would give them.

    Full chunks are hashed straight from the caller's buffer; only a trailing partial
    chunk is copied. The newest leaf is held back (as a link, not bytes) until another
    follows, because a file of exactly one chunk is that leaf itself.
    """

    def __init__(self) -> None:
        self._partial = bytearray()
        self._held: _Link | None = None
        self._levels: list[list[_Link]] = [[]]
        self.size = 0

    def update(self, data: bytes | bytearray | memoryview) -> None:
        view = memoryview(data).cast("B")
        self.size += len(view)
        if self._partial:
            take = min(CHUNK_SIZE - len(self._partial), len(view))
            self._partial += view[:take]
            view = view[take:]
            if len(self._partial) < CHUNK_SIZE:
                return
            self._leaf(self._partial)
            self._partial = bytearray()
        while len(view) >= CHUNK_SIZE:
            self._leaf(view[:CHUNK_SIZE])
            view = view[CHUNK_SIZE:]
        if view:
            self._partial += view

    def _leaf(self, chunk: bytes | bytearray | memoryview) -> None:
        if self._held is not None:
            self._push(0, self._held)
        cid = _cid_bytes(_RAW, hashlib.sha256(chunk).digest())
        self._held = _Link(cid, len(chunk), len(chunk))

    def _push(self, level: int, link: _Link) -> None:
        if level == len(self._levels):
            self._levels.append([])
        if len(self._levels[level]) == MAX_LINKS:  # full, and a sibling follows: close it
            self._push(level + 1, _file_node(self._levels[level]))
            self._levels[level] = []
        self._levels[level].append(link)

    def finish(self) -> str:
        """The CID (base32 CIDv1) of everything fed so far. The builder is spent afterwards."""
        if self._partial or self._held is None:
            self._leaf(self._partial)  # the last (short) chunk, or the empty file
            self._partial = bytearray()
        held = self._held
        assert held is not None
        if len(self._levels) == 1 and not self._levels[0]:
            return cid_string(held.cid)  # one chunk: the file is its own raw leaf
        self._push(0, held)
        level = 0
        while True:
            links = self._levels[level]
            top = level == len(self._levels) - 1
            if top and len(links) == 1 and level > 0:
                return cid_string(links[0].cid)
            node = _file_node(links)
            if top:
                return cid_string(node.cid)
            self._levels[level] = []
            self._push(level + 1, node)
            level += 1


def cid_of(data: bytes) -> str:
    builder = CidBuilder()
    builder.update(data)
    return builder.finish()
