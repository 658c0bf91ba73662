"""``python3 -m yard``: the yard CLI."""

import sys

from yard.cli import main

if __name__ == "__main__":
    sys.exit(main())
