"""``python -m mergeguard``."""

from __future__ import annotations

from mergeguard.app.cli import run

if __name__ == "__main__":
    run()
