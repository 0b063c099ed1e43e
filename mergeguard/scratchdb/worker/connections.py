"""The scratch database as the worker sees it: where connections may go, cancelling
the statements they run, and resetting the database between paths."""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.pool import Pool

from mergeguard.scratchdb.protocol import Plan
from mergeguard.scratchdb.worker.drivers import (
    ForeignDatabaseError,
    deny_attach,
    install,
    same_database,
)
from mergeguard.scratchdb.worker.watchdog import StepTimeout

__all__ = ["Connections", "ForeignDatabaseError", "ResetFailed", "reset_database"]

SQLITE_SIDECARS = ("", "-journal", "-wal", "-shm")


class ResetFailed(RuntimeError):
    """The reset command exited with a non-zero status."""


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
        install(url)  # the DBAPI connect functions and Engine.raw_connection
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
        if isinstance(dbapi_connection, sqlite3.Connection):
            dbapi_connection.set_authorizer(deny_attach)
            dbapi_connection.execute("PRAGMA synchronous = OFF")  # a scratch file needs no fsync

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
                    # any driver error: the signal still wakes the main thread
                    with contextlib.suppress(Exception):
                        method()
                    break


def reset_database(plan: Plan) -> None:
    """Empty the scratch database as the plan's ``reset`` says (nothing when it is null)."""
    reset = plan.reset
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
            timeout=plan.timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise StepTimeout(plan.timeout) from None
    output = done.stdout.decode("utf-8", "replace")
    sys.stderr.write(output)
    if done.returncode != 0:
        tail = " ".join(output.strip().splitlines()[-3:])
        raise ResetFailed(f"the reset command exited with status {done.returncode}: {tail}")
