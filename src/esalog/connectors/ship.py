"""``esalog ship`` (read, parse, deliver at least once) and ``esalog es-template``.

Exit codes: 0 every event delivered; 1 some event not delivered (dead-lettered or given up on), a
sink stopped (bad token...), or the run was interrupted before the input ended; 2 usage error.
"""

from __future__ import annotations

import argparse
import itertools
import os
import signal
import sys
import time
from typing import Any

import orjson

from esalog.connectors.base import DeadLetter, Driver, Sink, warn
from esalog.connectors.batch import BatchLimits
from esalog.connectors.checkpoint import Checkpoint, CheckpointWriter, Ledger
from esalog.connectors.es import EsConfig, EsSink, auth_header_from_env, index_template
from esalog.connectors.files import FileSink, StdoutSink
from esalog.connectors.hec import HecConfig, HecSink
from esalog.connectors.http import TlsOptions, read_secret_file
from esalog.connectors.retry import RetryPolicy
from esalog.connectors.sources import Reader
from esalog.errors import ConfigError

EXIT_OK, EXIT_FAILURE = 0, 1
#: End-of-input summaries are submitted in chunks of this many (bounded memory).
FLUSH_CHUNK = 1000


_EPILOG = """\
environment:
  ESALOG_HEC_TOKEN            Splunk HEC token (or --hec-token-file); never given on the command line
  ESALOG_ES_API_KEY           Elasticsearch API key (the encoded id:key), or
  ESALOG_ES_USER, ESALOG_ES_PASSWORD   basic auth, or
  ESALOG_ES_BEARER_TOKEN      bearer token

delivery: at least once. The checkpoint moves only past lines whose events the sink confirmed;
after a crash the unconfirmed window is sent again (duplicates possible in Splunk, none in
Elasticsearch thanks to deterministic _id). Exit 0 only when every event was delivered.
"""


