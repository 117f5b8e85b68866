"""``python -m esalog`` = the ``esalog`` command."""

from esalog.cli import main

raise SystemExit(main())
