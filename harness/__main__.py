"""``python -m harness`` is the ``harness`` command."""

from harness.cli.app import main

main()
