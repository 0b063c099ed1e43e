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
                "ran": [revisions], "steps": [{"op", "target", "index", "ok", "ran", "seconds"}],
                "schemas": {label: snapshot}, "seconds"}]}

Exit status 0 with a result document (a failing path is a result, not an
error), 2 for a malformed plan (one line on stderr, ``{"error": ...}`` on
stdout), 3 for an internal error of the worker itself.
"""

from __future__ import annotations

import _thread
import contextlib
import json
import logging
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, TextIO, TypeVar

import alembic.runtime.migration as migration
from alembic import command
from alembic.config import Config
from alembic.util import CommandError
from sqlalchemy import String, column, create_engine, event, inspect, select, table
from sqlalchemy.engine import URL, Connection, Dialect, Engine, Inspector, make_url
from sqlalchemy.engine.interfaces import ReflectedIndex
from sqlalchemy.exc import ArgumentError, DBAPIError, StatementError
from sqlalchemy.pool import NullPool, Pool
from sqlalchemy.types import TypeEngine

from mergeguard.scratchdb.builtin_env import ENV_PY, VERSION_TABLE_ATTRIBUTE

MODULE = "mergeguard.scratchdb.worker"
OPS = ("upgrade", "downgrade", "schema")
ENVS = ("auto", "project", "builtin")
SQLITE_SIDECARS = ("", "-journal", "-wal", "-shm")
ERROR_LINES = 6
_SIGNAL: signal.Signals = getattr(signal, "SIGALRM", signal.SIGINT)
_QUOTED_OR_NOT = re.compile(r"'(?:[^']|'')*'|[^']+")
_RUNNING = re.compile(r"Running (upgrade|downgrade) (.*?) -> (.*?)(?:, .*)?$", re.DOTALL)
T = TypeVar("T")
Json = dict[str, Any]


# -- the plan -------------------------------------------------------------------------


class PlanError(ValueError):
    """The plan is not one the worker understands (exit status 2)."""


@dataclass(frozen=True, slots=True)
class Step:
    op: str
    targets: tuple[str, ...] = ()
    many: bool = False
    label: str = ""

    def describe(self, index: int) -> Json:
        """The step as the plan wrote it, for ``failed_step`` and ``steps``."""
        target = list(self.targets) if self.many else (self.targets[0] if self.targets else None)
        described: Json = {"op": self.op, "target": target, "index": index}
        if self.op == "schema":
            described["label"] = self.label
        return described


@dataclass(frozen=True, slots=True)
class Reset:
    kind: str
    path: str = ""
    argv: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RunPath:
    name: str
    steps: tuple[Step, ...]
    raw: Json = field(compare=False)


@dataclass(frozen=True, slots=True)
class Plan:
    script_location: str
    url: str
    paths: tuple[RunPath, ...]
    version_locations: tuple[str, ...] = ()
    config_file: str | None = None
    toml_file: str | None = None
    section: str = "alembic"
    env: str = "auto"
    timeout: float = 120.0
    version_table: str = "alembic_version"
    reset: Reset | None = None
    raw: Json = field(default_factory=dict, compare=False)


def _field(doc: Json, key: str, where: str, kinds: tuple[type, ...], required: bool = False) -> Any:
    value = doc.get(key)
    if value is None:
        if required:
            raise PlanError(f"{where}: {key!r} is required")
        return None
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        names = " or ".join(kind.__name__ for kind in kinds)
        raise PlanError(f"{where}: {key!r} must be {names}, not {type(value).__name__}")
    return value


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise PlanError(f"{where} must be a list of non-empty strings")
    return tuple(value)


def _existing_file(doc: Json, key: str) -> str | None:
    value: str | None = _field(doc, key, "plan", (str,))
    if value is not None and not os.path.isfile(value):
        raise PlanError(f"plan: {key} {value!r} is not a file")
    return value


def parse_plan(text: str) -> Plan:
    """The plan in ``text``; PlanError (one line) when it is malformed."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PlanError(f"the plan is not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise PlanError("the plan must be a JSON object")
    url: str = _field(doc, "url", "plan", (str,), required=True)
    try:
        parsed_url = make_url(url)
    except ArgumentError:
        raise PlanError("plan: 'url' is not a database URL") from None
    env = _field(doc, "env", "plan", (str,)) or "auto"
    if env not in ENVS:
        raise PlanError(f"plan: 'env' must be one of {', '.join(ENVS)}")
    timeout = _field(doc, "timeout", "plan", (int, float))
    if timeout is not None and not timeout > 0:
        raise PlanError("plan: 'timeout' must be a positive number of seconds")
    raw_paths = _field(doc, "paths", "plan", (list,), required=True)
    return Plan(
        script_location=_field(doc, "script_location", "plan", (str,), required=True),
        url=url,
        paths=tuple(_path(index, item) for index, item in enumerate(raw_paths)),
        version_locations=_strings(doc.get("version_locations") or [], "plan: 'version_locations'"),
        config_file=_existing_file(doc, "config_file"),
        toml_file=_existing_file(doc, "toml_file"),
        section=_field(doc, "section", "plan", (str,)) or "alembic",
        env=env,
        timeout=float(timeout or 120.0),
        version_table=_field(doc, "version_table", "plan", (str,)) or "alembic_version",
        reset=_reset(doc.get("reset"), parsed_url),
        raw=doc,
    )


