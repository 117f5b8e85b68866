"""Splunk search command ``| esaparse``; the code is ``esalog.integrations.splunk_search`` in ../lib."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib"))

from esalog.integrations.splunk_search import main

if __name__ == "__main__":
    main(sys.argv)
