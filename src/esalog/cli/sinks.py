"""The delivery and sink options of every command that delivers events (``ship``, ``listen``), and the
closing report of a delivery."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import orjson

from esalog.cli.options import add_settings, settings_from
from esalog.connectors.base import Driver
from esalog.connectors.config import SINKS, DeliveryConfig, FileConfig, SinkChoice
from esalog.connectors.es import EsConfig
from esalog.connectors.hec import HecConfig
from esalog.errors import ConfigError

ENVIRONMENT_HELP = """\
environment:
  ESALOG_HEC_TOKEN            Splunk HEC token (or --hec-token-file); never given on the command line
  ESALOG_ES_API_KEY           Elasticsearch API key (the encoded id:key), or
  ESALOG_ES_USER, ESALOG_ES_PASSWORD   basic auth, or
  ESALOG_ES_BEARER_TOKEN      bearer token
"""


def add_sink_options(p: argparse.ArgumentParser, *, default_to: str | None = None) -> None:
    """``--to`` and the option groups of delivery and of each sink."""
    if default_to is None:
        p.add_argument("--to", required=True, choices=SINKS, help="where events go")
    else:
        p.add_argument("--to", default=default_to, choices=SINKS,
                       help=f"where events go (default {default_to})")
    d = p.add_argument_group("delivery")
    add_settings(d, DeliveryConfig)
    d.add_argument("--stats", action="store_true", help="print the counters as one JSON line on stderr at the end")
    d.add_argument("-q", "--quiet", action="store_true", help="no progress and no closing summary")
    add_settings(p.add_argument_group("file sink (--to file)"), FileConfig)
    add_settings(p.add_argument_group("Splunk HEC (--to hec)"), HecConfig, prefix="hec_")
    add_settings(p.add_argument_group("Elasticsearch / OpenSearch (--to es)"), EsConfig, prefix="es_")


def sink_choice(args: argparse.Namespace) -> SinkChoice:
    """The sink settings the options describe."""
    return SinkChoice(to=args.to, file=settings_from(FileConfig, args),
                      hec=settings_from(HecConfig, args, prefix="hec_"),
                      es=settings_from(EsConfig, args, prefix="es_"))


def delivery_config(args: argparse.Namespace) -> DeliveryConfig:
    """The delivery settings (batching, retries, dead letters) of a sending command's options."""
    return settings_from(DeliveryConfig, args)


def check_delivery_paths(to: str, delivery: DeliveryConfig, doing: str) -> None:
    """ConfigError when the dead letters would share stdout with the events (*doing*: ``shipping``,
    ``listening``) or a delivery file cannot be written."""
    if to == "stdout" and delivery.dead_letter == "-":
        raise ConfigError(f"--dead-letter cannot be stdout when {doing} to stdout")
    delivery.check_paths()


def report_delivery(driver: Driver, *, seconds: float, quiet: bool, stats: bool, dead_letter: str | None,
                    command: str = "ship", **extra: Any) -> None:
    """The closing lines of a delivery on stderr: what failed and why, the counters."""
    counts = driver.stats
    if driver.fatal:
        print(f"esalog: error: {driver.fatal}", file=sys.stderr)
    if counts.undelivered:
        where = f"; see {'stdout' if dead_letter == '-' else dead_letter}" if dead_letter else ""
        print(f"esalog: {counts.undelivered} events not delivered{where}", file=sys.stderr)
        for reason in driver.dead_letter.first_reasons:
            print(f"  reason: {reason}", file=sys.stderr)
    if not quiet:
        rate = counts.acknowledged / seconds if seconds > 0 else 0.0
        print(f"{counts.summary(driver.sink.name, command)} in {seconds:.1f}s ({rate:,.0f} events/s)", file=sys.stderr)
    if stats:
        print(orjson.dumps({"sink": driver.sink.name, **counts.as_dict(), "seconds": round(seconds, 3),
                            **extra}).decode(), file=sys.stderr)
