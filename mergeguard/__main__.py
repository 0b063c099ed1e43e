"""``python -m mergeguard``."""

from __future__ import annotations

from mergeguard.app.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
