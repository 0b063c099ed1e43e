"""``check --summary FILE``: append the Markdown report to a file GitHub
collects as the job summary (``$GITHUB_STEP_SUMMARY``)."""

from __future__ import annotations

from pathlib import Path

from mergeguard.errors import MergeguardError


def append(path: Path, text: str) -> None:
    """Append ``text`` to a summary file (other steps may have written there
    first: a blank line goes between)."""
    try:
        with path.open("a", encoding="utf-8") as handle:
            if handle.tell():  # after another step's summary: a blank line between
                handle.write("\n")
            handle.write(text)
    except OSError as error:
        raise MergeguardError(
            f"cannot write the summary to {path}: {error.strerror}",
            hint="pass a writable file with --summary FILE",
        ) from error
