"""The chain indexer: follows protocol events into the index database, reorg-safe."""
