"""The common command-line options as a value (no argparse here: the CLI builds it)."""

from __future__ import annotations

from pathlib import Path

from mergeguard.model import frozen


@frozen
class Options:
    """The common command-line options (``-C``, ``-c``, ``-n``, ``--versions``,
    ``--base``, ``--recursive``)."""

    directory: Path = Path(".")
    config: Path | None = None
    name: str | None = None
    versions: tuple[Path, ...] = ()
    base: str | None = None
    recursive: bool = False
