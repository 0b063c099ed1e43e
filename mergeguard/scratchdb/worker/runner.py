"""The worker's main loop: every path of the plan, step by step (see the package docstring)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import NoReturn, TextIO

from alembic import command
from alembic.util import CommandError
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import NullPool

from mergeguard.scratchdb.protocol import (
    WORKER_MODULE,
    Done,
    EnvChosen,
    Json,
    Outcome,
    PathResult,
    Plan,
    ProtocolError,
    Running,
    RunPath,
    Step,
    StepAt,
    StepRun,
    decode,
    encode,
)
from mergeguard.scratchdb.worker.connections import Connections, reset_database
from mergeguard.scratchdb.worker.environments import (
    Environments,
    NothingRan,
    Progress,
    capture_progress,
)
from mergeguard.scratchdb.worker.results import FAILURES, PathRun, location, not_run, one_line
from mergeguard.scratchdb.worker.schema_snapshot import snapshot
from mergeguard.scratchdb.worker.watchdog import StepTimeout, Watchdog

__all__ = ["Output", "Worker"]


# -- stdout -----------------------------------------------------------------------------


class Output:
    """The real stdout, claimed before any project code runs; written once."""

    def __init__(self) -> None:
        sys.stdout.flush()
        self._stream: TextIO = os.fdopen(os.dup(1), "w", encoding="utf-8")
        os.dup2(2, 1)
        sys.stdout = sys.stderr
        self._lock = threading.Lock()
        self._written = False

    def write(self, document: Json) -> None:
        """Write ``document`` unless one was written already (by the other thread)."""
        with self._lock:
            if not self._written:
                self._written = True
                self._stream.write(encode(document) + "\n")
                self._stream.flush()


class ProgressLog:
    """The plan's ``progress`` file: a line before each revision runs and one with
    each finished path's document.  If this process dies inside a migration
    (``os._exit``, a signal, a segfault) no document is written, and the parent
    reads here which revision was running.  ``os.write``: nothing is buffered."""

    def __init__(self, path: str | None) -> None:
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT
        self._fd = None if path is None else os.open(path, flags, 0o600)

    def note(self, entry: Running | Done | EnvChosen) -> None:
        if self._fd is not None:
            os.write(self._fd, (encode(entry.to_json()) + "\n").encode())


class _FallBack(Exception):
    """The project's env.py could not start: run the path again with the built-in one."""


# -- the worker -----------------------------------------------------------------------


