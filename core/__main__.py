"""Runs the command line: python -m core generate --help."""
import sys

from core.cli import main

sys.exit(main())
