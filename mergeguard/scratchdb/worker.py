"""The scratch-database worker: ``python -m mergeguard.scratchdb.worker``.

The only process that imports a project's migrations (untrusted code). It reads
ONE JSON plan from stdin, runs every path of it with Alembic's own
``command.upgrade`` / ``command.downgrade`` and writes ONE JSON result document
to stdout. Everything else (Alembic's logging, warnings, prints of migrations,
the reset command's output, even a child process writing to fd 1) goes to
stderr: fd 1 is pointed at stderr before any project code runs, and the
document is written to a private duplicate of the original stdout.

Plan::

    {"config_file": "/abs/alembic.ini" | null, "toml_file": "/abs/pyproject.toml" | null,
     "section": "alembic", "script_location": "/abs/migrations",
     "version_locations": ["/abs/migrations/versions"], "url": "sqlite:////abs/scratch.sqlite",
     "env": "auto" | "project" | "builtin", "timeout": 120, "version_table": "alembic_version",
     "reset": {"kind": "sqlite-file", "path": "/abs/scratch.sqlite"}
              | {"kind": "command", "argv": ["..."]} | null,
     "paths": [{"name": "b2 alone", "steps": [{"op": "upgrade", "target": "b2" | ["c3", "d4"]},
                                              {"op": "downgrade", "target": "base"},
                                              {"op": "schema", "label": "up"}]}]}

Result::

    {"env_used": "project" | "builtin", "env_error": null | "<one line>",
     "paths": [{"name", "ok", "failed_step": null | {"op", "target", "index", ["label"]}
                                                 (op "reset" or "connect": target, index null),
                "error": null | "<the database's own text>", "error_type", "revision",
                "location": null | {"path", "line"}, "sql": null | "<statement>",
                "missing_module": null | {"name", "path" | null, "line" | null},
                "ran": [revisions], "steps": [{"op", "target", "index", "ok", "ran", "seconds"}],
                "schemas": {label: snapshot}, "seconds"}]}

``missing_module`` is set when the step failed because a module is not
installed (a ``ModuleNotFoundError`` with a name, anywhere in the exception's
chain); ``path``/``line`` are the deepest frame inside the worker's working
directory, which is the project's tree (the line whose import needed it). It
is never set for the project's env.py when "auto" falls back to the built-in
environment: only a failure the fallback cannot help is reported.

Exit status 0 with a result document (a failing path is a result, not an
error), 2 for a malformed plan (one line on stderr, ``{"error": ...}`` on
stdout), 3 for an internal error of the worker itself.

This module is the entry point and the main loop; the parts live beside it:
``worker_plan`` (parsing the plan), ``connections`` (the guard on connections,
cancelling statements, resets), ``drivers`` (the guard on the DBAPI connects),
``watchdog`` (time limits), ``environments`` (the project's env.py or the
built-in one, Alembic's Config, the logger swap),
``snapshot`` (schema snapshots) and ``results`` (the document of each path).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Sequence
from typing import NoReturn, TextIO

from alembic import command
from alembic.util import CommandError
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import NullPool

from mergeguard.scratchdb.connections import Connections, reset_database
from mergeguard.scratchdb.environments import (
    Environments,
    NothingRan,
    Progress,
    capture_progress,
)
from mergeguard.scratchdb.results import FAILURES, PathRun, location, not_run, one_line
from mergeguard.scratchdb.snapshot import snapshot
from mergeguard.scratchdb.watchdog import StepTimeout, Watchdog
from mergeguard.scratchdb.worker_plan import Json, Plan, PlanError, RunPath, Step, parse_plan

__all__ = ["PlanError", "Worker", "main", "parse_plan"]

MODULE = "mergeguard.scratchdb.worker"


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
                self._stream.write(json.dumps(document, default=str) + "\n")
                self._stream.flush()


class ProgressLog:
    """The plan's ``progress`` file: a line before each revision runs and one with
    each finished path's document.  If this process dies inside a migration
    (``os._exit``, a signal, a segfault) no document is written, and the parent
    reads here which revision was running.  ``os.write``: nothing is buffered."""

    def __init__(self, path: str | None) -> None:
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT
        self._fd = None if path is None else os.open(path, flags, 0o600)

    def note(self, entry: Json) -> None:
        if self._fd is not None:
            os.write(self._fd, (json.dumps(entry, default=str) + "\n").encode())


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
        self.results: list[Json] = []
        self.current: PathRun | None = None
        self.current_step: Json = {}
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

    def run(self) -> Json:
        """The result document of every path of the plan."""
        try:
            for path in self.plan.paths:
                self.results.append(self._run_path(path))
                self.log.note({"done": self.results[-1]})
        finally:
            self.environments.cleanup()
        return self.document(self.results)

    def _running(self, revision: str) -> None:
        name = self.current.name if self.current is not None else None
        env = self.env_used or "project"
        self.log.note({"running": {"path": name, "step": self.current_step, "revision": revision}})
        self.log.note({"env_used": env, "env_error": self.env_error})

    def document(self, paths: list[Json]) -> Json:
        return {"env_used": self.env_used or "project", "env_error": self.env_error, "paths": paths}

    def _run_path(self, path: RunPath) -> Json:
        started = time.monotonic()
        while True:
            self.current = run = PathRun(path.name, started)
            try:
                self._attempt(path, run)
            except _FallBack:
                continue  # from an empty database again, now with the built-in env.py
            self.current = None
            return run.document()

    def _attempt(self, path: RunPath, run: PathRun) -> None:
        try:
            reset_database(self.plan)
        except FAILURES as exc:
            resetting = {"op": "reset", "target": None, "index": None}
            run.fail(resetting, exc, None, self.roots, self.tree)
            return
        try:
            engine = create_engine(self.plan.url, poolclass=NullPool)
        except FAILURES as exc:
            connecting = {"op": "connect", "target": None, "index": None}
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
        self.current_step = step.describe(index)
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
            run.fail(self.current_step, exc, self.progress.running, self.roots, self.tree)
        else:
            ran, ok = self.progress.finish(), True
        if step.op != "schema" and self.env_used is None and self.progress.configured:
            self.env_used = env  # env.py got as far as configure(): it is the one to use
        seconds = round(time.monotonic() - began, 3)
        run.ran.extend(ran)
        run.steps.append({**self.current_step, "ok": ok, "ran": ran, "seconds": seconds})
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
        if self.current is not None:
            run = self.current
            ran = list(self.progress.completed)
            timeout = StepTimeout(seconds)
            run.fail(self.current_step, timeout, self.progress.running, self.roots, self.tree)
            run.ran.extend(ran)
            run.steps.append({**self.current_step, "ok": False, "ran": ran, "seconds": None})
            results.append(run.document())
        remaining = self.plan.paths[len(results) :]
        if remaining:
            results.extend(self._run_elsewhere(remaining))
        self.output.write(self.document(results))
        self.environments.cleanup()
        sys.stderr.flush()
        os._exit(0)

    def _run_elsewhere(self, paths: Sequence[RunPath]) -> list[Json]:
        plan = {**self.plan.raw, "paths": [p.raw for p in paths], "env": self.env_used or "auto"}
        try:
            done = subprocess.run(
                [sys.executable, "-m", MODULE],
                input=json.dumps(plan).encode(),
                stdout=subprocess.PIPE,
                check=False,
            )
            document = json.loads(done.stdout)
            if self.env_used is None:
                self.env_used, self.env_error = document["env_used"], document["env_error"]
            results = document["paths"]
            if isinstance(results, list) and len(results) == len(paths):
                return results
        except (OSError, ValueError, KeyError, TypeError):
            pass
        return [not_run(p.name, "not run: the worker running it failed") for p in paths]


def main() -> int:
    """Read the plan, run it, write the document; the exit status (see the module docstring)."""
    output = Output()
    sys.dont_write_bytecode = True  # never leave __pycache__ in the project's directories
    try:
        plan = parse_plan(sys.stdin.buffer.read().decode("utf-8"))
    except (PlanError, UnicodeDecodeError) as exc:
        message = " ".join(str(exc).split())
        print(f"mergeguard worker: malformed plan: {message}", file=sys.stderr)
        output.write({"error": f"malformed plan: {message}"})
        return 2
    try:
        document = Worker(plan, output).run()
    except KeyboardInterrupt:
        output.write({"error": "interrupted"})
        return 130
    except BaseException as exc:  # a bug in the worker itself: migrations fail as results
        traceback.print_exc(file=sys.stderr)
        output.write({"error": f"internal error: {type(exc).__name__}: {exc}"})
        return 3
    output.write(document)
    return 0


if __name__ == "__main__":
    status = main()
    sys.stderr.flush()
    os._exit(status)  # threads a migration started must not keep the process alive
