"""``python -m tritaudio``: the ``tritaudio`` command."""

import sys

from tritaudio.cli import main

if __name__ == "__main__":
    sys.exit(main())
