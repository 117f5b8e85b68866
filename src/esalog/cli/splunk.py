"""``esalog splunk-app build``: the Splunk app TA-esalog."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from esalog.errors import EXIT_OK
from esalog.integrations.splunk import build_app
from esalog.settings import check_directory


def register(sub: Any) -> None:
    p = sub.add_parser("splunk-app", help="build the Splunk app TA-esalog",
                       description="The Splunk app: modular input esalog://, | esaparse, CIM tags.")
    actions = p.add_subparsers(dest="splunk_command", required=True, metavar="ACTION")
    b = actions.add_parser("build", help="write TA-esalog/ and TA-esalog-VERSION.tgz/.spl",
                           description="Write the app directory and its archives (install the .spl with "
                                       "'splunk install app FILE' or Apps > Install app from file).")
    b.add_argument("-o", "--output", default="dist", metavar="DIR", help="output directory (default dist)")
    b.set_defaults(func=cmd_build)


def cmd_build(args: argparse.Namespace) -> int:
    check_directory("-o", args.output)
    app, tgz, spl = build_app(Path(args.output))
    for path in (app, tgz, spl):
        print(path)
    print(f"esalog: install {spl} on the heavy forwarder or full instance that sees the log files and on the "
          f"search heads ($SPLUNK_HOME/bin/splunk install app {spl}, or Apps > Install app from file), restart "
          f"Splunk, then add an esalog:// input (README, Splunk)", file=sys.stderr)
    return EXIT_OK
