"""Key agents of barter deals: the cooperative's (releases sealed keys as steps fall due) and the
provider's (per-deal key pairs, opening released keys and shards, disputing wrong keys).

Both have a ``poll_once()`` that reads the chain and their own files and does what is due (safe to
repeat, resumes after a restart) and a ``run(stop)`` loop with backoff on transient errors.
"""
