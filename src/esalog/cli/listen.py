"""``esalog listen``: the syslog listener for the ESA's push."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from typing import Any

from esalog.cli import RawDescriptionHelpFormatter
from esalog.cli.common import add_parse_options, pipeline_from, summary_line
from esalog.cli.options import add_settings, settings_from
from esalog.cli.sinks import (
    ENVIRONMENT_HELP,
    add_sink_options,
    check_delivery_paths,
    delivery_config,
    report_delivery,
    sink_choice,
)
from esalog.errors import EXIT_FAILURE, EXIT_OK, ConfigError
from esalog.integrations.listener import DriverSink, ListenConfig, serve


def register(sub: Any) -> None:
    p = sub.add_parser(
        "listen", help="receive the ESA syslog push on UDP/TCP and ship the events",
        description="Syslog listener for ESA log subscriptions (RFC 3164 and 5424; TCP newline or "
                    "octet-counted framing). One parser state per sending appliance. Memory is bounded by "
                    "--max-buffer (messages waiting and incomplete frames; TCP reading pauses when it is "
                    "full) and --max-connections. Runs until SIGTERM/SIGINT, then reads what was sent and "
                    "delivers it; a second signal gives up. SIGHUP reopens --out and --dead-letter (logrotate). "
                    "Stops at once when the sink cannot work (bad token, TLS failure, wrong URL). Exit 1 "
                    "when a message had to be dropped or an event was not delivered.",
        epilog=ENVIRONMENT_HELP, formatter_class=RawDescriptionHelpFormatter)
    add_settings(p, ListenConfig)
    add_sink_options(p, default_to="stdout")
    add_parse_options(p)
    p.set_defaults(func=cmd_listen)


def cmd_listen(args: argparse.Namespace) -> int:
    config = settings_from(ListenConfig, args)
    delivery = delivery_config(args)
    check_delivery_paths(args.to, delivery, "listening")
    pipeline = pipeline_from(args)
    sink = DriverSink(sink_choice(args), delivery, keep_original=pipeline.parser.keep_original,
                      sourcetypes=pipeline.parser.sourcetypes())
    start = time.monotonic()
    try:
        stats = asyncio.run(serve(config, pipeline, sink))
    except OSError as exc:
        raise ConfigError(f"cannot listen: {exc.strerror or exc}") from None
    finally:
        sink.close()
    driver = sink.driver
    seconds = time.monotonic() - start
    if not args.quiet:
        print(summary_line(pipeline.counters, seconds), file=sys.stderr)
        print(f"esalog: {stats.received} messages from {stats.peers} peers, {stats.truncated} truncated, "
              f"{stats.partial} partial, {stats.refused} refused, {stats.dropped} dropped (queue or socket "
              f"buffer full, or not parsed at a hard stop)", file=sys.stderr)
    report_delivery(driver, seconds=seconds, quiet=args.quiet, stats=args.stats, dead_letter=delivery.dead_letter,
                    command="listen", messages=stats.received, peers=stats.peers, truncated=stats.truncated,
                    partial=stats.partial, refused=stats.refused, dropped=stats.dropped, pending=driver.stats.pending,
                    peak_buffer_bytes=stats.peak_bytes)
    if driver.stats.pending:
        print(f"esalog: {driver.stats.pending} events were still being sent at the hard stop", file=sys.stderr)
    failed = stats.dropped or driver.stats.undelivered or driver.stats.pending or driver.fatal
    return EXIT_FAILURE if failed else EXIT_OK
