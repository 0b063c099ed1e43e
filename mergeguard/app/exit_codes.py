"""The exit codes of every command (README "Exit codes")."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the model's dataclasses cost more than `--help` may spend
    from mergeguard.model import Counts

EXIT_CLEAN = 0  # nothing at error severity
EXIT_FINDINGS = 1  # errors found (fix: refused, or files changed with --exit-non-zero-on-fix)
EXIT_USAGE = 2  # bad arguments or settings
EXIT_CANNOT_RUN = 3  # the run could not be made (no repository, a missing module ...)
EXIT_INTERRUPTED = 130  # as a shell reports SIGINT


def for_findings(counts: Counts) -> int:
    """A check's exit code: 1 when a finding is at error severity, else 0."""
    return EXIT_FINDINGS if counts.errors else EXIT_CLEAN
