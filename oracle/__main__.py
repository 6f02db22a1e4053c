"""``python -m oracle ARGS`` = ``gpubarter oracle ARGS``."""

import sys

from gpubarter.cli import main

sys.exit(main(["oracle", *sys.argv[1:]]))
