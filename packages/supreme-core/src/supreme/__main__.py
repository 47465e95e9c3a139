"""``python -m supreme`` is ``supreme``."""

from supreme.cli.main import main

main()
