"""Header stage: split a raw line into time, level, syslog facts and the message body.

Forms read (see docs/formats.md):

* file form ``Thu Aug 14 11:04:31 2014 Info: ...`` (one or two spaces before a one-digit day);
* syslog push ``<PRI>Mmm dd hh:mm:ss [host] <subscription>: <Level>: ...``, PRI and host optional,
  any subscription name, an optional year after the time;
* RFC 5424 (``<PRI>1 2026-11-27T10:00:00Z host app - - - Info: ...``) and relays that put an ISO
  (``T`` or a space between date and time) or ``yyyy Mmm dd hh:mm:ss`` timestamp in front;
* a bare ``Info: ...`` message (as rsyslog passes it, with or without a leading space);
* Consolidated Event Log lines, which carry ``CEF:0|...`` and no level word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo

from esalog.errors import ConfigError

LEVELS = {"Critical": "critical", "Warning": "warning", "Info": "info", "Debug": "debug", "Trace": "trace"}
MONTHS = {m: i for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), start=1)}
_MON = "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec"
_DOW = "Mon|Tue|Wed|Thu|Fri|Sat|Sun"
_LVL = "Critical|Warning|Info|Debug|Trace"

# Fast path: the file form, by far the most common shape.
_FILE_FORM = re.compile(
    rf"(?:{_DOW}) (?P<ts>(?P<mon>{_MON})  ?(?P<day>\d{{1,2}}) (?P<time>\d\d:\d\d:\d\d) (?P<year>\d{{4}}))"
    rf"(?: (?P<level>{_LVL}):|:)? "
)
_PRI = re.compile(r"<(\d{1,3})> ?")
_RFC5424 = re.compile(
    r"1 (?P<iso>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?|-) (?P<host>\S+) (?P<app>\S+)"
    r" \S+ \S+ (?:-|(?:\[(?:[^\]\\]|\\.)*\])+) ?"
)
_STAMP = re.compile(
    rf"(?:(?P<iso>\d{{4}}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?) ?"
    rf"|(?:(?:{_DOW}) )?(?P<mon>{_MON}) +(?P<day>\d{{1,2}}) (?P<time>\d\d:\d\d:\d\d)"
    # (a year is not the first group of an IPv6 host: ``10:00:00 2001:db8::1 mail_logs:``)
    rf"(?: (?P<year>\d{{4}})(?![\w.-]|:[\w:]))?:? ?"
    rf"|(?P<ryear>\d{{4}}) (?P<rmon>{_MON}) +(?P<rday>\d{{1,2}}) (?P<rtime>\d\d:\d\d:\d\d) ?)"
)
_LEVEL_WORD = re.compile(rf"(?:^|(?<= ))({_LVL}): *")
#: The appliance's own file-form stamp inside a relay's syslog header (SC4S: ``... ESA: Mon Aug 10 10:04:39
#: 2020 Info: ...``): it carries the year and the appliance clock, so it wins over the relay's stamp.
_NESTED_STAMP = re.compile(
    rf"(?:^| )(?:{_DOW}) (?P<mon>{_MON})  ?(?P<day>\d{{1,2}}) (?P<time>\d\d:\d\d:\d\d) (?P<year>\d{{4}}) ?$")
_APP_PID = re.compile(r"\[\d+\]$")


@dataclass(slots=True)
class Header:
    """What the header stage read from one line."""

    timestamp: str | None  # UTC ISO 8601 with milliseconds; None when the line carries no time
    level: str | None  # lower-case level word; None for CEF lines
    body: str
    priority: int | None = None
    hostname: str | None = None
    appname: str | None = None


#: What :meth:`HeaderParser.split` reads besides the body: (timestamp, level, priority, hostname, appname).
HeaderFacts = tuple[str | None, str | None, int | None, str | None, str | None]


def parse_tz(text: str) -> tzinfo:
    """``UTC``, an IANA name (``Europe/Paris``) or a fixed offset (``+02:00``, ``-0600``)."""
    m = re.fullmatch(r"([+-])(\d\d):?(\d\d)", text.strip())
    if m:
        sign = 1 if m.group(1) == "+" else -1
        if int(m.group(3)) > 59:  # +05:61 is no offset (timedelta would make it +06:01)
            raise ValueError(f"offset {text!r}: minutes above 59")
        return timezone(sign * timedelta(hours=int(m.group(2)), minutes=int(m.group(3))))
    if text.strip().upper() in ("UTC", "Z", "GMT"):
        return UTC
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError  # (start-up: most runs name no zone)

    try:
        return ZoneInfo(text.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"unknown time zone {text!r}: use an IANA name (Europe/Paris) or +HH:MM") from None


def iso_utc(moment: datetime) -> str:
    """``2014-08-14T17:04:31.000Z`` (always a four-digit year: ``strftime("%Y")`` writes ``20`` for 0020).

    A stamp that the zone pushes out of the calendar (year 1 or 9999 at the edge) is stamped now, like
    an impossible date.
    """
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:
        moment = datetime.now(UTC)
    return f"{moment.year:04d}-" + moment.strftime("%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class HeaderParser:
    """Reads headers for one input stream; holds that stream's clock settings.

    ``utc_offset`` (seconds, from the ``Time offset from UTC`` header line) wins over ``tz`` once set.
    Year-less syslog stamps take ``year`` or, by default, this year, with a rollover rule: a month
    more than six months after ``today``'s month belongs to the previous year (December read in
    January).
    """

    __slots__ = ("_cache", "_last_iso", "_last_key", "_prefix", "_prefix_facts", "_today", "tz", "utc_offset",
                 "year")

    def __init__(self, tz: tzinfo = UTC, year: int | None = None, today: date | None = None) -> None:
        self.tz = tz
        self.year = year
        self._today = today or datetime.now(UTC).date()
        self.utc_offset: int | None = None
        self._cache: dict[str, str] = {}
        self._last_key = ""
        self._last_iso = ""
        # The header text (up to the level word) of the last line whose time came from the stamp cache,
        # and what it said: a line that starts with the same text has the same header (one second of a
        # busy log shares it), so only the body is cut off.
        self._prefix = ""
        self._prefix_facts: HeaderFacts = (None, None, None, None, None)

    def set_utc_offset(self, seconds: int) -> None:
        """Apply ``Time offset from UTC: N seconds`` to the later lines of this stream."""
        if seconds != self.utc_offset:
            self.utc_offset = seconds
            self._cache.clear()
            self._last_key = ""
            self._prefix = ""

    def parse(self, line: str) -> Header | None:
        """Split *line*; ``None`` when it carries no ESA header at all."""
        parts = self.split(line)
        if parts is None:
            return None
        (timestamp, level, priority, hostname, appname), body = parts
        return Header(timestamp, level, body, priority, hostname, appname)

    def split(self, line: str) -> tuple[HeaderFacts, str] | None:
        """The header facts and the body of *line* (the hot path's :meth:`parse`); None without header."""
        prefix = self._prefix
        if prefix and line.startswith(prefix):
            return self._prefix_facts, line[len(prefix):].strip()
        m = _FILE_FORM.match(line)
        if m is not None:
            key = m.group("ts")
            if key == self._last_key:
                iso = self._last_iso
            else:
                iso = self._stamp(key, m.group("year"), m.group("mon"), m.group("day"), m.group("time"))
            level = m.group("level")
            body = line[m.end():].strip()
            if level is None:
                if not body.startswith("CEF:"):
                    return None
                return (iso, None, None, None, None), body
            facts: HeaderFacts = (iso, LEVELS[level], None, None, None)
            if key == self._last_key:  # a valid stamp, now cached: later lines of this second reuse it
                self._prefix = line[:m.end()]
                self._prefix_facts = facts
            return facts, body
        return self._parse_general(line)

    def _parse_general(self, line: str) -> tuple[HeaderFacts, str] | None:
        pos = 0
        priority = None
        hostname = appname = None
        iso: str | None = None
        m = _PRI.match(line)
        if m:
            priority = int(m.group(1))
            pos = m.end()
        stamp_key = None
        m5 = _RFC5424.match(line, pos)
        if m5:
            if m5.group("iso") != "-":
                iso = self._iso_stamp(m5.group("iso"))
            hostname = None if m5.group("host") == "-" else m5.group("host")
            appname = None if m5.group("app") == "-" else m5.group("app")
            pos = m5.end()
            rest = line[pos:]
        else:
            ms = _STAMP.match(line, pos)
            if ms:
                if ms.group("iso"):
                    iso = self._iso_stamp(ms.group("iso"))
                elif ms.group("mon"):
                    year = ms.group("year")
                    stamp_key = line[ms.start("mon"):ms.end("time")] + (year or "")
                    iso = self._stamp(stamp_key, year, ms.group("mon"), ms.group("day"), ms.group("time"))
                else:
                    iso = self._stamp(line[ms.start():ms.end()].strip(), ms.group("ryear"),
                                      ms.group("rmon"), ms.group("rday"), ms.group("rtime"))
                pos = ms.end()
            rest = line[pos:]
        lm = _LEVEL_WORD.search(rest)
        cef = rest.find("CEF:")
        if lm is not None and (cef < 0 or lm.start() < cef):
            pre, level, body = rest[: lm.start()], LEVELS[lm.group(1)], rest[lm.end():]
        elif cef >= 0:
            pre, level, body = rest[:cef], None, rest[cef:]
        else:
            return None
        nested = _NESTED_STAMP.search(pre) if pre else None
        if nested is not None:
            key = f"{nested['mon']} {nested['day']} {nested['time']} {nested['year']}"
            iso = self._stamp(key, nested["year"], nested["mon"], nested["day"], nested["time"])
            pre, stamp_key = pre[: nested.start()], None
        tokens = pre.split()
        if tokens and not m5:
            app = tokens[-1]
            if app.endswith(":"):
                app = app[:-1]
            elif ":" in app:
                app = app.split(":", 1)[0]
            elif len(tokens) > 1 or iso is None:
                return None  # words before the level that are not "host app:" -> not an ESA line
            else:
                app = ""
            appname = _APP_PID.sub("", app) or None
            if len(tokens) > 1:
                hostname = tokens[0]
            elif not appname:
                hostname = tokens[0]
        elif tokens and m5 and appname is None:
            appname = tokens[-1].rstrip(":")
        facts: HeaderFacts = (iso, level, priority, hostname, appname)
        if level is not None and stamp_key is not None and stamp_key == self._last_key:
            self._prefix = line[: len(line) - len(body)]
            self._prefix_facts = facts
        return facts, body.strip()

    def _stamp(self, key: str, year: str | None, mon: str, day: str, hms: str) -> str:
        """Local ESA time -> UTC ISO string, cached per distinct stamp text."""
        cached = self._cache.get(key)
        if cached is None:
            month = MONTHS[mon]
            if year is not None:
                yr = int(year)
            elif self.year is not None:
                yr = self.year
            else:
                yr = self._today.year - (1 if month > self._today.month + 6 else 0)
            hh, mm, ss = hms.split(":")
            try:
                naive = datetime(yr, month, int(day), int(hh), int(mm), int(ss))
            except ValueError:  # Feb 30, 25:00 ... keep the line, stamp it at ingest
                return iso_utc(datetime.now(UTC))
            if self.utc_offset is not None:
                moment = naive.replace(tzinfo=timezone(timedelta(seconds=self.utc_offset)))
            else:
                moment = naive.replace(tzinfo=self.tz)
            cached = iso_utc(moment)
            if len(self._cache) > 4096:
                self._cache.clear()
            self._cache[key] = cached
        self._last_key = key
        self._last_iso = cached
        return cached

    def _iso_stamp(self, text: str) -> str:
        """An ISO 8601 stamp from a relay or RFC 5424; a stamp without zone is in the stream's zone."""
        try:
            moment = datetime.fromisoformat(text.replace(",", ".").replace("Z", "+00:00"))
        except ValueError:
            return iso_utc(datetime.now(UTC))
        if moment.tzinfo is None:
            if self.utc_offset is not None:
                moment = moment.replace(tzinfo=timezone(timedelta(seconds=self.utc_offset)))
            else:
                moment = moment.replace(tzinfo=self.tz)
        return iso_utc(moment)
