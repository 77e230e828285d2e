"""``python -m qtandem`` is the ``qtandem`` command."""

from qtandem.cli.main import main

main()
