"""``python -m gpubarter`` runs the CLI."""

import sys

from gpubarter.cli import main

sys.exit(main())
