"""The ``gpubarter`` commands, one module per group; each registers on :data:`cli.app`."""
