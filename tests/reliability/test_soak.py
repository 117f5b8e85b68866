"""The short soak run (``bench/soak.py --short``): every scenario, counted by line identity, none lost."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_short_soak_loses_nothing(tmp_path: Path) -> None:
    out = tmp_path / "soak.json"
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "soak.py"), "--short", "--json", str(out)],
                            capture_output=True, timeout=900, cwd=ROOT)
    rows = json.loads(out.read_text()) if out.exists() else []
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
    assert len(rows) == 10 and all(row["ok"] and row["lost"] == 0 for row in rows), rows
