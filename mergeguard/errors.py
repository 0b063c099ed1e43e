"""The one exception mergeguard raises on purpose: "cannot run".

Problems *in* the migrations are diagnostics (collected, all reported in one
run); this exception is only for the cases where no report can be made at all
(no configuration, an unknown ref, a shallow clone without a merge base).  The
CLI translates it once, to a message, a hint and exit code 3.
"""

from __future__ import annotations


class MergeguardError(Exception):
    """mergeguard cannot run: ``message`` says why, ``hint`` how to fix it."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class BadArgument(MergeguardError):
    """A malformed command-line argument (``check a..b..c``): the CLI reports
    it as a usage error (exit 2), since the user, not the repository, must change."""
