"""Every built-in pack reads the same with the pure-Python YAML loader as with libyaml.

The Splunk app runs esalog with the pure-Python PyYAML in its lib/ (no libyaml), and the two differ
on some plain flow scalars (a '?' inside a value of a flow mapping, for instance).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from esalog.parsers.engine import builtin_pack_paths


@pytest.mark.parametrize("path", builtin_pack_paths(), ids=lambda p: p.name)
def test_pure_and_c_loaders_agree(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    pure = yaml.safe_load(text)  # the pure-Python SafeLoader
    if not hasattr(yaml, "CSafeLoader"):
        pytest.skip("libyaml not available")
    assert pure == yaml.load(text, Loader=yaml.CSafeLoader)  # the safe loader pack.py prefers
