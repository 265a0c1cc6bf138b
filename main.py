"""Entry point: ``python main.py`` runs the kiosk; ``python main.py <command>`` runs a tool (see --help)."""

import sys
import time

STARTED_AT = time.perf_counter()  # the app logs time to first frame from here

if __name__ == "__main__":
    from kiosk.cli import main

    sys.exit(main())
