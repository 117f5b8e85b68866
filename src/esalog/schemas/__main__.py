"""``python -m esalog.schemas [--write]``: print (or rewrite) event.schema.json from fields.yaml."""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path

from esalog.schemas import schema_text


def main() -> int:
    """Print event.schema.json as fields.yaml makes it, or with ``--write`` rewrite the packaged file."""
    text = schema_text()
    if "--write" in sys.argv[1:]:
        target = Path(str(resources.files("esalog.schemas") / "event.schema.json"))
        target.write_text(text, encoding="utf-8")
        print(f"wrote {target}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
