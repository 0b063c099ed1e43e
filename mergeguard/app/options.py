"""The common command-line options as a value (no click here: the CLI builds it)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Options:
    """The common command-line options (``-C``, ``-c``, ``-n``, ``--versions``,
    ``--base``, ``--recursive``)."""

    directory: Path = Path(".")
    config: Path | None = None
    name: str | None = None
    versions: tuple[Path, ...] = ()
    base: str | None = None
    recursive: bool = False
