"""``python -m pgvecdb``: the same as the ``pgvecdb`` command."""

import sys

from pgvecdb.cli import main

sys.exit(main())
