"""Line -> record: the header stage, pack routing and rule match.

:class:`LineParser` is stateless across lines except for what the log itself declares per input
stream (header lines: time offset, AsyncOS version, serial number), kept in a :class:`Stream`.
Every call returns exactly one :class:`~esalog.parsers.record.Record`; nothing raises on bad input.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, tzinfo
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from esalog.errors import ConfigError
from esalog.names import MAIL_LOGS, MODULE
from esalog.parsers.engine import CompiledPack, Event, RuleTimeout, load_builtin_packs
from esalog.parsers.grok import body_keys
from esalog.parsers.header import HeaderParser, iso_utc
from esalog.parsers.matching import CONVERSION_ERRORS, USER_RULE_SECONDS, RuleMatch
from esalog.parsers.record import PIPELINE_ERROR, Record
from esalog.schemas import is_declared

if TYPE_CHECKING:
    from esalog.parsers.compiler import CompiledRule

#: The actions of the header lines written before ``Time offset from UTC`` at the top of a log file.
_HEADER_ACTIONS = frozenset({"log-file-begin", "log-file-version"})
#: The observer of every event before its appliance says more (hostname, serial number, version).
BASE_OBSERVER: dict[str, str] = {"vendor": "Cisco", "product": "Secure Email Gateway", "type": "mail-gateway"}
# Ids a line that no rule knows may still carry; the look-behind keeps CrtMID / CrtICID out.
_LOOSE_IDS = re.compile(r"(?<![A-Za-z])(MID|ICID|DCID|RCID) (\d+)")
_LOOSE_FIELDS = {"MID": "mid", "ICID": "icid", "DCID": "dcid", "RCID": "rcid"}


def _no_match(_body: str) -> None:
    """What a pack none of whose rules match a line says (the compiled core tried them)."""
    return None


def _derive(record: Record, rule: CompiledRule) -> None:
    """``email.local_id`` from the MID and ECS ``related.ip`` from source and destination (each once)."""
    if rule.derives_mid:
        mid = record.mid if rule.id_slots[0] >= 0 else record.get("cisco.esa.mid")
        if mid is not None:  # every rule: the MID is also ECS email.local_id
            record.set("email.local_id", str(mid))
    if rule.derives_ips:
        source_ip, destination_ip = record.get("source.ip"), record.get("destination.ip")
        if source_ip is None:
            if destination_ip is not None:
                record.set("related.ip", [destination_ip])
        elif destination_ip is None or source_ip == destination_ip:
            record.set("related.ip", [source_ip])
        else:
            record.set("related.ip", [source_ip, destination_ip])


#: Host names a stream remembers (observer objects and appliance keys); a fleet has far fewer, a sender
#: writing a new name on every line no more than this costs.
MAX_HOSTS = 4096
#: A stream's state after its header (:meth:`Stream.settled`): its time offset and the observers it changed.
Settled = tuple[int | None, dict[str | None, dict[str, Any]]]


class Stream:
    """Per-input state the log itself declares: clock settings and appliance identity."""

    __slots__ = ("_syslog", "appliances", "early", "header", "host", "log_type", "name", "native", "observers")

    def __init__(self, name: str, header: HeaderParser, host: str | None = None,
                 log_type: str | None = None) -> None:
        self.name = name
        self.header = header
        self.host = host
        self.log_type = log_type
        self.observers: OrderedDict[str | None, dict[str, Any]] = OrderedDict()  # the oldest first out
        self.appliances: dict[str | None, str] = {}
        # the header lines at the top of the input, until its time offset or its first other line: they
        # are stamped again once the offset is known (it follows them)
        self.early: list[tuple[Record, str]] | None = []
        self._syslog: dict[tuple[int | None, str | None, str | None], dict[str, Any]] = {}
        self.native: Any = None  # the compiled core's state for this input, made on first use

    def observer(self, hostname: str | None) -> dict[str, Any]:
        """The observer object of *hostname* (shared by its events; replaced, never mutated)."""
        obs = self.observers.get(hostname)
        if obs is None:
            if len(self.observers) >= MAX_HOSTS:  # a flood of host names: the first seen is forgotten
                self.appliances.pop(self.observers.popitem(last=False)[0], None)
            obs = self.observers[hostname] = self._plain_observer(hostname)
        return obs

    def appliance(self, hostname: str | None) -> str:
        """The key of the appliance that wrote a line: its hostname, else serial number, else the input."""
        key = self.appliances.get(hostname)
        if key is None:
            obs = self.observer(hostname)
            key = self.appliances[hostname] = obs.get("hostname") or obs.get("serial_number") or f"stream:{self.name}"
        return key

    def update_observer(self, hostname: str | None, **facts: Any) -> None:
        """Add *facts* (from a header line) to the observer of *hostname*; its appliance key is made again."""
        self.observers[hostname] = {**self.observer(hostname), **facts}
        self.appliances.pop(hostname, None)

    def settled(self) -> Settled | None:
        """What the later lines of this input are read with: the time offset, and the observers its header
        lines changed (each other one is made the same way again on demand). None while the input's header
        lasts: its lines wait for the time offset that follows them."""
        if self.early is not None:
            return None
        changed = {host: obs for host, obs in self.observers.items() if obs != self._plain_observer(host)}
        return self.header.utc_offset, changed

    def settle(self, settled: Settled) -> None:
        """Read the later lines as *settled* (another reader's :meth:`settled` at this point of the input) says."""
        offset, changed = settled
        if offset is not None:
            self.header.set_utc_offset(offset)
        self.observers = OrderedDict(changed)
        self.appliances = {}
        self.early = None
        self.native = None

    def _plain_observer(self, hostname: str | None) -> dict[str, Any]:
        obs = dict(BASE_OBSERVER)
        name = hostname or self.host
        if name:
            obs["hostname"] = name
        return obs

    def syslog(self, priority: int | None, hostname: str | None, appname: str | None) -> dict[str, Any]:
        """ECS ``log.syslog`` of a line (shared by the lines with the same facts: never mutated)."""
        key = (priority, hostname, appname)
        found = self._syslog.get(key)
        if found is None:
            found = {}
            if priority is not None:
                found["priority"] = priority
                found["facility"] = {"code": priority >> 3}
                found["severity"] = {"code": priority & 7}
            if hostname:
                found["hostname"] = hostname
            if appname:
                found["appname"] = appname
            if len(self._syslog) >= 256:
                self._syslog.clear()
            self._syslog[key] = found
        return found


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
    """Turns raw lines into records with the compiled packs."""

    def __init__(self, packs: dict[str, CompiledPack], *, keep_original: bool = True,
                 log_type: str | None = None, now: Callable[[], datetime] | None = None) -> None:
        self.packs = packs
        # per-line fallback: the mail log pack first, then the others
        self._fallback_order = sorted(packs.values(), key=lambda pack: pack.log_type != MAIL_LOGS)
        self.keep_original = keep_original
        self.forced_log_type = log_type
        self._clock = now or _utc_now

    @classmethod
    def from_options(cls, user_packs: Iterable[str | Path] = (), *, keep_original: bool = True,
                     log_type: str | None = None, now: Callable[[], datetime] | None = None) -> LineParser:
        """Load the built-in packs (checked against the schema) plus *user_packs*."""
        packs = load_builtin_packs(user_packs, declared=is_declared)
        if log_type is not None and log_type not in packs:
            raise ConfigError(f"--log-type: no pack for {log_type!r} (known: {', '.join(sorted(packs))})")
        return cls(packs, keep_original=keep_original, log_type=log_type, now=now)

    def new_stream(self, name: str, *, tz: tzinfo = UTC, year: int | None = None, host: str | None = None,
                   today: date | None = None) -> Stream:
        """State for one input (a file, stdin, a syslog peer)."""
        hint = self.forced_log_type or log_type_for(None, Path(name).name if name not in ("-", "") else None)
        return Stream(name, HeaderParser(tz=tz, year=year, today=today), host=host, log_type=hint)

    def parse(self, line: str, stream: Stream, *, tags: list[str] | None = None) -> Record:
        """Exactly one record for *line* (without its newline)."""
        parts = stream.header.split(line)
        if parts is None:
            return self.error_record(line, stream, "no_header",
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
                return self._unsupported(line, timestamp, level, priority, hostname, appname, body, stream,
                                         log_type, tags)
            pack = self.packs[MAIL_LOGS]
        created = None
        if timestamp is None:
            timestamp = created = self.now()
        record = self._record(stream, line, body, pack.dataset, timestamp, created, level, priority, hostname,
                              appname, tags)
        return self._read(record, pack, body, line, stream, hostname, pack.match)

    def unmatched(self, stream: Stream, line: str, body: str, pack: CompiledPack, timestamp: str,
                  level: str | None, priority: int | None, hostname: str | None, appname: str | None) -> Record:
        """The record of a line the compiled core split and routed to *pack*, none of whose rules match it:
        what :meth:`parse` makes of it (another pack may still read it)."""
        record = self._record(stream, line, body, pack.dataset, timestamp, None, level, priority, hostname,
                              appname, None)
        return self._read(record, pack, body, line, stream, hostname, _no_match)

    def _read(self, record: Record, pack: CompiledPack, body: str, line: str, stream: Stream, hostname: str | None,
              match: Callable[[str], tuple[CompiledRule, RuleMatch] | None]) -> Record:
        """*record* (the header facts of *line*) read by the first rule that matches *body*: *match* tries
        *pack*'s, then the other packs' rules keyed on its first words are tried."""
        try:
            found = match(body)
            if found is None and not self.forced_log_type:
                found = self._fallback(pack, body)
                if found is not None:
                    record.dataset = found[0].dataset
        except RuleTimeout as late:
            found = late.found
            record.add_tag("esalog_rule_timeout")
            record.set("error", {"type": "rule_timeout", "message":
                                 f"user rule {', '.join(repr(r.id) for r in late.rules)} took longer than "
                                 f"{USER_RULE_SECONDS:g}s on this line and was skipped"})
        if found is None:
            self._unmatched(record, body)
            return record
        rule, m = found
        groups = m.groups()
        try:
            values = rule.convert(groups)
        except CONVERSION_ERRORS:
            values, failed = rule.convert_each(groups)
            record.add_tag("esalog_conversion_error")
            record.set("error", {"type": "conversion",
                                 "message": f"rule {rule.id!r} could not convert {'; '.join(failed)}"})
        return self._finish(record, rule, values, line, stream, hostname)

    def matched(self, stream: Stream, line: str, body: str, dataset: str, timestamp: str, level: str | None,
                priority: int | None, hostname: str | None, appname: str | None, rule: CompiledRule,
                values: list[Any]) -> Record:
        """The record of a line the compiled core split, routed, matched and converted (*values*, as
        :meth:`CompiledRule.convert` gives them): what :meth:`parse` makes of it. The core leaves to
        :meth:`parse` the lines without a time of their own, with problems or tags, header lines and the
        lines of the input's header."""
        return self._finish(self._record(stream, line, body, dataset, timestamp, None, level, priority, hostname,
                                         appname, None), rule, values, line, stream, hostname)

    def _record(self, stream: Stream, line: str, body: str, dataset: str, timestamp: str, created: str | None,
                level: str | None, priority: int | None, hostname: str | None, appname: str | None,
                tags: list[str] | None) -> Record:
        """The record of a line's header facts, before its rule's values."""
        observer = stream.observers.get(hostname)
        appliance = stream.appliances.get(hostname)
        return Record(
            timestamp, body, dataset,
            observer if observer is not None else stream.observer(hostname),
            appliance if appliance is not None else stream.appliance(hostname),
            original=line if self.keep_original else None,
            created=created,
            level=level,
            syslog=stream.syslog(priority, hostname, appname)
            if priority is not None or appname or hostname else None,
            tags=list(tags) if tags else None,
        )

    def _finish(self, record: Record, rule: CompiledRule, values: list[Any], line: str, stream: Stream,
                hostname: str | None) -> Record:
        """*record* with its rule's values, post-processors, ids, stream updates and derived fields."""
        record.rule = rule
        record.values = values
        for func in rule.post:
            func(record)
        mid_slot, icid_slot, dcid_slot = rule.id_slots
        if mid_slot == -2 or icid_slot == -2 or dcid_slot == -2:
            record.read_ids()
        else:
            if mid_slot >= 0 and type(value := values[mid_slot]) is int:
                record.mid = value
            if icid_slot >= 0 and type(value := values[icid_slot]) is int:
                record.icid = value
            if dcid_slot >= 0 and type(value := values[dcid_slot]) is int:
                record.dcid = value
        if record.created is not None and (own := record.get_str("event.end") or record.get_str("event.start")):
            record.timestamp = own  # a CEF line without syslog header: its own end (else start) time
        if stream.early is not None:
            self._early(record, rule, line, stream)
        if rule.updates_stream:
            self._update_stream(record, line, stream, hostname)
        _derive(record, rule)
        return record

    def sourcetypes(self) -> dict[str, str]:
        """The Splunk sourcetype of each dataset (each pack names its own)."""
        return {pack.dataset: pack.sourcetype for pack in self.packs.values()}

    def now(self) -> str:
        """The parse time, for lines that carry no time of their own."""
        return iso_utc(self._clock())

    def error_record(self, line: str, stream: Stream, error_type: str, why: str,
                     tags: list[str] | None = None) -> Record:
        """The record of a line that is not an ESA line at all: the text is kept, the reason given."""
        now = self.now()
        event_obj: dict[str, Any] = {"kind": PIPELINE_ERROR, "module": MODULE,
                                     "dataset": f"{MODULE}.{stream.log_type or MAIL_LOGS}",
                                     "action": "unknown", "outcome": "unknown", "original": line, "created": now}
        event: Event = {
            "@timestamp": now,
            "message": line,
            "event": event_obj,
            "observer": stream.observer(None),
            "error": {"type": error_type, "message": why},
            "tags": [*(tags or ()), "esalog_pipeline_error"],
        }
        return Record.of_document(event, stream.appliance(None))

    # -- helpers -------------------------------------------------------------------------------

    def _fallback(self, routed: CompiledPack, body: str) -> tuple[CompiledRule, RuleMatch] | None:
        """A line its routed pack does not know, read by another pack whose rules start with its words.

        A file or subscription name may mislead (``bounces.log`` holding mail log lines, a custom
        subscription mixing types); only rules keyed on the line's first words are tried, so an
        unknown line costs a few dictionary lookups.
        """
        keys = body_keys(body)
        for pack in self._fallback_order:
            if pack is not routed:
                found = pack.match_keyed(body, keys)
                if found is not None:
                    return found
        return None

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

    def _unsupported(self, line: str, timestamp: str | None, level: str | None, priority: int | None,
                     hostname: str | None, appname: str | None, body: str, stream: Stream, log_type: str,
                     tags: list[str] | None) -> Record:
        """The record of a line of an ESA log type esalog has no pack for: kept, tagged, not parsed."""
        event_obj: dict[str, Any] = {"kind": "event", "module": MODULE, "dataset": f"{MODULE}.{log_type}",
                                     "action": "unknown", "outcome": "unknown"}
        if self.keep_original:
            event_obj["original"] = line
        if timestamp is None:
            timestamp = event_obj["created"] = self.now()
        event: Event = {
            "@timestamp": timestamp,
            "message": body,
            "event": event_obj,
            "observer": stream.observer(hostname),
            "cisco": {"esa": {"log_name": log_type}},
            "tags": [*(tags or ()), UNSUPPORTED_TAG],
        }
        if level is not None:
            event["log"] = {"level": level}
        if priority is not None or appname or hostname:
            event.setdefault("log", {})["syslog"] = stream.syslog(priority, hostname, appname)
        return Record.of_document(event, stream.appliance(hostname))

    @staticmethod
    def _unmatched(record: Record, body: str) -> None:
        record.set("event.action", "unknown")
        record.set("event.outcome", "unknown")
        record.add_tag("esalog_unmatched")
        ids: dict[str, int] = {}
        for word, number in _LOOSE_IDS.findall(body):
            ids.setdefault(_LOOSE_FIELDS[word], int(number))
        for name, number in ids.items():
            record.set(f"cisco.esa.{name}", number)
        record.mid, record.icid, record.dcid = ids.get("mid"), ids.get("icid"), ids.get("dcid")
        if "mid" in ids:
            record.set("email.local_id", str(ids["mid"]))

    @staticmethod
    def _early(record: Record, rule: CompiledRule, line: str, stream: Stream) -> None:
        """Keep the leading header lines (Begin Logfile, Version) until the time offset is known."""
        early = stream.early
        assert early is not None
        if rule.action in _HEADER_ACTIONS and stream.header.utc_offset is None and len(early) < 8:
            early.append((record, line))
        elif rule.action != "log-file-time-offset":
            stream.early = None  # the first other line: the header is over

    @staticmethod
    def _update_stream(record: Record, line: str, stream: Stream, hostname: str | None) -> None:
        """Header lines change how the later lines of this stream are read."""
        offset = record.get_int("cisco.esa.utc_offset_seconds")
        if offset is not None and not -86400 < offset < 86400:  # no zone is a day or more away from UTC
            record.add_tag("esalog_conversion_error")
            record.set("error", {"type": "conversion", "message": f"time offset from UTC of {offset} seconds is "
                                 "not within a day: not applied, the zone in use is kept"})
            offset = None
        if offset is not None and offset != stream.header.utc_offset:
            stream.header.set_utc_offset(offset)
            # the offset line itself and the header lines before it: stamped again with it
            for early, text in [*(stream.early or ()), (record, line)]:
                parts = stream.header.split(text)
                if parts is not None and parts[0][0] is not None:
                    early.timestamp = parts[0][0]
            stream.early = None
        facts = {}
        for key in ("serial_number", "version"):
            value = record.get(f"observer.{key}")
            if value is not None:
                facts[key] = value
        if facts:
            stream.update_observer(hostname, **facts)


def _utc_now() -> datetime:
    return datetime.now(UTC)
