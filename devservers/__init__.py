"""The servers a developer's machine runs for the stack and the tests: an anvil chain
(:mod:`.anvil`), a js-ipfs node (:mod:`.ipfs`) and a throwaway PostgreSQL cluster
(:mod:`.postgres`), each a child process on loopback (:class:`.base.LocalServer`).

Not part of the product: the service and the oracle connect to whatever chain, IPFS node and
database they are given. The composition layer (``gpubarter up``, ``gpubarter node``, the benches)
and the tests start these. Installing a missing system package is its own explicit step
(:func:`.postgres.ensure_postgres`), never a side effect of starting a server.
"""
