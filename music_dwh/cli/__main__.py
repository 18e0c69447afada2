"""``python -m music_dwh.cli``: the ``music-dwh`` command."""

import sys

from music_dwh.cli.main import main

sys.exit(main())
