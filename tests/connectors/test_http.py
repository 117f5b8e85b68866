"""EndpointPool: round-robin, rest after a failure, health probe before reuse (injected clock and probe);
request bodies."""

from __future__ import annotations

import gzip

from esalog.connectors.batch import Item
from esalog.connectors.hec import HecConfig, HecSink
from esalog.connectors.http import GZIP_CHUNK_BYTES, Endpoint, EndpointPool, TlsOptions


def pool_of(count: int, healthy: dict[str, bool], now: list[float]) -> EndpointPool:
    endpoints = [Endpoint(f"http://127.0.0.1:{9000 + n}", {}, TlsOptions(), 1.0) for n in range(count)]
    return EndpointPool(endpoints, lambda e: healthy[e.base_url], clock=lambda: now[0], rest=5.0)


def test_round_robin_per_pick() -> None:
    """Healthy endpoints take turns."""
    now = [0.0]
    pool = pool_of(3, {}, now)
    assert [9000, 9001, 9002, 9000] == [int(pool.pick().base_url[-4:]) for _ in range(4)]


def test_failed_endpoint_rests_then_must_pass_the_probe() -> None:
    """A marked-down endpoint is skipped while it rests, probed afterwards, used again once healthy."""
    now = [100.0]
    health = {"http://127.0.0.1:9000": False, "http://127.0.0.1:9001": True}
    pool = pool_of(2, health, now)
    first = pool.endpoints[0]
    pool.mark_down(first)
    assert {9001} == {int(pool.pick().base_url[-4:]) for _ in range(4)}
    now[0] = 106.0  # rest over, but the probe fails: it rests longer (10 s)
    assert {9001} == {int(pool.pick().base_url[-4:]) for _ in range(4)}
    assert 116.0 == first.down_until
    health[first.base_url] = True
    now[0] = 117.0
    assert {9000, 9001} == {int(pool.pick().base_url[-4:]) for _ in range(4)}
    assert 0 == first.failures


def test_all_down_picks_the_one_back_first() -> None:
    """With every endpoint resting, the one whose rest ends first is tried (the retry policy paces it)."""
    now = [0.0]
    pool = pool_of(2, {"http://127.0.0.1:9000": False, "http://127.0.0.1:9001": False}, now)
    pool.mark_down(pool.endpoints[1])
    now[0] = 1.0
    pool.mark_down(pool.endpoints[0])
    assert pool.endpoints[1] is pool.pick()


def test_gzip_body_is_the_joined_items_compressed_in_chunks() -> None:
    """A gzip'd body spanning several compression chunks decompresses to exactly the items' bytes."""
    items = [Item(b'{"event":"%d"}\n' % n * (n % 7 + 1)) for n in range(3 * GZIP_CHUNK_BYTES // 40)]
    joined = b"".join(item.data for item in items)
    assert len(joined) > 2 * GZIP_CHUNK_BYTES
    for compress in (True, False):
        sink = HecSink(HecConfig(urls=("http://127.0.0.1:9",), token="t", gzip=compress))
        body = sink.encode(items)
        assert joined == (gzip.decompress(body) if compress else body)
