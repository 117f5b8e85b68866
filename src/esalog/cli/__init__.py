"""The ``esalog`` command line: commands only, each a module with ``register(subparsers)``; they build the
typed configurations and call the layers below (nothing below imports from here).

Exit codes: 0 success; 1 runtime failure (I/O, delivery, damaged input); 2 usage or configuration error
(bad option, malformed pack, missing or unwritable file); 3 ``--strict`` and some line was unmatched or
not an ESA line.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from esalog import __version__, native
from esalog.errors import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, EsalogError, exit_code

#: Each command and the module that registers it, in the order ``--help`` lists them. Only the module of
#: the command given is imported (start-up: ``ship`` needs requests, ``parse`` does not).
COMMANDS = {"parse": "parse", "filter": "filter", "listen": "listen", "ship": "ship", "es-template": "ship",
            "report": "report", "patterns": "patterns", "schema": "schema", "splunk-app": "splunk"}


def version_text() -> str:
    """``esalog X.Y.Z`` and which parsing core runs."""
    return f"esalog {__version__} ({native.core_status()})"


class _Version(argparse.Action):
    """``--version``: the text is made when asked for (finding the core imports it: start-up)."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, help="show the version and the parsing core, and exit",
                         **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        print(version_text())
        parser.exit()


def io_error_text(exc: OSError) -> str:
    """``/dev/full: No space left on device`` (the file, when the error names one, and why)."""
    why = exc.strerror or str(exc) or type(exc).__name__
    return f"{exc.filename}: {why}" if exc.filename else why


def terminal_width() -> int:
    """What ``shutil.get_terminal_size()`` says of the width (``COLUMNS``, else the terminal's, else 80),
    without importing shutil and the compression modules it brings (start-up)."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


class HelpFormatter(argparse.HelpFormatter):
    """argparse's help layout, given the terminal width less 2, as argparse takes it (importing shutil)."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:
        super().__init__(prog, indent_increment, max_help_position, width or terminal_width() - 2)


class RawDescriptionHelpFormatter(HelpFormatter, argparse.RawDescriptionHelpFormatter):
    """:class:`HelpFormatter` that keeps the description's and epilog's line breaks."""


class _Parser(argparse.ArgumentParser):
    """Laid out by :class:`HelpFormatter`; a usage error is one line naming the command and where its options
    are listed, not a usage dump."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(**kwargs)

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


class _CommandParser(_Parser):
    """A command's parser: an argument it does not know is refused by it, under its own name (argparse would
    leave it to the top-level parser, whose usage names no command)."""

    def parse_known_args(self, args: Sequence[str] | None = None,  # type: ignore[override]
                         namespace: argparse.Namespace | None = None) -> tuple[argparse.Namespace, list[str]]:
        known, extras = super().parse_known_args(args, namespace)
        if extras:
            self.error(f"unrecognized arguments: {' '.join(extras)}")
        return known, extras


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The command line; with *argv* naming a command, only that command's module is loaded."""
    parser = _Parser(
        prog="esalog",
        description="Parse, track and ship Cisco Secure Email Gateway (ESA) mail logs as ECS-like JSON.",
    )
    parser.add_argument("--version", action=_Version)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_CommandParser)
    wanted = COMMANDS.get(argv[0]) if argv else None
    for name in dict.fromkeys(COMMANDS.values()):
        if wanted is None or name == wanted:
            importlib.import_module(f"esalog.cli.{name}").register(sub)
    return parser


def _hold_closed_std_streams() -> None:
    """A standard stream the caller closed (``esalog parse x >&-``) is held open on /dev/null: stdin and
    stdout the wrong way round, so reading or writing them fails with EBADF (one error line, exit 1, no
    traceback from a None ``sys.stdout``), stderr for writing (messages go nowhere, the exit code stays).
    Held, the descriptor is not handed to the next file esalog opens."""
    for fd, name, flags, mode in ((0, "stdin", os.O_WRONLY, "r"), (1, "stdout", os.O_RDONLY, "w"),
                                  (2, "stderr", os.O_WRONLY, "w")):
        if getattr(sys, name) is not None:
            continue
        held = os.open(os.devnull, flags)
        if held != fd:
            os.dup2(held, fd)
            os.close(held)
        setattr(sys, name, open(fd, mode, encoding="utf-8", errors="backslashreplace", closefd=False))


def _stdout_to_devnull() -> None:
    """Point stdout at /dev/null (what it still buffers is dropped, not flushed again at exit); when not
    even that can be opened (out of file descriptors), stdout is closed instead."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
    except OSError:
        with contextlib.suppress(OSError, ValueError):
            sys.stdout.close()
        return
    os.dup2(null, sys.stdout.fileno())
    os.close(null)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command *argv* (default: ``sys.argv[1:]``) names; its exit code, each error one line on stderr."""
    _hold_closed_std_streams()
    stdout = sys.stdout
    sys.stdout = _WatchedStdout(stdout)
    try:
        return _main(argv)
    finally:
        if isinstance(sys.stdout, _WatchedStdout):
            sys.stdout = stdout


def _main(argv: Sequence[str] | None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(args_list)
    if not args_list:  # a first try, `esalog` alone: the commands, not an error about a missing one
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        try:
            args = parser.parse_args(args_list)
        except SystemExit:  # --help, --version (or a usage error): what they printed must get out
            sys.stdout.flush()
            if isinstance(sys.stdout, _WatchedStdout) and sys.stdout.error is not None:
                raise sys.stdout.error from None  # (argparse's write hides it)
            raise
        code = int(args.func(args))
        sys.stdout.flush()  # a write error of the last buffered text is said here, not at interpreter exit
        return code
    except EsalogError as exc:
        print(f"esalog: error: {exc}", file=sys.stderr)
        return exit_code(exc)
    except BrokenPipeError:  # the reader went away (esalog ... | head): not an error
        _stdout_to_devnull()
        return EXIT_OK
    except OSError as exc:  # a disk full, a file gone while writing: a runtime failure, said in one line
        text = io_error_text(exc)
        if not exc.filename and _stdout_fails():  # the text stdout still holds cannot go out: stdout failed
            text = f"cannot write stdout: {text}"
        print(f"esalog: error: {text}", file=sys.stderr)
        # what stdout still buffers goes nowhere, or its flush at exit fails again (a traceback, exit 120)
        _stdout_to_devnull()
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print("esalog: interrupted", file=sys.stderr)
        return 130


class _WatchedStdout:
    """sys.stdout as it is, that remembers whether a write or flush of it failed: an error that names no file
    is then said as stdout's."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self.error: OSError | None = None  # the first write error

    def write(self, text: str) -> int:
        try:
            return int(self._stream.write(text))
        except OSError as exc:
            self.error = self.error or exc
            raise

    def flush(self) -> None:
        try:
            self._stream.flush()
        except OSError as exc:
            self.error = self.error or exc
            raise

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _stdout_fails() -> bool:
    """Whether a write to stdout failed (after a write error that names no file: was it stdout's?)."""
    return isinstance(sys.stdout, _WatchedStdout) and sys.stdout.error is not None


if __name__ == "__main__":
    raise SystemExit(main())