def _reset(doc: Any, url: URL) -> Reset | None:
    if doc is None:
        return None
    if not isinstance(doc, dict):
        raise PlanError("plan: 'reset' must be an object or null")
    kind = doc.get("kind")
    if kind == "command":
        argv = _strings(doc.get("argv"), "plan: reset 'argv'")
        if not argv:
            raise PlanError("plan: reset 'argv' must name a command")
        return Reset("command", argv=argv)
    if kind != "sqlite-file":
        raise PlanError("plan: reset 'kind' must be 'sqlite-file' or 'command'")
    path: str = _field(doc, "path", "plan: reset", (str,), required=True)
    if url.get_backend_name() != "sqlite" or _sqlite_file(url) != os.path.realpath(path):
        raise PlanError("plan: reset 'path' is not the SQLite file that 'url' names")
    return Reset("sqlite-file", path=path)


def _path(index: int, doc: Any) -> RunPath:
    where = f"plan: paths[{index}]"
    if not isinstance(doc, dict):
        raise PlanError(f"{where} must be an object")
    name = _field(doc, "name", where, (str,)) or f"path {index + 1}"
    steps = _field(doc, "steps", where, (list,), required=True)
    return RunPath(
        name, tuple(_step(f"{where}.steps[{i}]", i, s) for i, s in enumerate(steps)), doc
    )


def _step(where: str, index: int, doc: Any) -> Step:
    if not isinstance(doc, dict):
        raise PlanError(f"{where} must be an object")
    op = _field(doc, "op", where, (str,), required=True)
    if op not in OPS:
        raise PlanError(f"{where}: 'op' must be one of {', '.join(OPS)}")
    if op == "schema":
        return Step(op, label=_field(doc, "label", where, (str,)) or str(index))
    target = doc.get("target")
    if isinstance(target, str) and target:
        return Step(op, (target,))
    if isinstance(target, list) and target:
        return Step(op, _strings(target, f"{where}: 'target'"), many=True)
    raise PlanError(f"{where}: 'target' must be a revision or a non-empty list of revisions")


# -- stdout, progress, connections ------------------------------------------------------


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


