"""Chain access shared by the oracle, the backend, the scripts and the CLI.

- :mod:`~gpubarter.chain.network`: networks by name, connecting.
- :mod:`~gpubarter.chain.accounts`: signing keys (env, keystore, dev mnemonic).
- :mod:`~gpubarter.chain.tx`: sending transactions (nonce, gas, receipts, reverts).
- :mod:`~gpubarter.chain.revert`: decoding custom errors.
- :mod:`~gpubarter.chain.contracts`: artifacts, deployment, ``deployments/<chain-id>.json``.
- :mod:`~gpubarter.chain.eip712`: typed-data domains and signing.
- :mod:`~gpubarter.chain.logs`: event log searches in bounded block ranges (public RPCs cap them).
"""
