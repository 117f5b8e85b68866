"""The converters added for the other log types: epoch, amp_disposition, size_bytes."""

from __future__ import annotations

import pytest

from esalog.parsers.converters import CONVERTERS, amp_disposition, epoch, size_bytes


@pytest.mark.parametrize(("text", "iso"), [
    ("1475825466", "2016-10-07T07:31:06.000Z"),
    ("1475832815.7", "2016-10-07T09:33:35.700Z"),
    ("0", None),
    ("-5", None),
    ("soon", None),
    ("1e400", None),
])
def test_epoch(text: str, iso: str | None) -> None:
    assert epoch(text) == iso


@pytest.mark.parametrize(("text", "word"), [
    ("MALICIOUS", "malicious"), ("CLEAN", "clean"), ("LOWRISK", "lowrisk"), ("FILE UNKNOWN", "unknown"),
    ("UNSCANNABLE", "unscannable"), ("3", "malicious"), ("1", "clean"), ("2", "clean"), ("9", None), ("", None),
    ("SOME NEW  WORDS", "some_new_words"),
])
def test_amp_disposition(text: str, word: str | None) -> None:
    assert amp_disposition(text) == word


@pytest.mark.parametrize(("text", "size"), [
    ("148G", 148 * 1024**3), ("1T", 1024**4), ("512M", 512 * 1024**2), ("4096", 4096), ("1.5K", 1536),
    ("17g", 17 * 1024**3), ("lots", None), ("", None),
])
def test_size_bytes(text: str, size: int | None) -> None:
    assert size_bytes(text) == size


def test_registered() -> None:
    assert {"epoch", "amp_disposition", "size_bytes"} <= set(CONVERTERS)
