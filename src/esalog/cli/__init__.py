"""The ``esalog`` command line: commands only, each a module with ``register(subparsers)``; they build the
typed configurations and call the layers below (nothing below imports from here).

Exit codes: 0 success; 1 runtime failure (I/O, delivery, damaged input); 2 usage or configuration error
(bad option, malformed pack, missing or unwritable file); 3 ``--strict`` and some line was unmatched or
not an ESA line.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from esalog import __version__
from esalog.cli import filter as filter_command
from esalog.cli import listen, parse, patterns, report, schema, ship, splunk
from esalog.errors import EXIT_FAILURE, EXIT_OK, EsalogError, exit_code

#: The command modules, in the order ``--help`` lists them.
COMMANDS = (parse, filter_command, listen, ship, report, patterns, schema, splunk)


def version_text() -> str:
    """``esalog X.Y.Z`` and which parsing core runs."""
    return f"esalog {__version__}"


def io_error_text(exc: OSError) -> str:
    """``/dev/full: No space left on device`` (the file, when the error names one, and why)."""
    why = exc.strerror or str(exc) or type(exc).__name__
    return f"{exc.filename}: {why}" if exc.filename else why


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="esalog",
        description="Parse, track and ship Cisco Secure Email Gateway (ESA) mail logs as ECS-like JSON.",
    )
    parser.add_argument("--version", action="version", version=version_text())
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except EsalogError as exc:
        print(f"esalog: error: {exc}", file=sys.stderr)
        return exit_code(exc)
    except BrokenPipeError:  # the reader went away (esalog ... | head): not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except OSError as exc:  # a disk full, a file gone while writing: a runtime failure, said in one line
        print(f"esalog: error: {io_error_text(exc)}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print("esalog: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
