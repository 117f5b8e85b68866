"""Line -> event: the header stage, pack routing and rule match, building one ECS-like event.

:class:`LineParser` is stateless across lines except for what the log itself declares per input
stream (header lines: time offset, AsyncOS version, serial number), kept in a :class:`Stream`.
Every call returns exactly one event; nothing raises on bad input.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, tzinfo
from functools import lru_cache
from pathlib import Path
from typing import Any

from esalog.parsers.engine import CompiledPack, Event, load_builtin_packs
from esalog.parsers.header import HeaderFacts, HeaderParser, iso_utc
from esalog.schemas import is_declared

MODULE = "cisco_esa"
MAIL_LOGS = "mail_logs"
# Ids a line that no rule knows may still carry; the look-behind keeps CrtMID / CrtICID out.
_LOOSE_IDS = re.compile(r"(?<![A-Za-z])(MID|ICID|DCID|RCID) (\d+)")
_LOOSE_FIELDS = {"MID": "mid", "ICID": "icid", "DCID": "dcid", "RCID": "rcid"}


def _related_ips(event: Event) -> None:
    """ECS ``related.ip`` from ``source.ip`` and ``destination.ip`` (each once)."""
    ips = [side["ip"] for side in (event.get("source"), event.get("destination")) if side and "ip" in side]
    if ips:
        event["related"] = {"ip": ips if len(ips) == 1 or ips[0] != ips[1] else ips[:1]}


class Stream:
    """Per-input state the log itself declares: clock settings and appliance identity."""

    __slots__ = ("header", "host", "log_type", "name", "observers")

    def __init__(self, name: str, header: HeaderParser, host: str | None = None,
                 log_type: str | None = None) -> None:
        self.name = name
        self.header = header
        self.host = host
        self.log_type = log_type
        self.observers: dict[str | None, dict[str, Any]] = {}

    def observer(self, hostname: str | None) -> dict[str, Any]:
        """The observer object of *hostname* (shared by its events; replaced, never mutated)."""
        obs = self.observers.get(hostname)
        if obs is None:
            obs = {"vendor": "Cisco", "product": "Secure Email Gateway", "type": "mail-gateway"}
            name = hostname or self.host
            if name:
                obs["hostname"] = name
            self.observers[hostname] = obs
        return obs

    def update_observer(self, hostname: str | None, **facts: Any) -> None:
        self.observers[hostname] = {**self.observer(hostname), **facts}


#: ESA log types esalog has no pack for. Their lines (e.g. in a mixed syslog stream) are kept as
#: events of dataset ``cisco_esa.<name>``, tagged, never parsed as mail logs nor errors.
OTHER_LOG_TYPES = frozenset({
    "amp", "antispam", "antivirus", "authentication", "status", "gui_logs", "system", "error_logs",
    "content_scanner", "updater_logs", "reportd_logs", "reportqueryd_logs", "sntpd_logs", "smartlicense",
    "euq_logs", "euqgui_logs", "ftpd_logs", "cli_logs", "config_history", "domain_debug", "injection_debug",
    "safelist", "slbld_logs", "upgrade_logs", "service_logs", "audit_logs", "api_logs", "ldap_debug",
    "dlp_logs", "url_rep_client", "sdr_client", "trackerd_logs", "haystackd_logs", "graymail", "ipr_client",
})
UNSUPPORTED_TAG = "esalog_unsupported_log_type"


@lru_cache(maxsize=1024)  # called per syslog line with one of a few subscription names
def log_type_for(appname: str | None, file_name: str | None = None) -> str | None:
    """Pick a log type from the syslog subscription name or the file name; None when they say nothing.

    Returns a pack's log type (mail_logs, bounce_logs, consolidated_event) or, for another ESA log
    type, its subscription name (a member of :data:`OTHER_LOG_TYPES`).
    """
    for text, is_file in ((appname, False), (file_name, True)):
        if not text:
            continue
        low = text.lower()
        name = low.split(".@")[0].split(".")[0] if is_file else low
        if name == "system_logs":  # the appliance's default name of its System Logs subscription
            name = "system"
        if name in OTHER_LOG_TYPES:
            return name
        if "bounce" in low:
            return "bounce_logs"
        if "consolidated" in low or low.startswith("cef"):
            return "consolidated_event"
        if "mail" in low:
            return MAIL_LOGS
    return None


class LineParser:
    """Turns raw lines into events with the compiled packs."""

    def __init__(self, packs: dict[str, CompiledPack], *, keep_original: bool = True,
                 log_type: str | None = None) -> None:
        self.packs = packs
        self.keep_original = keep_original
        self.forced_log_type = log_type

    @classmethod
    def from_options(cls, user_packs: Iterable[str | Path] = (), *, keep_original: bool = True,
                     log_type: str | None = None) -> LineParser:
        """Load the built-in packs (checked against the schema) plus *user_packs*."""
        return cls(load_builtin_packs(user_packs, declared=is_declared),
                   keep_original=keep_original, log_type=log_type)

    def new_stream(self, name: str, *, tz: tzinfo = UTC, year: int | None = None, host: str | None = None,
                   today: date | None = None) -> Stream:
        """State for one input (a file, stdin, a syslog peer)."""
        hint = self.forced_log_type or log_type_for(None, Path(name).name if name not in ("-", "") else None)
        return Stream(name, HeaderParser(tz=tz, year=year, today=today), host=host, log_type=hint)

    def parse(self, line: str, stream: Stream, *, tags: list[str] | None = None) -> Event:
        """Exactly one event for *line* (without its newline)."""
        parts = stream.header.split(line)
        if parts is None:
            return self.error_event(line, stream, "no_header",
                                    "not an ESA log line: no '<Level>: ' header and no CEF payload", tags)
        facts, body = parts
        timestamp, level, priority, hostname, appname = facts
        if appname is None and stream.log_type is not None and not self.forced_log_type \
                and not body.startswith("CEF:"):
            log_type = stream.log_type  # what _route says for a line without subscription name
        else:
            log_type = self._route(body, appname, stream)
        pack = self.packs.get(log_type)
        if pack is None:
            if log_type in OTHER_LOG_TYPES:
                return self._unsupported(line, facts, body, stream, log_type, tags)
            pack = self.packs[MAIL_LOGS]
        event_obj: dict[str, Any] = {"kind": "event", "module": MODULE, "dataset": pack.dataset}
        if self.keep_original:
            event_obj["original"] = line
        observer = stream.observers.get(hostname)
        event: Event = {
            "@timestamp": timestamp or self._now(event_obj),
            "message": body,
            "event": event_obj,
            "observer": observer if observer is not None else stream.observer(hostname),
        }
        if level is not None:
            event["log"] = {"level": level}
        if priority is not None or appname or hostname:
            self._syslog_fields(event, priority, hostname, appname)
        if tags:
            event["tags"] = list(tags)
        found = pack.match(body)
        if found is None:
            self._unmatched(event, event_obj, body)
            return event
        rule, m = found
        esa: dict[str, Any] = {"kind": rule.id}
        event["cisco"] = {"esa": esa}
        if rule.updates_stream:
            event["observer"] = dict(event["observer"])  # shared object: never mutate in place
            rule.apply(m, event, event_obj)
            self._update_stream(event, stream, hostname)
        else:
            rule.apply(m, event, event_obj)
        mid = esa.get("mid")
        if mid is not None:  # every rule: the MID is also ECS email.local_id
            email = event.get("email")
            if email is None:
                event["email"] = {"local_id": str(mid)}
            else:
                email["local_id"] = str(mid)
        if "source" in event or "destination" in event:
            _related_ips(event)
        return event

    def error_event(self, line: str, stream: Stream, error_type: str, why: str,
                    tags: list[str] | None = None) -> Event:
        """The event of a line that is not an ESA line at all: the text is kept, the reason given."""
        event_obj: dict[str, Any] = {"kind": "pipeline_error", "module": MODULE,
                                     "dataset": f"{MODULE}.{stream.log_type or MAIL_LOGS}",
                                     "action": "unknown", "outcome": "unknown", "original": line}
        event: Event = {
            "@timestamp": self._now(event_obj),
            "message": line,
            "event": event_obj,
            "observer": stream.observer(None),
            "error": {"type": error_type, "message": why},
            "tags": [*(tags or ()), "esalog_pipeline_error"],
        }
        return event

    # -- helpers -------------------------------------------------------------------------------

    def _route(self, body: str, appname: str | None, stream: Stream) -> str:
        """The log type of a line: forced, CEF payload, subscription name, file name, then content."""
        if self.forced_log_type:
            return self.forced_log_type
        if body.startswith("CEF:"):
            return "consolidated_event"
        by_app = log_type_for(appname) if appname else None
        if by_app:
            return by_app
        if stream.log_type:
            return stream.log_type
        if body.startswith(("Bounced: ", "Delayed: ")) and " From:" in body:
            return "bounce_logs" if "bounce_logs" in self.packs else MAIL_LOGS
        return MAIL_LOGS

    def _unsupported(self, line: str, facts: HeaderFacts, body: str, stream: Stream, log_type: str,
                     tags: list[str] | None) -> Event:
        """The event of a line of an ESA log type esalog has no pack for: kept, tagged, not parsed."""
        timestamp, level, priority, hostname, appname = facts
        event_obj: dict[str, Any] = {"kind": "event", "module": MODULE, "dataset": f"{MODULE}.{log_type}",
                                     "action": "unknown", "outcome": "unknown"}
        if self.keep_original:
            event_obj["original"] = line
        event: Event = {
            "@timestamp": timestamp or self._now(event_obj),
            "message": body,
            "event": event_obj,
            "observer": stream.observer(hostname),
            "cisco": {"esa": {"log_name": log_type}},
            "tags": [*(tags or ()), UNSUPPORTED_TAG],
        }
        if level is not None:
            event["log"] = {"level": level}
        if priority is not None or appname or hostname:
            self._syslog_fields(event, priority, hostname, appname)
        return event

    @staticmethod
    def _now(event_obj: dict[str, Any]) -> str:
        now = iso_utc(datetime.now(UTC))
        event_obj["created"] = now
        return now

    @staticmethod
    def _syslog_fields(event: Event, priority: int | None, hostname: str | None, appname: str | None) -> None:
        syslog: dict[str, Any] = {}
        if priority is not None:
            syslog["priority"] = priority
            syslog["facility"] = {"code": priority >> 3}
            syslog["severity"] = {"code": priority & 7}
        if hostname:
            syslog["hostname"] = hostname
        if appname:
            syslog["appname"] = appname
        log = event.get("log")
        if log is None:
            event["log"] = {"syslog": syslog}
        else:
            log["syslog"] = syslog

    @staticmethod
    def _unmatched(event: Event, event_obj: dict[str, Any], body: str) -> None:
        event_obj["action"] = "unknown"
        event_obj["outcome"] = "unknown"
        tags = event.get("tags")
        if tags is None:
            event["tags"] = ["esalog_unmatched"]
        else:
            tags.append("esalog_unmatched")
        esa: dict[str, Any] = {}
        for word, number in _LOOSE_IDS.findall(body):
            esa.setdefault(_LOOSE_FIELDS[word], int(number))
        if esa:
            event["cisco"] = {"esa": esa}
            if "mid" in esa:
                event["email"] = {"local_id": str(esa["mid"])}

    @staticmethod
    def _update_stream(event: Event, stream: Stream, hostname: str | None) -> None:
        """Header lines change how the later lines of this stream are read."""
        esa = event.get("cisco", {}).get("esa", {})
        offset = esa.get("utc_offset_seconds")
        if offset is not None:
            stream.header.set_utc_offset(offset)
        observer = event.get("observer", {})
        facts = {}
        for key in ("serial_number", "version"):
            if key in observer:
                facts[key] = observer[key]
        if facts:
            stream.update_observer(hostname, **facts)