class Worker:
    """Runs the plan's paths in order; see the module docstring."""

    def __init__(self, plan: Plan, output: Output) -> None:
        self.plan = plan
        self.output = output
        self.env_used: str | None = None if plan.env == "auto" else plan.env
        self.env_error: str | None = None
        self.results: list[PathResult] = []
        self.current: PathRun | None = None
        self.current_step: StepAt | None = None
        self.tree = os.getcwd()  # the project's tree: the parent starts the worker in it
        self.roots = list(plan.version_locations) or [
            os.path.join(plan.script_location, "versions")
        ]
        self.progress = Progress()
        self.log = ProgressLog(plan.progress)
        self.progress.on_running = self._running
        self.connections = Connections(make_url(plan.url))
        self.watchdog = Watchdog(self.connections.cancel, self._stuck)
        self.environments = Environments(plan, self.roots)
        capture_progress(self.progress)

    def run(self) -> Outcome:
        """The results of every path of the plan."""
        try:
            for path in self.plan.paths:
                self.results.append(self._run_path(path))
                self.log.note(Done(self.results[-1]))
        finally:
            self.environments.cleanup()
        return self.document(self.results)

    def _running(self, revision: str) -> None:
        name = self.current.name if self.current is not None else None
        env = self.env_used or "project"
        self.log.note(Running(name, self.current_step, revision))
        self.log.note(EnvChosen(env, self.env_error))

    def document(self, paths: list[PathResult]) -> Outcome:
        return Outcome(self.env_used or "project", self.env_error, tuple(paths))

    def _run_path(self, path: RunPath) -> PathResult:
        started = time.monotonic()
        while True:
            self.current = run = PathRun(path.name, started)
            try:
                self._attempt(path, run)
            except _FallBack:
                continue  # from an empty database again, now with the built-in env.py
            self.current = None
            return run.result()

    def _attempt(self, path: RunPath, run: PathRun) -> None:
        try:
            reset_database(self.plan)
        except FAILURES as exc:
            resetting = StepAt("reset")
            run.fail(resetting, exc, None, self.roots, self.tree)
            return
        try:
            engine = create_engine(self.plan.url, poolclass=NullPool)
        except FAILURES as exc:
            connecting = StepAt("connect")
            run.fail(connecting, exc, None, self.roots, self.tree)
            return
        try:
            for index, step in enumerate(path.steps):
                if not self._step(engine, step, index, run):
                    break
        finally:
            engine.dispose()

    def _step(self, engine: Engine, step: Step, index: int, run: PathRun) -> bool:
        began = time.monotonic()
        self.current_step = at = step.at(index)
        self.progress.begin()
        env = self.env_used or "project"
        try:
            with self.watchdog.limit(self.plan.timeout):
                if step.op == "schema":
                    with engine.connect() as connection:
                        run.schemas[step.label] = snapshot(connection, self.plan.version_table)
                else:
                    self._migrate(engine, step, env)
        except FAILURES as exc:
            if self._env_failed(step, exc):
                self._fall_back(exc)
            ran, ok = list(self.progress.completed), False
            run.fail(at, exc, self.progress.running, self.roots, self.tree)
        else:
            ran, ok = self.progress.finish(), True
        if step.op != "schema" and self.env_used is None and self.progress.configured:
            self.env_used = env  # env.py got as far as configure(): it is the one to use
        seconds = round(time.monotonic() - began, 3)
        run.ran.extend(ran)
        run.steps.append(StepRun(at, ok, tuple(ran), seconds))
        return ok

    def _env_failed(self, step: Step, exc: BaseException) -> bool:
        """True when "auto" should give up the project's env.py: it failed on the
        first migrating step before any migration ran, and not in Alembic itself
        (an unknown target) nor in a migration file."""
        return (
            self.plan.env == "auto"
            and self.env_used is None
            and step.op != "schema"
            and self.progress.running is None
            and not self.progress.completed
            and not isinstance(exc, CommandError)
            and location(exc, self.roots) is None
        )

    def _fall_back(self, exc: BaseException) -> NoReturn:
        """Give up the project's env.py for the built-in one: the path starts over."""
        self.env_error, self.env_used = one_line(exc), "builtin"
        print(
            f"mergeguard worker: env.py could not run ({self.env_error}); "
            "using the built-in environment",
            file=sys.stderr,
        )
        raise _FallBack from None

    def _migrate(self, engine: Engine, step: Step, env: str) -> None:
        config = self.environments.config(env)
        migrate = command.upgrade if step.op == "upgrade" else command.downgrade
        with engine.connect() as connection:
            config.attributes["connection"] = connection
            try:
                for target in step.targets:
                    migrate(config, target)
                    connection.commit()
            finally:
                config.attributes.pop("connection", None)
        if not self.progress.configured:
            raise NothingRan("env.py returned without configuring Alembic: nothing ran")

    def _stuck(self, seconds: float) -> None:
        """Called by the watchdog when the main thread cannot be interrupted: record the
        timeout, run the remaining paths in a fresh worker, write the document, exit."""
        print(
            f"mergeguard worker: a step did not return {seconds:g} s after its time limit; "
            "the remaining paths run in a fresh worker",
            file=sys.stderr,
        )
        results = list(self.results)
        if self.current is not None and self.current_step is not None:
            run, at = self.current, self.current_step
            ran = list(self.progress.completed)
            timeout = StepTimeout(seconds)
            run.fail(at, timeout, self.progress.running, self.roots, self.tree)
            run.ran.extend(ran)
            run.steps.append(StepRun(at, False, tuple(ran), None))
            results.append(run.result())
        remaining = self.plan.paths[len(results) :]
        if remaining:
            results.extend(self._run_elsewhere(remaining))
        self.output.write(self.document(results).to_json())
        self.environments.cleanup()
        sys.stderr.flush()
        os._exit(0)

    def _run_elsewhere(self, paths: Sequence[RunPath]) -> list[PathResult]:
        plan = replace(self.plan, paths=tuple(paths), env=self.env_used or "auto")
        try:
            done = subprocess.run(
                [sys.executable, "-m", WORKER_MODULE],
                input=encode(plan.to_json()).encode(),
                stdout=subprocess.PIPE,
                check=False,
            )
            outcome = Outcome.from_json(decode(done.stdout.decode("utf-8", "replace"), "result"))
        except (OSError, ProtocolError):
            outcome = None
        if outcome is not None and len(outcome.paths) == len(paths):
            if self.env_used is None:
                self.env_used, self.env_error = outcome.env_used, outcome.env_error
            return list(outcome.paths)
        return [not_run(p.name, "not run: the worker running it failed") for p in paths]
