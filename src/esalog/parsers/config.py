"""The parser's settings: packs, clock (zone, year, host) and what to keep of the raw line."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from esalog.errors import ConfigError
from esalog.parsers.header import parse_tz
from esalog.settings import in_range, integer, not_empty, setting, validate


def _zone_problem(text: str) -> str | None:
    """What is wrong with a ``--tz`` value (an offset out of range included), or None."""
    try:
        parse_tz(text)
    except ConfigError as exc:
        return str(exc)
    except ValueError:  # +25:00: a fixed offset must stay within a day
        return f"offset {text!r} out of range: use -23:59 to +23:59, or an IANA name (Europe/Paris)"
    return None


@dataclass(frozen=True)
class ParseConfig:
    """How lines are read: the packs, the clock of zone-less and year-less stamps, the raw line."""

    packs: tuple[str, ...] = setting(
        (), flag="--pack", metavar="FILE", repeat=True,
        help="extra parser pack (YAML); its rules take precedence, a rule with a built-in id replaces it "
             "(repeatable)")
    tz: str = setting(
        "UTC", flag="--tz", metavar="ZONE", check=_zone_problem,
        help="zone of time stamps when no 'Time offset from UTC' header was seen: IANA name or +HH:MM "
             "(default UTC)")
    year: int | None = setting(
        None, flag="--year", metavar="YYYY", parse=integer, check=in_range(1970, 9999, "a year"),
        help="year of syslog time stamps that carry none (default: this year; a month more than six months "
             "ahead of today's is last year's)")
    host: str | None = setting(
        None, flag="--host", metavar="NAME", check=not_empty,
        help="observer.hostname when the line carries no host")
    keep_original: bool = setting(True, flag="--no-original", help="do not keep the raw line in event.original")
    log_type: str | None = setting(
        None, flag="--log-type", metavar="TYPE",
        help="force the pack (a log type such as mail_logs, bounce_logs, consolidated_event) instead of picking "
             "it from the subscription or file name")
    #: Examples and tests read as if today were this date (year-less stamps); None = today.
    today: date | None = None
    #: The clock of parse-time stamps (lines without a time of their own); None = the system clock.
    now: Callable[[], datetime] | None = None

    def __post_init__(self) -> None:
        validate(self)

    @property
    def zone(self) -> tzinfo:
        """``tz`` as a time zone."""
        return parse_tz(self.tz)
