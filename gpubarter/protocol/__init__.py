"""Typed clients of the protocol's contracts, shared by the CLI, the oracle and the backend.

- :mod:`~gpubarter.protocol.units`: GPU-hours and GPU-seconds, whole CPT and wei.
- :mod:`~gpubarter.protocol.types`: decoded records (GPU class, provider, series, job).
- :mod:`~gpubarter.protocol.credits`: providers, stake, credit series and jobs.
"""
