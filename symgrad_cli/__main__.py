"""Run the command line as ``python -m symgrad_cli``."""

from symgrad_cli.cli import main

main()