class Progress(logging.Handler):
    """Alembic's "Running upgrade a1 -> b2" records, as the revisions of one step."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.begin()

    def begin(self) -> None:
        self.configured = False  # a MigrationContext was made: env.py got to configure()
        self.completed: list[str] = []
        self.running: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if record.msg == "Running %s":
            if self.running is not None:
                self.completed.append(self.running)
            self.running = _revision_of(record)
        elif str(record.msg).startswith("Context impl"):
            self.configured = True

    def finish(self) -> list[str]:
        """The revisions of a step that succeeded (the last one running has finished)."""
        if self.running is not None:
            self.completed.append(self.running)
            self.running = None
        return list(self.completed)


def _revision_of(record: logging.LogRecord) -> str:
    """The revision a "Running ..." record starts (the one downgraded, for a downgrade)."""
    step = record.args[0] if isinstance(record.args, tuple) and record.args else None
    revision = getattr(getattr(step, "revision", None), "revision", None)
    if isinstance(revision, str):
        return revision
    match = _RUNNING.match(record.getMessage())
    if match is None:
        return record.getMessage()
    return match.group(3 if match.group(1) == "upgrade" else 2).strip()


class _Forward(logging.Handler):
    def __init__(self, target: logging.Logger) -> None:
        super().__init__(logging.DEBUG)
        self.target = target

    def emit(self, record: logging.LogRecord) -> None:
        if self.target.isEnabledFor(record.levelno):
            self.target.handle(record)


def capture_progress(progress: Progress) -> None:
    """Send ``alembic.runtime.migration``'s records to ``progress``, whatever env.py does.

    A project's env.py usually calls ``logging.config.fileConfig()``, which
    clears the handlers of existing loggers (or disables them). So the module's
    logger is swapped for a private one that no logging configuration reaches;
    it forwards every record to the real logger, whose configuration decides
    what is shown (on stderr).
    """
    private = logging.Logger(migration.__name__, logging.DEBUG)
    private.propagate = False
    private.addHandler(progress)
    private.addHandler(_Forward(logging.getLogger(migration.__name__)))
    migration.log = private


class ForeignDatabaseError(RuntimeError):
    """Project code tried to connect somewhere other than the scratch database."""


def _sqlite_file(url: URL) -> str:
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return database
    return os.path.realpath(os.path.expanduser(database))


def same_database(a: URL, b: URL) -> bool:
    """True when ``a`` and ``b`` name the same database (drivers and users aside)."""
    backends = {"mariadb": "mysql"}
    backend = backends.get(a.get_backend_name(), a.get_backend_name())
    if backend != backends.get(b.get_backend_name(), b.get_backend_name()):
        return False
    if backend == "sqlite":
        return _sqlite_file(a) == _sqlite_file(b)
    ports = a.port is None or b.port is None or a.port == b.port
    return (a.host or "").lower() == (b.host or "").lower() and ports and a.database == b.database


class Connections:
    """Every DBAPI connection checked out in this process, and a guard on where they go.

    The guard refuses (before any SQL) an engine that env.py or a migration
    builds for another database, e.g. from the application's own settings:
    nothing but the scratch database is ever written.
    """

    def __init__(self, url: URL) -> None:
        self._url = url
        self._live: dict[int, Any] = {}
        self._lock = threading.Lock()
        event.listen(Engine, "engine_connect", self._check)
        event.listen(Pool, "connect", self._connected)
        event.listen(Pool, "checkout", self._checkout)
        event.listen(Pool, "checkin", self._checkin)

    def _check(self, connection: Connection) -> None:
        url = connection.engine.url
        if not same_database(url, self._url):
            raise ForeignDatabaseError(
                f"refused to connect to {url.render_as_string(hide_password=True)}: "
                "mergeguard runs migrations on its scratch database only"
            )

    def _connected(self, dbapi_connection: Any, record: Any) -> None:
        if isinstance(dbapi_connection, sqlite3.Connection):  # a scratch file needs no fsync
            dbapi_connection.execute("PRAGMA synchronous = OFF")

    def _checkout(self, dbapi_connection: Any, record: Any, proxy: Any) -> None:
        with self._lock:
            self._live[id(dbapi_connection)] = dbapi_connection

    def _checkin(self, dbapi_connection: Any, record: Any) -> None:
        with self._lock:
            self._live.pop(id(dbapi_connection), None)

    def cancel(self) -> None:
        """Abort the statements running now: SQLite's interrupt(), psycopg's cancel()
        (pure-Python drivers such as PyMySQL are woken by the signal instead)."""
        with self._lock:
            live = list(self._live.values())
        for dbapi_connection in live:
            for name in ("interrupt", "cancel_safe", "cancel"):
                method = getattr(dbapi_connection, name, None)
                if callable(method):
                    with contextlib.suppress(Exception):
                        method()
                    break


# -- time limits --------------------------------------------------------------------------


class StepTimeout(BaseException):
    """A step outlived its limit (not an Exception: ``except Exception`` cannot swallow it)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"timed out after {seconds:g} s")
        self.seconds = seconds


def _interrupt_main(ident: int) -> None:
    if hasattr(signal, "pthread_kill"):
        signal.pthread_kill(ident, _SIGNAL)  # wakes a blocking sleep or socket read
    else:  # pragma: no cover - Windows
        _thread.interrupt_main(_SIGNAL)


