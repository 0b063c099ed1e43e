"""When the worker dies inside a migration: the results its progress file allows.

``os._exit()``, a signal or a segfault in ``upgrade()`` ends the worker before
it writes its document.  Its progress file (``protocol`` entries, written by
``worker.runner.ProgressLog``) still holds every finished path's result and
the revision running when it died:
that path failed at that revision (MG301, like any failing migration), and
the paths after it are run again in a fresh worker by the caller.

Pure: the file's text in, results out.  A line that is not a valid entry (the
one the process died writing, or anything else) is skipped.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass, field

from mergeguard.scratchdb.protocol import (
    Done,
    EnvChosen,
    PathResult,
    ProtocolError,
    Running,
    decode,
    progress_entry,
)


@dataclass
class Crash:
    """What the progress file says about a worker that wrote no document."""

    done: list[PathResult] = field(default_factory=list)
    running: Running | None = None  # the last entry, unless its path finished
    env_used: str | None = None
    env_error: str | None = None


def read_progress(text: str) -> Crash:
    """The finished paths and the revision last running (None once its path is done)."""
    crash = Crash()
    for line in text.splitlines():
        try:
            entry = progress_entry(decode(line, "progress entry"))
        except ProtocolError:
            continue
        if isinstance(entry, Done):
            crash.done.append(entry.result)
            crash.running = None
        elif isinstance(entry, Running):
            crash.running = entry
        elif isinstance(entry, EnvChosen):
            crash.env_used, crash.env_error = entry.env_used, entry.env_error
    return crash


def how_it_ended(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"was killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"was killed by signal {-returncode}"
    return f"exited with status {returncode} without a result"


def crashed_path(running: Running, returncode: int) -> PathResult:
    """The result of the path whose migration ended the worker."""
    return PathResult(
        name=running.path or "",
        ok=False,
        failed_step=running.step,
        error=f"the migration process {how_it_ended(returncode)} while revision "
        f"{running.revision} ran (os._exit, a signal or a crash inside the migration)",
        error_type="WorkerDied",
        revision=running.revision,
    )
