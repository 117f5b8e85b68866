"""Delivery settings shared by every sink (batching, queue, retries, dead letters, TLS, timeouts) and the
settings of each sink. The single source of their defaults and checks; the CLI builds options from them."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from esalog.connectors.base import CONCURRENCY, QUEUE_BATCHES, DeadLetter, Driver, Sink
from esalog.connectors.batch import BatchLimits
from esalog.connectors.es import EsConfig, EsSink
from esalog.connectors.files import FileSink, StdoutSink
from esalog.connectors.hec import HecConfig, HecSink
from esalog.connectors.http import TlsOptions
from esalog.connectors.retry import RetryPolicy
from esalog.errors import ConfigError
from esalog.settings import at_least, check_writable, integer, number, positive, setting, validate
from esalog.sources.checkpoint import Ledger

SINKS = ("stdout", "file", "hec", "es")


@dataclass(frozen=True)
class DeliveryConfig:
    """How events travel to any sink."""

    dead_letter: str | None = setting(
        None, flag="--dead-letter", metavar="FILE",
        help="append events not delivered here (NDJSON with the server's reason and the input line, also "
             "with --no-original; '-' for stdout)")
    batch_events: int | None = setting(None, flag="--batch-events", metavar="N", parse=integer, check=positive,
                                       help="events per request (default per sink)")
    batch_bytes: int | None = setting(
        None, flag="--batch-bytes", metavar="N", parse=integer, check=positive,
        help="bytes per request before compression (default: hec 1000000, es 5000000)")
    batch_timeout: float | None = setting(None, flag="--batch-timeout", metavar="S", parse=number,
                                          check=at_least(0), help="send a partial batch after S seconds")
    queue_batches: int = setting(
        QUEUE_BATCHES, flag="--queue-batches", metavar="N", parse=integer, check=positive,
        help=f"batches waiting for the sender before reading pauses (back-pressure; default {QUEUE_BATCHES})")
    concurrency: int = setting(
        CONCURRENCY, flag="--concurrency", metavar="N", parse=integer, check=positive,
        help=f"HEC/ES requests in flight at once (default {CONCURRENCY}; 1 with --hec-ack; stdout and file: "
             "always 1)")
    retry_initial: float = setting(RetryPolicy.initial, flag="--retry-initial", metavar="S", parse=number,
                                   check=positive, help=f"first backoff (default {RetryPolicy.initial:g})")
    retry_max: float = setting(RetryPolicy.cap, flag="--retry-max", metavar="S", parse=number, check=positive,
                               help=f"backoff cap (default {RetryPolicy.cap:g})")
    retry_budget: float = setting(
        RetryPolicy.budget, flag="--retry-budget", metavar="S", parse=number, check=at_least(0),
        help=f"give a request up after waiting this long in total (default {RetryPolicy.budget:g}; 0 = never)")
    timeout: float | None = setting(None, flag="--timeout", metavar="S", parse=number, check=positive,
                                    help="HTTP request timeout (default: hec 30, es 60)")
    report_interval: float = setting(
        5.0, flag="--report-interval", metavar="S", parse=number, check=positive,
        help="while a sink is retrying, print what failed, the attempt and the time left of --retry-budget "
             "at once, then at most every S seconds, and while events wait for their acknowledgement how many "
             "(default 5)")
    ca_bundle: str | None = setting(None, flag="--ca-bundle", metavar="FILE",
                                    help="CA certificates to verify the server with")
    insecure: bool = setting(False, flag="--insecure", help="do not verify TLS certificates (prints a warning)")

    def __post_init__(self) -> None:
        validate(self)
        if self.ca_bundle is not None and not os.path.isfile(self.ca_bundle):
            what = "not a regular file" if os.path.exists(self.ca_bundle) else "no such file"
            raise ConfigError(f"--ca-bundle {self.ca_bundle!r}: {what}")

    @property
    def policy(self) -> RetryPolicy:
        """The retry policy of each request."""
        return RetryPolicy(initial=self.retry_initial, cap=self.retry_max, budget=self.retry_budget)

    @property
    def tls(self) -> TlsOptions:
        return TlsOptions(self.ca_bundle, self.insecure)

    def limits(self, base: BatchLimits) -> BatchLimits:
        """The sink's own batch limits with the ones given here instead."""
        return BatchLimits(
            max_events=self.batch_events or base.max_events,
            max_bytes=self.batch_bytes or base.max_bytes,
            max_age=self.batch_timeout if self.batch_timeout is not None else base.max_age,
        )

    def check_paths(self) -> None:
        """ConfigError unless the dead-letter file can be written (before any work)."""
        if self.dead_letter != "-":
            check_writable("--dead-letter", self.dead_letter)


@dataclass(frozen=True)
class FileConfig:
    """The NDJSON file sink."""

    out: str | None = setting(None, flag="--out", metavar="PATH", help="NDJSON file to append to")
    rotate_bytes: int = setting(
        0, flag="--rotate-bytes", metavar="N", parse=integer, check=at_least(0),
        help="start a new file once PATH would exceed N bytes; older files are PATH.1 (newest), PATH.2 ...")

    def __post_init__(self) -> None:
        validate(self)


@dataclass(frozen=True)
class SinkChoice:
    """Which sink, and the settings of each."""

    to: str = setting("stdout", flag="--to", choices=SINKS, help="where events go")
    file: FileConfig = field(default_factory=FileConfig)
    hec: HecConfig = field(default_factory=HecConfig)
    es: EsConfig = field(default_factory=EsConfig)

    def __post_init__(self) -> None:
        validate(self)


def build_sink(choice: SinkChoice, delivery: DeliveryConfig, environ: Mapping[str, str] | None = None,
               *, keep_original: bool = True, sourcetypes: Mapping[str, str] | None = None) -> Sink:
    """The sink *choice* describes; ConfigError for anything missing or contradictory."""
    environ = os.environ if environ is None else environ
    if choice.to == "stdout":
        return StdoutSink()
    if choice.to == "file":
        if not choice.file.out:
            raise ConfigError("--to file needs --out PATH")
        out = choice.file.out
        if os.path.exists(out) and not os.path.isdir(out) and not os.path.isfile(out):
            raise ConfigError(f"--out {out!r}: not a regular file (the file sink syncs it to disk and rotates it "
                              "by renaming; for a pipe or a device use --to stdout)")
        check_writable("--out", out)
        return FileSink(out, choice.file.rotate_bytes)
    if choice.to == "hec":
        hec = replace(choice.hec.resolved(environ, delivery.tls, delivery.timeout), sourcetypes=sourcetypes)
        if hec.mode == "raw-fields" and not keep_original:
            raise ConfigError(
                "--hec-mode raw-fields sends the original line; it cannot be combined with --no-original")
        return HecSink(hec)
    return EsSink(choice.es.resolved(environ, delivery.tls, delivery.timeout))


def build_driver(sink: Sink, delivery: DeliveryConfig, ledger: Ledger | None = None,
                 on_progress: Callable[[], None] | None = None) -> Driver:
    """The delivery driver (batching, retries, dead letters) for *sink*."""
    return Driver(
        sink,
        limits=delivery.limits(sink.limits),
        policy=delivery.policy,
        dead_letter=DeadLetter(delivery.dead_letter, sink.name),
        ledger=ledger,
        queue_batches=delivery.queue_batches,
        concurrency=delivery.concurrency,
        on_progress=on_progress,
    )
