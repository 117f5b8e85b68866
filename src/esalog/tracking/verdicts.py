"""Retrospective verdicts tied to the messages they hit.

AMP logs a file's reputation with the MID of the message that carried it (``Response received for file
reputation query ... MID = 7781 ... sha256 = ...``; the Consolidated Event Log lists attachment hashes
per MID too) and, days later, a **retrospective verdict** for the file alone (``Retrospective verdict
received. SHA256: ..., Verdict: MALICIOUS``). The :class:`VerdictIndex` remembers, for a bounded window
of log time, which delivered messages carried which file; a retrospective verdict for one of those
files gives one ``retrospective-verdict-message`` event per affected message: MID, sender, recipients
the message was delivered to, subject, delivery time and the new verdict.

Bounded: at most ``max_messages`` delivered messages and as many file hashes are remembered, each for
``window`` seconds of log time after it was last seen; the oldest go first.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from esalog.encode import decode, encode_event
from esalog.names import MODULE
from esalog.parsers.record import Record
from esalog.tracking.store import Msg

RETRO_ACTION = "amp-retrospective-verdict"
AFFECTED_ACTION = "retrospective-verdict-message"
DATASET = "cisco_esa.amp"
MessageKey = tuple[str, int]  # (appliance, MID)


@dataclass(slots=True)
class MessageRef:
    """What is kept of a delivered message once it finished. There may be ``max_messages`` of them and
    few ever get an event, so the facts the event gives are kept as one JSON document (:func:`facts_of`)."""

    appliance: str
    mid: int
    observer: dict[str, Any]
    delivered_at: str
    t: float
    facts: bytes  # JSON object: sender and recipients (lists), subject and message_id (when known)
    hashes: set[str] | None = None
    reported: set[tuple[str, str]] | None = None  # (sha256, result) already emitted


class VerdictIndex:
    """Delivered messages by the files they carried, within a window of log time (see module doc)."""

    def __init__(self, window: float, max_messages: int) -> None:
        self.window = window
        self.max_messages = max_messages
        self.messages: OrderedDict[MessageKey, MessageRef] = OrderedDict()
        self.by_mid: dict[int, list[str]] = {}  # MID -> appliances holding it (messages under several names)
        self.by_hash: OrderedDict[str, tuple[float, list[MessageKey]]] = OrderedDict()
        # files named for a MID whose message is not known yet (the AMP log read before the mail log)
        self.pending: OrderedDict[int, tuple[float, set[str]]] = OrderedDict()
        # retrospective verdicts seen, by file: a message delivered (read) later still gets its event
        self.verdicts: OrderedDict[str, tuple[float, str, dict[str, Any]]] = OrderedDict()

    def __len__(self) -> int:
        return len(self.messages)

    # ---------------------------------------------------------------------------------- learning

    def delivered(self, msg: Msg, recipients: list[str], t: float) -> list[Record]:
        """Remember a finished message delivered to *recipients*; the events of retrospective verdicts
        already seen for the files it carried."""
        key = (msg.appliance.key, msg.id)
        hashes = set(msg.hashes or ())
        pending = self.pending.pop(msg.id, None)
        if pending is not None:
            hashes |= pending[1]
        ref = MessageRef(msg.appliance.key, msg.id, msg.appliance.observer, msg.last_ts, t,
                         facts_of(msg.senders(), recipients, msg.subject, msg.message_id), hashes or None)
        self.messages[key] = ref
        self.messages.move_to_end(key)
        holders = self.by_mid.setdefault(msg.id, [])
        if ref.appliance not in holders:
            holders.append(ref.appliance)
        out = []
        for sha in sorted(hashes):
            self._link(sha, key, t)
            seen = self.verdicts.get(sha)
            if seen is not None:
                out += self._report(ref, sha, seen[1], seen[2])
        self._bound(t)
        return out

    def file_seen(self, appliance: str, mid: int, sha256: str, t: float) -> None:
        """A line said message *mid* carried the file *sha256* (before or after the message finished)."""
        sha = sha256.lower()
        key = (appliance, mid)
        ref = self._ref(key)
        if ref is None:
            entry = self.pending.pop(mid, None)
            shas = entry[1] if entry else set()
            if len(shas) < 64:
                shas.add(sha)
            self.pending[mid] = (t, shas)
        else:
            if ref.hashes is None:
                ref.hashes = set()
            ref.hashes.add(sha)
            key = (ref.appliance, mid)
        self._link(sha, key, t)
        self._bound(t)

    def _link(self, sha: str, key: MessageKey, t: float) -> None:
        entry = self.by_hash.pop(sha, None)
        keys = entry[1] if entry else []
        if key not in keys:
            keys.append(key)
            del keys[: max(0, len(keys) - 64)]  # a file on very many messages: the latest 64
        self.by_hash[sha] = (t, keys)

    def _bound(self, now: float) -> None:
        cutoff = now - self.window
        messages = self.messages
        while messages:
            key, ref = next(iter(messages.items()))
            if len(messages) <= self.max_messages and ref.t >= cutoff:
                break
            del messages[key]
            holders = self.by_mid.get(key[1])
            if holders is not None:
                if key[0] in holders:
                    holders.remove(key[0])
                if not holders:
                    del self.by_mid[key[1]]
        for table in (self.by_hash, self.pending, self.verdicts):
            _trim(table, self.max_messages, cutoff)

    def _ref(self, key: MessageKey) -> MessageRef | None:
        ref = self.messages.get(key)
        if ref is not None:
            return ref
        holders = self.by_mid.get(key[1])  # the same MID read under another appliance name (file vs syslog)
        if holders is not None and len(holders) == 1:
            return self.messages.get((holders[0], key[1]))
        return None

    # ------------------------------------------------------------------------------------ verdicts

    def retrospective(self, record: Record, sha256: str, t: float) -> list[Record]:
        """One event per delivered message that carried *sha256*, for the verdict *record* gives; the
        verdict is remembered for messages read later."""
        sha = sha256.lower()
        verdict = {k: v for k, v in (
            ("result", record.get_str("cisco.esa.verdict.result") or "unknown"),
            ("disposition", record.get("cisco.esa.amp.disposition")),
            ("threat_name", record.get("cisco.esa.verdict.threat_name")),
            ("reputation_score", record.get("cisco.esa.amp.reputation_score")),
            ("at", record.get("cisco.esa.amp.timestamp") or record.timestamp),
        ) if v is not None}
        self.verdicts.pop(sha, None)
        self.verdicts[sha] = (t, record.timestamp, verdict)
        self._bound(t)
        entry = self.by_hash.get(sha)
        out: list[Record] = []
        for key in entry[1] if entry else ():
            ref = self._ref(key)
            if ref is not None:
                out += self._report(ref, sha, record.timestamp, verdict)
        return out

    @staticmethod
    def _report(ref: MessageRef, sha: str, when: str, verdict: dict[str, Any]) -> list[Record]:
        """The event of *ref* for this verdict, once per (file, result)."""
        if ref.reported is None:
            ref.reported = set()
        elif (sha, verdict["result"]) in ref.reported:
            return []
        ref.reported.add((sha, verdict["result"]))
        return [Record.of_document(_affected_event(ref, max(when, ref.delivered_at), sha, verdict), ref.appliance)]


def facts_of(sender: list[str], recipients: list[str], subject: str | None, message_id: str | None) -> bytes:
    """The facts of a delivered message its retrospective-verdict event gives, as JSON."""
    facts: dict[str, Any] = {"sender": sender, "recipients": recipients}
    if subject is not None:
        facts["subject"] = subject
    if message_id is not None:
        facts["message_id"] = message_id
    return bytes(memoryview(encode_event(facts)))  # a copy of its own size: orjson's results keep a 4 KB buffer


def _trim(table: OrderedDict[Any, tuple[Any, ...]], most: int, cutoff: float) -> None:
    """Drop the oldest entries (each a tuple starting with its log time) beyond *most* or before *cutoff*."""
    while table:
        first, entry = next(iter(table.items()))
        if len(table) <= most and entry[0] >= cutoff:
            return
        del table[first]


def _affected_event(ref: MessageRef, when: str, sha: str, verdict: dict[str, Any]) -> dict[str, Any]:
    malicious = verdict["result"] == "malicious"
    threat = f" ({verdict['threat_name']})" if verdict.get("threat_name") else ""
    facts = decode(ref.facts)
    recipients: list[str] = facts["recipients"]
    to = ", ".join(recipients[:3]) + (f" and {len(recipients) - 3} more" if len(recipients) > 3 else "")
    email: dict[str, Any] = {"local_id": str(ref.mid)}
    if facts["sender"]:
        email["from"] = {"address": facts["sender"]}
    if recipients:
        email["to"] = {"address": recipients}
    if "subject" in facts:
        email["subject"] = facts["subject"]
    if "message_id" in facts:
        email["message_id"] = facts["message_id"]
    return {
        "@timestamp": when,
        "message": f"MID {ref.mid} delivered {ref.delivered_at} to {to or 'its recipients'}: file {sha} "
                   f"is now {verdict['result']}{threat}",
        "event": {
            "kind": "alert" if malicious else "event",
            "module": MODULE,
            "dataset": DATASET,
            "action": AFFECTED_ACTION,
            "category": ["email", "malware"],
            "type": ["indicator"] if malicious else ["info"],
            "outcome": "success",
        },
        "observer": ref.observer,
        "cisco": {"esa": {"kind": AFFECTED_ACTION, "mid": ref.mid, "delivered_at": ref.delivered_at,
                          "retrospective": verdict}},
        "email": email,
        "file": {"hash": {"sha256": sha}},
        "related": {"hash": [sha]},
    }
