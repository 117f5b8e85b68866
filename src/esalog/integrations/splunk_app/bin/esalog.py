"""Splunk modular input ``esalog://``; the code is ``esalog.integrations.splunk_input`` in ../lib."""

import os
import sys

# bin/ would shadow the bundled ``esalog`` package with this very file: put ../lib first instead.
sys.path[0] = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib")

from esalog.integrations.splunk_input import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(sys.argv))
