"""OpenTable: bounded by count and log-time TTL, with a second chance for records touched lately."""

from __future__ import annotations

from esalog.tracking.store import FINISHED_MEMORY, Appliance, Msg, OpenRecord, OpenTable

APPLIANCE = Appliance("test")


def _table(max_open: int = 10, ttl: float = 100.0) -> tuple[OpenTable, dict[int, OpenRecord], list[tuple[int, str]]]:
    gone: list[tuple[int, str]] = []
    table = OpenTable(max_open, ttl, lambda rec, why: gone.append((rec.id, why)))
    return table, {}, gone


def _add(table: OpenTable, home: dict[int, OpenRecord], ident: int, t: float) -> OpenRecord:
    rec = home[ident] = Msg(APPLIANCE, home, ident, t, "x")
    table.add(rec)
    return rec


def test_max_open_evicts_the_least_recently_used() -> None:
    """Over the bound the least recently used record goes, not the oldest one if it was touched."""
    table, home, gone = _table(max_open=3)
    first = _add(table, home, 1, 0.0)
    _add(table, home, 2, 1.0)
    _add(table, home, 3, 2.0)
    table.touch(first, 5.0)
    _add(table, home, 4, 6.0)
    assert gone == [(2, "max_open")]
    assert sorted(home) == [1, 3, 4] and len(table) == 3


def test_ttl_by_last_activity() -> None:
    """expire(now) drops what was not seen within the TTL, keeps what was touched recently."""
    table, home, gone = _table(ttl=100.0)
    old, busy = _add(table, home, 1, 0.0), _add(table, home, 2, 0.0)
    table.touch(busy, 150.0)
    _add(table, home, 3, 160.0)
    table.expire(200.0)
    assert gone == [(1, "ttl")]
    assert old.id not in home and sorted(home) == [2, 3]
    table.expire(260.0)
    assert gone == [(1, "ttl"), (2, "ttl")]


def test_touching_a_closed_record_is_harmless() -> None:
    """A message may still point at its closed connection: touching it does not reopen it."""
    table, home, _gone = _table()
    rec = _add(table, home, 1, 0.0)
    table.discard(rec)
    table.touch(rec, 9.0)
    assert len(table) == 0 and rec.last == 9.0


def test_discard_and_drain_leave_nothing() -> None:
    """A finished record is forgotten at once; drain empties the table and the stores."""
    table, home, _gone = _table()
    recs = [_add(table, home, i, float(i)) for i in range(5)]
    table.discard(recs[0])
    del home[0]
    assert [r.id for r in table.drain()] == [1, 2, 3, 4]
    assert not home and len(table) == 0


def test_finished_memory_is_bounded() -> None:
    """An appliance remembers at most FINISHED_MEMORY finished MIDs, the newest ones."""
    app = Appliance("esa1")
    for mid in range(FINISHED_MEMORY + 10):
        app.remember_finished(mid)
    assert len(app.finished) == FINISHED_MEMORY
    assert 0 not in app.finished and FINISHED_MEMORY + 9 in app.finished


def test_recipient_map_ignores_absurd_rid_gaps() -> None:
    """RIDs index a compact list; a RID far beyond the last one is not stored."""
    msg = Msg(Appliance("t"), {}, 1, 0.0, "x")
    msg.set_recipient(0, "a@x")
    msg.set_recipient(2, "c@x")
    msg.set_recipient(10_000_000, "z@x")
    assert [msg.recipient(r) for r in (0, 1, 2)] == ["a@x", None, "c@x"]
    assert msg.recipient_rids() == [0, 2]
