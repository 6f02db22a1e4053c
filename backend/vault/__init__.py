"""The dataset vault: seal a dataset into K encrypted shards on IPFS, open and verify them.

Entry points: :func:`backend.vault.seal.seal_dataset`,
:func:`backend.vault.unseal.open_shard`, :func:`backend.vault.unseal.verify_dataset`,
:func:`backend.vault.manifest.load_manifest`, and :func:`backend.vault.config.open_store`
for the configured content store (an IPFS node, or the embedded store by default).
"""
