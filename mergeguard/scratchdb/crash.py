"""When the worker dies inside a migration: the results its progress file allows.

``os._exit()``, a signal or a segfault in ``upgrade()`` ends the worker before
it writes its document.  Its progress file (see ``worker.ProgressLog``) still
holds every finished path's document and the revision running when it died:
that path failed at that revision (MG301, like any failing migration), and
the paths after it are run again in a fresh worker by the caller.

Pure: the file's text in, results out.
"""

from __future__ import annotations

import json
import signal
from dataclasses import dataclass, field
from typing import Any

Json = dict[str, Any]


@dataclass
class Crash:
    """What the progress file says about a worker that wrote no document."""

    done: list[Json] = field(default_factory=list)
    running: Json | None = None  # {"path", "step", "revision"} of the last line
    env_used: str | None = None
    env_error: str | None = None


def read_progress(text: str) -> Crash:
    """The finished paths and the revision last running (None once its path is done)."""
    crash = Crash()
    for line in text.splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:  # the line the process died writing
            continue
        if not isinstance(entry, dict):
            continue
        if isinstance(entry.get("done"), dict):
            crash.done.append(entry["done"])
            crash.running = None
        elif isinstance(entry.get("running"), dict):
            crash.running = entry["running"]
        elif "env_used" in entry:
            crash.env_used, crash.env_error = entry.get("env_used"), entry.get("env_error")
    return crash


def how_it_ended(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"was killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"was killed by signal {-returncode}"
    return f"exited with status {returncode} without a result"


def crashed_path(running: Json, returncode: int) -> Json:
    """The result of the path whose migration ended the worker."""
    revision = running.get("revision")
    return {
        "name": running.get("path"),
        "ok": False,
        "failed_step": running.get("step") or None,
        "error": f"the migration process {how_it_ended(returncode)} while revision "
        f"{revision} ran (os._exit, a signal or a crash inside the migration)",
        "error_type": "WorkerDied",
        "revision": revision,
        "location": None,
        "sql": None,
        "missing_module": None,
        "ran": [],
        "steps": [],
        "schemas": {},
        "seconds": None,
    }
