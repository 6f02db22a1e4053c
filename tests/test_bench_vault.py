"""The vault bench's helpers on small inputs: the baseline runs on seal's thread layout and the
CPU breakdown names every part of sealing (numbers themselves come from `gpubarter bench vault`)."""

from __future__ import annotations

import os

from cli.bench import vault


def test_baseline_uses_seal_layout_and_breakdown_covers_sealing(tmp_path):
    sample = os.urandom(4 << 20)
    src = tmp_path / "d.bin"
    src.write_bytes(sample)
    assert vault.seal_workers(4) == min(4, os.cpu_count() or 1)
    for cid in (False, True):
        wall, cpu = vault.machine_limit(sample, 8 << 20, cid_leaves=cid)
        assert wall > 0 and cpu > 0
    parts = vault.cpu_breakdown(src, sample, tmp_path, total=8 << 20)
    assert set(parts) == {"AES-256-GCM", "SHA-256 of the plaintext", "SHA-256 of the ciphertext leaves (CID)",
                          "reading the file", "writing the object file"}
    assert all(v >= 0 for v in parts.values())
    assert [p.name for p in tmp_path.iterdir()] == ["d.bin"]  # the write test leaves nothing