class Watchdog:
    """Interrupts the main thread when a step outlives its limit.

    A daemon thread waits for the deadline, then cancels the running statement
    (``Connections.cancel``) and signals the main thread every ``NUDGE``
    seconds; the handler raises StepTimeout there. When the main thread is
    still not back ``grace`` seconds later (stuck in C code), ``on_stuck`` runs
    in the thread (it ends the process) and the main thread is parked for good.
    """

    NUDGE = 0.25

    def __init__(self, cancel: Callable[[], None], on_stuck: Callable[[float], None]) -> None:
        self._cancel = cancel
        self._on_stuck = on_stuck
        self._cond = threading.Condition()
        self._deadline: float | None = None
        self._stuck_at = 0.0
        self._seconds = 0.0
        self._expired = False
        self._abandoned = False
        self._main = threading.main_thread().ident or 0
        signal.signal(_SIGNAL, self._on_signal)
        threading.Thread(target=self._watch, name="mergeguard-watchdog", daemon=True).start()

    @contextlib.contextmanager
    def limit(self, seconds: float) -> Iterator[None]:
        """Run the body under a time limit; StepTimeout when it is exceeded."""
        with self._cond:
            self._seconds = seconds
            self._deadline = time.monotonic() + seconds
            self._stuck_at = self._deadline + min(5.0, max(1.0, seconds))
            self._expired = False
            self._cond.notify()
        try:
            yield
        except BaseException as exc:
            if self._disarm() and not isinstance(exc, StepTimeout):
                raise StepTimeout(seconds) from exc
            raise
        if self._disarm():
            raise StepTimeout(seconds)

    def _disarm(self) -> bool:
        """Stop watching; True when the deadline passed (safe against a late signal)."""
        fired = False
        while True:
            try:
                with self._cond:
                    fired = fired or self._expired
                    self._expired = False
                    self._deadline = None
                    abandoned = self._abandoned
                break
            except StepTimeout:
                fired = True
        while abandoned:  # on_stuck owns the process now: never touch the database again
            with contextlib.suppress(StepTimeout):
                threading.Event().wait()
        return fired

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self._expired:
            raise StepTimeout(self._seconds)
        if signum == signal.SIGINT:
            signal.default_int_handler(signum, frame)

    def _watch(self) -> None:
        while True:
            with self._cond:
                now = time.monotonic()
                if self._deadline is None or now < self._deadline:
                    self._cond.wait(None if self._deadline is None else self._deadline - now)
                    continue
                self._expired = True
                self._deadline = now + self.NUDGE
                self._abandoned = now >= self._stuck_at
                seconds = self._seconds
            self._cancel()
            if self._abandoned:
                self._on_stuck(seconds)
                return
            _interrupt_main(self._main)


# -- schema snapshots -----------------------------------------------------------------


def snapshot(connection: Connection, version_table: str) -> Json:
    """The schema of the database (``version_table`` aside), in a canonical form:
    equal schemas give equal JSON."""
    inspector = inspect(connection)
    names = inspector.get_table_names()
    tables = {
        name: _table(inspector, connection.dialect, name)
        for name in sorted(names)
        if name != version_table
    }
    version: list[str] = []
    if version_table in names:
        query = select(column("version_num", String)).select_from(table(version_table))
        version = sorted(str(value) for value in connection.execute(query).scalars())
    return {"tables": tables, "enums": _enums(inspector, connection.dialect), "version": version}


def _table(inspector: Inspector, dialect: Dialect, name: str) -> Json:
    columns = {
        c["name"]: {
            "type": _type_name(c["type"], dialect),
            "nullable": bool(c["nullable"]),
            "default": None if c.get("default") is None else str(c.get("default")),
        }
        for c in inspector.get_columns(name)
    }
    indexes = _reflect(inspector.get_indexes, name)
    uniques = _reflect(inspector.get_unique_constraints, name)
    foreign_keys = _reflect(inspector.get_foreign_keys, name)
    checks = _reflect(inspector.get_check_constraints, name)
    return {
        "columns": dict(sorted(columns.items())),
        "primary_key": list(inspector.get_pk_constraint(name).get("constrained_columns") or []),
        "indexes": _canonical(
            {"name": ix["name"], "columns": _index_columns(ix), "unique": bool(ix["unique"])}
            for ix in indexes
        ),
        "unique_constraints": _canonical(
            {"name": uc["name"], "columns": list(uc["column_names"])} for uc in uniques
        ),
        "foreign_keys": _canonical(
            {
                "name": fk["name"],
                "columns": list(fk["constrained_columns"]),
                "referred_table": fk["referred_table"],
                "referred_columns": list(fk["referred_columns"]),
            }
            for fk in foreign_keys
        ),
        "check_constraints": _canonical(
            {"name": ck["name"], "sqltext": str(ck["sqltext"])} for ck in checks
        ),
    }


def _index_columns(index: ReflectedIndex) -> list[str]:
    """The indexed columns; an expression (None in ``column_names``) as its SQL text."""
    expressions = index.get("expressions") or []
    return [
        name if name is not None else (expressions[i] if i < len(expressions) else "?")
        for i, name in enumerate(index["column_names"])
    ]


