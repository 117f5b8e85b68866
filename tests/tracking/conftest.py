"""Fixtures of the tracking tests."""

from __future__ import annotations

import pytest

from .helpers import Run


@pytest.fixture
def run() -> Run:
    """A fresh tracker with summaries on."""
    return Run()
