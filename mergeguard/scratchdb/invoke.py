"""Running the worker: the plan of one environment in, its paths' results out.

The parent side of the protocol (``protocol``): the plan is written on the
worker's stdin, its ``Outcome`` read from stdout and checked (the worker runs
project code: nothing it says is trusted unread).  A worker that dies inside a
migration leaves its progress file (``crash``); the path it died in failed, and
the rest run in a fresh worker.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from mergeguard.errors import MergeguardError
from mergeguard.git.snapshot import ROOT
from mergeguard.model import Environment
from mergeguard.scratchdb.crash import Crash, crashed_path, read_progress
from mergeguard.scratchdb.lifetime import WorkerTimedOut, run_worker
from mergeguard.scratchdb.protocol import (
    WORKER_MODULE,
    Outcome,
    PathResult,
    Plan,
    ProtocolError,
    Reset,
    RunPath,
    decode,
    encode,
)


@dataclass(frozen=True, slots=True)
class Limits:
    """What the user chose for the run: the environment mode and the step timeout."""

    env: str
    timeout: float


def plan_for(
    root: Path,
    environment: Environment,
    url: str,
    paths: Sequence[RunPath],
    limits: Limits,
    reset: Reset | None,
) -> Plan:
    """The worker's plan for ``environment`` of the tree written at ``root``."""
    config = environment.config_path
    config_file = str(root / config) if config is not None and config.suffix == ".ini" else None
    script = environment.script_location or (
        environment.version_locations[0].parent if environment.version_locations else ROOT
    )
    return Plan(
        config_file=config_file,
        section=environment.section,
        script_location=str(root / script),
        version_locations=tuple(str(root / v) for v in environment.version_locations),
        recursive=environment.recursive,
        url=url,
        env=limits.env,
        timeout=limits.timeout,
        reset=reset,
        paths=tuple(paths),
    )


def run_paths(
    root: Path,
    environment: Environment,
    database: Any,
    paths: Sequence[RunPath],
    limits: Limits,
    progress: Callable[[str], None],
) -> Outcome:
    """The worker's results for all paths: one process on a default SQLite
    file (it resets the file itself), else one process per path."""
    if database.dialect == "sqlite" and database.owns_file and database.sqlite_path:
        reset = Reset("sqlite-file", path=str(database.sqlite_path))
        return invoke(root, plan_for(root, environment, database.url, paths, limits, reset), limits)
    results: list[PathResult] = []
    env_used: str | None = None
    env_error: str | None = None
    for index, path in enumerate(paths):
        progress(f"path {index + 1}/{len(paths)}: {path.name}")
        database.reset()
        plan = plan_for(root, environment, database.url, [path], limits, None)
        outcome = invoke(root, plan, limits)
        results.extend(outcome.paths)
        if env_used is None:  # the first worker's word on the environment
            env_used, env_error = outcome.env_used, outcome.env_error
    return Outcome(env_used or "project", env_error, tuple(results))


def invoke(root: Path, plan: Plan, limits: Limits) -> Outcome:
    """One worker on ``plan``; its results, one per path of the plan."""
    environment = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    worker = [sys.executable, "-m", WORKER_MODULE]
    progress = root.parent / "worker-progress.jsonl"  # the temporary tree's own directory
    progress.unlink(missing_ok=True)
    try:
        done = run_worker(
            worker,
            input=encode(replace(plan, progress=str(progress)).to_json()),
            cwd=root,
            env=environment,
            files=root.parent,
            timeout=limits.timeout * max(len(plan.paths), 1) * 6 + 60,
        )
    except WorkerTimedOut as exc:
        raise MergeguardError(
            "the scratch database run timed out",
            hint="raise --timeout, or look for a migration that hangs",
        ) from exc
    outcome, reason = _read_outcome(done.stdout, len(plan.paths))
    if done.returncode != 0 or outcome is None:
        crash = read_progress(progress.read_text("utf-8", "replace") if progress.exists() else "")
        if crash.running is not None:
            died = crashed_path(crash.running, done.returncode)
            return _after_crash(root, plan, crash, died, limits)
        tail = " ".join((done.stderr or "").strip().splitlines()[-3:])
        raise MergeguardError(
            f"the scratch database worker failed: {tail or reason or 'no output'}",
            hint="run with MERGEGUARD_DEBUG=1 and report it",
        )
    refuse_missing_modules(outcome.paths, root)
    return outcome


def _read_outcome(stdout: str, expected: int) -> tuple[Outcome | None, str | None]:
    """The worker's result document, checked; else None and why."""
    try:
        outcome = Outcome.from_json(decode(stdout, "worker's result"))
    except ProtocolError as exc:
        return None, str(exc)
    if len(outcome.paths) != expected:
        return None, f"{len(outcome.paths)} results for {expected} paths"
    return outcome, None


def _after_crash(root: Path, plan: Plan, crash: Crash, died: PathResult, limits: Limits) -> Outcome:
    """The worker died inside a migration: the paths it finished, the one it died
    in (``died``: failed at the running revision), the rest run in a fresh worker."""
    results = [*crash.done, died][: len(plan.paths)]
    rest = plan.paths[len(results) :]
    env_used = crash.env_used or "project"
    if rest:
        results += invoke(root, replace(plan, paths=rest), limits).paths
    refuse_missing_modules(results, root)
    return Outcome(env_used, crash.env_error, tuple(results))


NOT_INSTALLED_HINT = (
    "run apply in the project's own environment (the one that runs `alembic upgrade`)"
)


def refuse_missing_modules(paths: Sequence[PathResult], root: Path) -> None:
    """A module the project imports is not installed in mergeguard's environment:
    no finding could be trusted (every path that needs it fails the same way),
    so this is "could not run", not MG301.  The worker has already fallen back
    from an env.py that needs it when the built-in environment does without."""
    found = next((p.missing_module for p in paths if p.missing_module), None)
    if found is None:
        return
    name = printable(found.name)
    where = _relative(found.path, root)
    needed = f" (imported by {where}:{found.line})" if where else ""
    raise MergeguardError(
        f"could not run: `{name}` is not installed in this environment{needed}",
        hint=NOT_INSTALLED_HINT,
    )


def _relative(path: str | None, root: Path) -> str | None:
    """``path`` (the worker's, absolute) as the project names it, relative to its tree."""
    if not path:
        return None
    try:
        shown = str(Path(os.path.realpath(path)).relative_to(os.path.realpath(root)))
    except ValueError:
        shown = path
    return printable(shown)


def printable(text: str) -> str:
    """``text`` as it is when printable, else its escaped repr (a name from the project
    must not write control characters to the terminal)."""
    return text if text.isprintable() else repr(text)[1:-1]