def _type_name(type_: TypeEngine[Any], dialect: Dialect) -> str:
    """The column type as the backend spells it (``str(type)`` when it cannot),
    upper-cased except inside quotes (an ENUM's values keep their case)."""
    try:
        text = str(type_.compile(dialect=dialect))
    except Exception:
        try:
            text = str(type_)
        except Exception:
            text = type(type_).__name__
    return _QUOTED_OR_NOT.sub(lambda m: m[0] if m[0].startswith("'") else m[0].upper(), text)


def _reflect(method: Callable[[str], list[T]], name: str) -> list[T]:
    try:
        return method(name)
    except NotImplementedError:  # a dialect without that reflection
        return []


def _canonical(items: Iterable[Json]) -> list[Json]:
    return sorted(items, key=lambda item: json.dumps(item, sort_keys=True, default=str))


def _enums(inspector: Inspector, dialect: Dialect) -> list[Json]:
    get_enums = getattr(inspector, "get_enums", None)
    if dialect.name != "postgresql" or not callable(get_enums):
        return []
    return _canonical({"name": e["name"], "values": list(e["labels"])} for e in get_enums())


# -- failures -------------------------------------------------------------------------


class ResetFailed(RuntimeError):
    """The reset command exited with a non-zero status."""


class NothingRan(RuntimeError):
    """env.py returned without configuring Alembic: no migration can have run."""


class _FallBack(Exception):
    """The project's env.py could not start: run the path again with the built-in one."""


FAILURES = (Exception, SystemExit, StepTimeout)


def describe(exc: BaseException) -> tuple[str, str]:
    """(error_type, text): the database's own message for a database error."""
    if isinstance(exc, StepTimeout):
        return "Timeout", str(exc)
    orig = exc.orig if isinstance(exc, DBAPIError) else None
    text = str(orig if orig is not None else exc)
    if orig is not None and len(orig.args) == 2 and isinstance(orig.args[0], int):
        text = f"{orig.args[1]} (error {orig.args[0]})"  # MySQL drivers: (code, message)
    lines = [line.rstrip() for line in text.strip().splitlines() if line.strip()]
    return type(exc).__name__, "\n".join(lines[:ERROR_LINES]) or repr(exc)


def one_line(exc: BaseException) -> str:
    kind, text = describe(exc)
    return f"{kind}: {' '.join(text.split())}"


def location(exc: BaseException, roots: Sequence[str]) -> Json | None:
    """The deepest frame of ``exc`` (or of its causes) inside ``roots``, e.g. a migration."""
    prefixes = tuple(os.path.join(os.path.realpath(root), "") for root in roots)

    def inside(filename: str | None) -> bool:
        return bool(filename) and os.path.realpath(filename or "").startswith(prefixes)

    for current in _chain(exc):
        if isinstance(current, SyntaxError) and inside(current.filename):
            return {"path": current.filename, "line": current.lineno}
        frames = [f for f in traceback.extract_tb(current.__traceback__) if inside(f.filename)]
        if frames:
            return {"path": frames[-1].filename, "line": frames[-1].lineno}
    return None


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and the exceptions it was raised from or while handling."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


@dataclass
class PathRun:
    """The result of one path, filled in as its steps run."""

    name: str
    started: float
    ok: bool = True
    failed_step: Json | None = None
    error: str | None = None
    error_type: str | None = None
    revision: str | None = None
    location: Json | None = None
    sql: str | None = None
    ran: list[str] = field(default_factory=list)
    steps: list[Json] = field(default_factory=list)
    schemas: dict[str, Json] = field(default_factory=dict)

    def fail(
        self, step: Json, exc: BaseException, revision: str | None, roots: Sequence[str]
    ) -> None:
        self.ok = False
        self.failed_step = {k: v for k, v in step.items() if k not in ("ok", "ran", "seconds")}
        self.error_type, self.error = describe(exc)
        self.revision = revision
        self.location = location(exc, roots)
        statement = next((e.statement for e in _chain(exc) if isinstance(e, StatementError)), None)
        self.sql = statement.strip()[:2000] if statement else None

    def document(self) -> Json:
        return {
            "name": self.name,
            "ok": self.ok,
            "failed_step": self.failed_step,
            "error": self.error,
            "error_type": self.error_type,
            "revision": self.revision,
            "location": self.location,
            "sql": self.sql,
            "ran": self.ran,
            "steps": self.steps,
            "schemas": self.schemas,
            "seconds": round(time.monotonic() - self.started, 3),
        }


