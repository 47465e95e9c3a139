"""A --plugin file that calls sys.exit while it is imported (bad-input corpus)."""

import sys

sys.exit(3)
