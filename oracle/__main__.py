"""``python -m oracle ARGS`` = ``gpubarter oracle ARGS``: the oracle's own command line, which
loads nothing of the service (``backend``) nor of the composition layer (``cli``)."""

import sys

from oracle.cli import main

sys.exit(main())