def register(subparsers: Any) -> None:
    """Add ``ship`` and ``es-template`` to the esalog command line."""
    from esalog.cli import add_parse_options

    p = subparsers.add_parser(
        "ship",
        help="parse logs and deliver the events to stdout, a file, Splunk HEC or Elasticsearch",
        description="Read ESA logs (files, globs, stdin; --follow tails them through rotation), parse them "
        "and deliver every event at least once.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("paths", nargs="*", metavar="PATH", help="files or globs, '-' for stdin (default)")
    p.add_argument("--to", required=True, choices=("stdout", "file", "hec", "es"), help="where events go")
    g = p.add_argument_group("reading")
    g.add_argument(
        "--follow",
        action="store_true",
        help="keep reading as files grow, across ESA rotation (.current -> .@stamp.s, .c -> .s); "
        "give the files or a glob matching the live file names; stop with SIGINT/SIGTERM",
    )
    g.add_argument(
        "--poll-interval", type=float, default=0.5, metavar="S", help="--follow: seconds between looks"
    )
    g.add_argument(
        "--checkpoint",
        metavar="FILE",
        help="resume from and record here how far each file was delivered (device+inode, offset)",
    )
    g.add_argument(
        "--checkpoint-interval",
        type=float,
        default=1.0,
        metavar="S",
        help="seconds between checkpoint writes (default 1)",
    )
    d = p.add_argument_group("delivery")
    d.add_argument(
        "--dead-letter",
        metavar="FILE",
        help="append events not delivered here (NDJSON with the server's reason)",
    )
    d.add_argument(
        "--stats", action="store_true", help="print the counters as one JSON line on stderr at the end"
    )
    d.add_argument("-q", "--quiet", action="store_true", help="no closing summary")
    d.add_argument("--batch-events", type=int, metavar="N", help="events per request (default per sink)")
    d.add_argument(
        "--batch-bytes",
        type=int,
        metavar="N",
        help="bytes per request before compression (default: hec 1000000, es 5000000)",
    )
    d.add_argument("--batch-timeout", type=float, metavar="S", help="send a partial batch after S seconds")
    d.add_argument(
        "--queue-batches",
        type=int,
        default=4,
        metavar="N",
        help="batches waiting for the sender before reading pauses (back-pressure; default 4)",
    )
    d.add_argument(
        "--concurrency",
        type=int,
        default=2,
        metavar="N",
        help="HEC/ES requests in flight at once (default 2; 1 with --hec-ack; stdout and file: always 1)",
    )
    d.add_argument(
        "--retry-initial", type=float, default=0.5, metavar="S", help="first backoff (default 0.5)"
    )
    d.add_argument("--retry-max", type=float, default=30.0, metavar="S", help="backoff cap (default 30)")
    d.add_argument(
        "--retry-budget",
        type=float,
        default=300.0,
        metavar="S",
        help="give a request up after waiting this long in total (default 300; 0 = never)",
    )
    d.add_argument(
        "--timeout", type=float, default=30.0, metavar="S", help="HTTP request timeout (default 30)"
    )
    d.add_argument("--ca-bundle", metavar="FILE", help="CA certificates to verify the server with")
    d.add_argument(
        "--insecure", action="store_true", help="do not verify TLS certificates (prints a warning)"
    )
    f = p.add_argument_group("file sink (--to file)")
    f.add_argument("--out", metavar="PATH", help="NDJSON file to append to")
    f.add_argument(
        "--rotate-bytes",
        type=int,
        default=0,
        metavar="N",
        help="rename PATH to PATH.1, PATH.2 ... once it would exceed N bytes",
    )
    h = p.add_argument_group("Splunk HEC (--to hec)")
    h.add_argument(
        "--hec-url",
        action="append",
        default=[],
        metavar="URL",
        help="https://host:8088 (repeatable: round-robin per batch with health checks)",
    )
    h.add_argument("--hec-token-file", metavar="FILE", help="file holding the token (else ESALOG_HEC_TOKEN)")
    h.add_argument(
        "--hec-mode",
        choices=("event", "raw-fields"),
        default="event",
        help="event: our JSON as event (sourcetype cisco:esa:json); raw-fields: the original line "
        "(sourcetype cisco:esa:textmail, for the Cisco ESA add-on) plus our fields as indexed fields",
    )
    h.add_argument("--index", help="Splunk index")
    h.add_argument("--source", help="Splunk source")
    h.add_argument("--sourcetype", help="override the sourcetype")
    h.add_argument("--no-gzip", action="store_true", help="send HEC bodies uncompressed")
    h.add_argument(
        "--hec-ack",
        action="store_true",
        help="use indexer acknowledgement (channel per endpoint, poll, resend what is not confirmed)",
    )
    h.add_argument(
        "--hec-ack-interval", type=float, default=10.0, metavar="S", help="seconds between ack polls"
    )
    h.add_argument(
        "--hec-ack-timeout",
        type=float,
        default=300.0,
        metavar="S",
        help="resend a batch not acknowledged after S seconds (default 300)",
    )
    e = p.add_argument_group("Elasticsearch / OpenSearch (--to es)")
    e.add_argument(
        "--es-url", action="append", default=[], metavar="URL", help="http(s)://host:9200 (repeatable)"
    )
    target = e.add_mutually_exclusive_group()
    target.add_argument("--es-index", metavar="NAME", help="index to write to with 'index' (default esalog)")
    target.add_argument("--es-data-stream", metavar="NAME", help="data stream to write to with 'create'")
    e.add_argument("--es-pipeline", metavar="ID", help="ingest pipeline")
    e.add_argument(
        "--es-setup",
        action="store_true",
        help="install the index template (and create the data stream) before shipping",
    )
    e.add_argument(
        "--es-flavour",
        choices=("elasticsearch", "opensearch"),
        default="elasticsearch",
        help="template dialect for --es-setup",
    )
    e.add_argument("--es-gzip", action="store_true", help="gzip _bulk bodies")
    add_parse_options(p)
    p.set_defaults(func=cmd_ship)

    t = subparsers.add_parser(
        "es-template",
        help="print the Elasticsearch/OpenSearch index template",
        description="Index template with a mapping for every declared event field.",
    )
    target = t.add_mutually_exclusive_group()
    target.add_argument("--es-index", metavar="NAME", help="index (pattern NAME and NAME-*; default esalog)")
    target.add_argument(
        "--es-data-stream", metavar="NAME", help="data stream name (template enables data_stream)"
    )
    t.add_argument(
        "--es-flavour",
        choices=("elasticsearch", "opensearch"),
        default="elasticsearch",
        help="opensearch maps object fields as flat_object instead of flattened",
    )
    t.set_defaults(func=cmd_es_template)


def cmd_es_template(args: argparse.Namespace) -> int:
    target = args.es_data_stream or args.es_index or "esalog"
    template = index_template(target, data_stream=bool(args.es_data_stream), flavour=args.es_flavour)
    sys.stdout.write(orjson.dumps(template, option=orjson.OPT_INDENT_2).decode() + "\n")
    return EXIT_OK


# -------------------------------------------------------------------------------------------- sinks


def build_sink(args: argparse.Namespace, environ: dict[str, str] | os._Environ[str] = os.environ) -> Sink:
    """The sink the options describe; ConfigError for anything missing or contradictory."""
    tls = TlsOptions(args.ca_bundle, args.insecure)
    if args.ca_bundle and not os.path.isfile(args.ca_bundle):
        raise ConfigError(f"no such CA bundle: {args.ca_bundle!r}")
    if args.to == "stdout":
        return StdoutSink()
    if args.to == "file":
        if not args.out:
            raise ConfigError("--to file needs --out PATH")
        return FileSink(args.out, args.rotate_bytes)
    if args.to == "hec":
        if not args.hec_url:
            raise ConfigError("--to hec needs --hec-url")
        if args.hec_token_file:
            token = read_secret_file(args.hec_token_file, "HEC token")
        else:
            token = environ.get("ESALOG_HEC_TOKEN", "").strip()
        if not token:
            raise ConfigError("no HEC token: set ESALOG_HEC_TOKEN or give --hec-token-file")
        if args.hec_mode == "raw-fields" and args.no_original:
            raise ConfigError(
                "--hec-mode raw-fields sends the original line; it cannot be combined with --no-original"
            )
        return HecSink(
            HecConfig(
                urls=tuple(args.hec_url),
                token=token,
                mode=args.hec_mode,
                index=args.index,
                source=args.source,
                sourcetype=args.sourcetype,
                gzip=not args.no_gzip,
                ack=args.hec_ack,
                ack_interval=args.hec_ack_interval,
                ack_timeout=args.hec_ack_timeout,
                tls=tls,
                timeout=args.timeout,
            )
        )
    if not args.es_url:
        raise ConfigError("--to es needs --es-url")
    return EsSink(
        EsConfig(
            urls=tuple(args.es_url),
            index=args.es_index,
            data_stream=args.es_data_stream,
            pipeline=args.es_pipeline,
            auth=auth_header_from_env(environ),
            gzip=args.es_gzip,
            tls=tls,
            timeout=args.timeout,
            setup=args.es_setup,
            flavour=args.es_flavour,
        )
    )


def batch_limits(args: argparse.Namespace, sink: Sink) -> BatchLimits:
    base = sink.limits
    return BatchLimits(
        max_events=args.batch_events or base.max_events,
        max_bytes=args.batch_bytes or base.max_bytes,
        max_age=args.batch_timeout if args.batch_timeout is not None else base.max_age,
    )


# --------------------------------------------------------------------------------------------- ship


class Interrupted(Exception):
    """A signal arrived while the reader was waiting for input."""


def cmd_ship(args: argparse.Namespace) -> int:
    from esalog.cli import build_pipeline

    if args.to == "stdout" and args.dead_letter == "-":
        raise ConfigError("--dead-letter cannot be stdout when shipping to stdout")
    sink = build_sink(args)
    pipeline = build_pipeline(args)
    ledger = Ledger()
    checkpoint = Checkpoint(args.checkpoint).load() if args.checkpoint else None
    writer = (
        CheckpointWriter(checkpoint, ledger, args.checkpoint_interval, time.monotonic) if checkpoint else None
    )
    policy = RetryPolicy(initial=args.retry_initial, cap=args.retry_max, budget=args.retry_budget)
    driver = Driver(
        sink,
        limits=batch_limits(args, sink),
        policy=policy,
        dead_letter=DeadLetter(args.dead_letter, sink.name),
        ledger=ledger,
        queue_batches=max(1, args.queue_batches),
        concurrency=args.concurrency,
        on_progress=writer,
    )
    reader = Reader(
        pipeline,
        args.paths,
        checkpoint=checkpoint,
        follow=args.follow,
        poll_interval=args.poll_interval,
        idle=driver.tick,
    )
    signals = {"count": 0}

    def on_signal(signum: int, _frame: Any) -> None:
        signals["count"] += 1
        reader.stop = True
        if signals["count"] > 1:
            driver.abort()  # a second signal: stop retrying, count the rest as failed
        if reader.waiting:
            raise Interrupted(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    start = time.monotonic()
    interrupted = False
    last_origin = "start"
    try:
        sink.open()
        driver.start()
        try:
            for line in reader.lines():
                ticket = ledger.open_line(
                    line.file_id, line.key, line.path, line.next_offset, len(line.events)
                )
                for index, event in enumerate(line.events):
                    driver.submit(event, line.origin, index, ticket)
                last_origin = line.origin
                if driver.fatal:
                    break
        except Interrupted:
            pass
        interrupted = reader.stop
        # end-of-input summaries stream out in chunks: there may be as many as --max-open
        pending = pipeline.flush()
        while not driver.fatal:
            chunk = list(itertools.islice(pending, FLUSH_CHUNK))
            if not chunk:
                break
            ticket = ledger.open_line(None, "", "", 0, len(chunk))
            for index, event in enumerate(chunk):
                driver.submit(event, f"flush after {last_origin}", index, ticket)
        driver.close()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if checkpoint is not None:
            checkpoint.save(ledger, force=True)
    return _report(args, driver, time.monotonic() - start, interrupted)


def _report(args: argparse.Namespace, driver: Driver, seconds: float, interrupted: bool) -> int:
    stats = driver.stats
    if driver.fatal:
        print(f"esalog: error: {driver.fatal}", file=sys.stderr)
    if stats.undelivered:
        where = f"; see {args.dead_letter}" if args.dead_letter else ""
        print(f"esalog: {stats.undelivered} events not delivered{where}", file=sys.stderr)
        for reason in driver.dead_letter.first_reasons:
            print(f"  reason: {reason}", file=sys.stderr)
    if not args.quiet:
        rate = stats.acknowledged / seconds if seconds > 0 else 0.0
        print(f"{stats.summary(driver.sink.name)} in {seconds:.1f}s ({rate:,.0f} events/s)", file=sys.stderr)
    if args.stats:
        print(
            orjson.dumps(
                {
                    "sink": driver.sink.name,
                    **stats.as_dict(),
                    "seconds": round(seconds, 3),
                    "interrupted": interrupted,
                }
            ).decode(),
            file=sys.stderr,
        )
    if stats.undelivered or driver.fatal:
        return EXIT_FAILURE
    if interrupted and not args.follow:
        warn(
            "interrupted before the end of the input"
            + ("; run again with the same --checkpoint to resume" if args.checkpoint else "")
        )
        return EXIT_FAILURE
    return EXIT_OK