def not_run(name: str, why: str) -> Json:
    run = PathRun(name, time.monotonic(), ok=False, error=why, error_type="NotRun")
    return run.document()


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
        self.roots = list(plan.version_locations) or [
            os.path.join(plan.script_location, "versions")
        ]
        self.progress = Progress()
        self.connections = Connections(make_url(plan.url))
        self.watchdog = Watchdog(self.connections.cancel, self._stuck)
        self._configs: dict[str, Config] = {}
        self._builtin_dir: str | None = None
        capture_progress(self.progress)

    def run(self) -> Json:
        """The result document of every path of the plan."""
        try:
            for path in self.plan.paths:
                self.results.append(self._run_path(path))
        finally:
            self._cleanup()
        return self.document(self.results)

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
            self._reset()
        except FAILURES as exc:
            run.fail({"op": "reset", "target": None, "index": None}, exc, None, self.roots)
            return
        try:
            engine = create_engine(self.plan.url, poolclass=NullPool)
        except FAILURES as exc:
            run.fail({"op": "connect", "target": None, "index": None}, exc, None, self.roots)
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
                self.env_error, self.env_used = one_line(exc), "builtin"
                print(
                    f"mergeguard worker: env.py could not run ({self.env_error}); "
                    "using the built-in environment",
                    file=sys.stderr,
                )
                raise _FallBack from None
            ran, ok = list(self.progress.completed), False
            run.fail(self.current_step, exc, self.progress.running, self.roots)
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

    def _migrate(self, engine: Engine, step: Step, env: str) -> None:
        config = self._config(env)
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

    def _config(self, env: str) -> Config:
        if env not in self._configs:
            builtin = env == "builtin"
            directory = self._builtin_directory() if builtin else self.plan.script_location
            self._configs[env] = self._make_config(directory, builtin)
        return self._configs[env]

    def _make_config(self, script_location: str, builtin: bool) -> Config:
        plan = self.plan
        config = Config(
            file_=plan.config_file,
            toml_file=plan.toml_file,
            ini_section=plan.section,
            stdout=sys.stderr,
        )
        sys_paths = config.get_prepend_sys_paths_list()  # split by the project's own separator
        versions = list(plan.version_locations) or (self.roots if builtin else [])

        def set_option(name: str, value: str) -> None:
            config.set_main_option(name, value.replace("%", "%%"))

        set_option("script_location", script_location)
        set_option("path_separator", "os")
        set_option("sqlalchemy.url", plan.url)
        if versions:
            set_option("version_locations", os.pathsep.join(versions))
        else:
            config.file_config.remove_option(plan.section, "version_locations")
        if sys_paths:
            set_option("prepend_sys_path", os.pathsep.join(sys_paths))
        config.attributes[VERSION_TABLE_ATTRIBUTE] = plan.version_table
        return config

    def _builtin_directory(self) -> str:
        """A temporary script directory whose env.py is the built-in one."""
        if self._builtin_dir is None:
            self._builtin_dir = tempfile.mkdtemp(prefix="mergeguard-env-")
            Path(self._builtin_dir, "env.py").write_text(ENV_PY, encoding="utf-8")
        return self._builtin_dir

    def _reset(self) -> None:
        reset = self.plan.reset
        if reset is None:
            return
        if reset.kind == "sqlite-file":
            for suffix in SQLITE_SIDECARS:
                Path(reset.path + suffix).unlink(missing_ok=True)
            return
        try:
            done = subprocess.run(
                list(reset.argv),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                timeout=self.plan.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise StepTimeout(self.plan.timeout) from None
        output = done.stdout.decode("utf-8", "replace")
        sys.stderr.write(output)
        if done.returncode != 0:
            tail = " ".join(output.strip().splitlines()[-3:])
            raise ResetFailed(f"the reset command exited with status {done.returncode}: {tail}")

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
            run.fail(self.current_step, StepTimeout(seconds), self.progress.running, self.roots)
            run.ran.extend(ran)
            run.steps.append({**self.current_step, "ok": False, "ran": ran, "seconds": None})
            results.append(run.document())
        remaining = self.plan.paths[len(results) :]
        if remaining:
            results.extend(self._run_elsewhere(remaining))
        self.output.write(self.document(results))
        self._cleanup()
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

    def _cleanup(self) -> None:
        if self._builtin_dir is not None:
            shutil.rmtree(self._builtin_dir, ignore_errors=True)


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
