"""The tracker's state as plain JSON data, saved with the checkpoint so correlation survives a restart.

:func:`dump_state` returns every open connection, message and delivery connection (in LRU order), the
finished-MID memory and the retrospective-verdict index; :func:`load_state` puts them back into a fresh
tracker. Versioned (:data:`STATE_VERSION`): a state of another version is refused, never half read.
Bounded like the tracker itself (``--max-open``, ``--verdict-messages``).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import fields
from typing import Any

from esalog.encode import decode, encode_event
from esalog.errors import ConfigError
from esalog.tracking.store import Appliance, Conn, DeliveryConn, Fate, Msg, OpenRecord
from esalog.tracking.tracker import Tracker
from esalog.tracking.verdicts import MessageRef

STATE_VERSION = 2
_CONN = ("last", "country", "hat_action", "interface", "listener_ip", "lost_at", "related", "sbrs",
         "sender_group", "source", "tls", "tls_failed")
_DCONN = ("last", "destination", "tls")
_MSG = ("last", "abort", "attachments", "children", "continued_in", "direction", "first", "first_ts", "icid",
        "last_ts", "lines", "message_id", "parent", "policy", "quarantine", "rcpts", "released", "sender", "size",
        "started", "subject", "verdicts")
_FATE = ("fate", "dcid", "destination_ip", "reason", "response", "status_code")


def dump_state(tracker: Tracker) -> dict[str, Any]:
    """The whole tracker state as JSON-able data."""
    conns: dict[int, int] = {}  # id(Conn) -> index in "conns"
    conn_rows: list[dict[str, Any]] = []

    def conn_index(conn: Conn) -> int:
        if id(conn) not in conns:
            conns[id(conn)] = len(conn_rows)
            conn_rows.append({"app": conn.appliance.key, "id": conn.id, **{k: getattr(conn, k) for k in _CONN}})
        return conns[id(conn)]

    order: list[list[Any]] = []
    messages: list[dict[str, Any]] = []
    dconns: list[dict[str, Any]] = []
    for rec in tracker.store.table.order:
        if isinstance(rec, Conn):
            order.append(["c", conn_index(rec)])
        elif isinstance(rec, Msg):
            row = {"app": rec.appliance.key, "id": rec.id, **{k: getattr(rec, k) for k in _MSG}}
            row["conn"] = conn_index(rec.conn) if rec.conn is not None else None
            row["fates"] = {str(rid): [getattr(f, k) for k in _FATE] for rid, f in (rec.fates or {}).items()}
            row["hashes"] = sorted(rec.hashes) if rec.hashes else None
            order.append(["m", len(messages)])
            messages.append(row)
        elif isinstance(rec, DeliveryConn):
            order.append(["d", len(dconns)])
            dconns.append({"app": rec.appliance.key, "id": rec.id, **{k: getattr(rec, k) for k in _DCONN}})
    verdicts = tracker.verdicts
    return {
        "version": STATE_VERSION,
        "appliances": {key: {"observer": app.observer, "finished": list(app.finished)}
                       for key, app in tracker.store.appliances.items()},
        "conns": conn_rows,
        "messages": messages,
        "dconns": dconns,
        "order": order,
        "clock": [tracker.last_time, tracker.next_expire],
        "verdicts": {
            "messages": [{**{f.name: getattr(ref, f.name) for f in fields(ref)},
                          "facts": decode(ref.facts),
                          "hashes": sorted(ref.hashes or ()), "reported": sorted(ref.reported or ())}
                         for ref in verdicts.messages.values()],
            "by_hash": [[sha, t, keys] for sha, (t, keys) in verdicts.by_hash.items()],
            "pending": [[mid, t, sorted(shas)] for mid, (t, shas) in verdicts.pending.items()],
            "seen": [[sha, t, when, verdict] for sha, (t, when, verdict) in verdicts.verdicts.items()],
        },
    }


def load_state(tracker: Tracker, data: Any) -> None:
    """Put a dumped state back into *tracker* (which must be fresh)."""
    if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
        found = data.get("version") if isinstance(data, dict) else type(data).__name__
        raise ConfigError(f"checkpoint tracker state is version {found!r}, not {STATE_VERSION}: "
                          "remove the checkpoint's state (or the checkpoint) to start over")
    try:
        _load(tracker, data)
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise ConfigError(f"checkpoint tracker state is not readable: {exc!r}") from exc


def _load(tracker: Tracker, data: dict[str, Any]) -> None:
    store = tracker.store
    for key, facts in data["appliances"].items():
        app = store.appliance(key)
        app.observer = facts["observer"]
        for mid in facts["finished"]:
            app.finished[int(mid)] = None

    def app_of(key: str) -> Appliance:
        return store.appliance(key)

    conns = []
    for row in data["conns"]:
        app = app_of(row["app"])
        conn = Conn(app, app.icids, int(row["id"]), float(row["last"]))
        for k in _CONN[1:]:
            setattr(conn, k, row[k])
        conns.append(conn)
    table = store.table.order
    messages, dconns = data["messages"], data["dconns"]
    for kind, index in data["order"]:
        rec: OpenRecord
        if kind == "c":
            rec = conns[index]
            rec.home[rec.id] = rec
        elif kind == "m":
            rec = _message(app_of, messages[index], conns)
            rec.home[rec.id] = rec
        else:
            row = dconns[index]
            app = app_of(row["app"])
            dconn = DeliveryConn(app, app.dcids, int(row["id"]), float(row["last"]))
            dconn.destination, dconn.tls = row["destination"], row["tls"]
            rec = dconn
            rec.home[rec.id] = rec
        table[rec] = None
    tracker.last_time, tracker.next_expire = (float(x) for x in data["clock"])
    verdicts = tracker.verdicts
    for row in data["verdicts"]["messages"]:
        ref = MessageRef(**{**row, "facts": encode_event(row["facts"]), "hashes": set(row["hashes"]) or None,
                            "reported": {tuple(pair) for pair in row["reported"]} or None})
        verdicts.messages[(ref.appliance, ref.mid)] = ref
        verdicts.by_mid.setdefault(ref.mid, []).append(ref.appliance)
    verdicts.by_hash = OrderedDict((sha, (float(t), [(k[0], int(k[1])) for k in keys]))
                                   for sha, t, keys in data["verdicts"]["by_hash"])
    verdicts.pending = OrderedDict((int(mid), (float(t), set(shas))) for mid, t, shas in data["verdicts"]["pending"])
    verdicts.verdicts = OrderedDict((sha, (float(t), when, verdict))
                                    for sha, t, when, verdict in data["verdicts"]["seen"])


def _message(app_of: Any, row: dict[str, Any], conns: list[Conn]) -> Msg:
    app = app_of(row["app"])
    msg = Msg(app, app.mids, int(row["id"]), float(row["first"]), row["first_ts"])
    for k in _MSG:
        setattr(msg, k, row[k])
    msg.conn = conns[row["conn"]] if row["conn"] is not None else None
    if row["fates"]:
        msg.fates = {}
        for rid, values in row["fates"].items():
            fate = Fate()
            for k, v in zip(_FATE, values, strict=True):
                setattr(fate, k, v)
            msg.fates[int(rid)] = fate
    msg.hashes = set(row["hashes"]) if row["hashes"] else None
    return msg
