"""``python -m cli`` runs the ``gpubarter`` command line."""

import sys

from cli import main

sys.exit(main())
