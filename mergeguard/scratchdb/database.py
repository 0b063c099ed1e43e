"""Throwaway ("scratch") databases: created empty, reset between runs, always dropped.

Nothing is lost and nobody's data is touched (docs/architecture.md, "Contracts"):

- No URL: a SQLite file ``scratch.sqlite`` in the caller's temporary directory.
- A SQLite URL names a file that must not exist or must hold no tables.  It is
  checked through a read-only connection, so a refused file is not written to
  at all (not even a journal).  A file mergeguard created is deleted when
  dropped; a file the user brought (empty) is emptied again and kept.
- A server URL (PostgreSQL, MySQL/MariaDB) names the server and the database to
  connect to for *administration only*.  mergeguard runs ``CREATE DATABASE
  mergeguard_<12 hex>`` there, migrates that one, and drops it afterwards
  (also from ``atexit`` and on SIGTERM).  The administration database is never
  migrated nor written, so it need not be empty.  ``is_empty`` answers the
  separate question "does the database at this URL hold tables?".

Passwords appear only in ``ScratchDatabase.url`` (handed to the worker process);
every message, ``str()`` and ``repr()`` uses the masked form (``mask``).

The SQLite files live in ``sqlite_file``, the server databases in ``servers``
and URL parsing and masking in ``urls``; this module chooses between them.

sqlalchemy is imported inside functions only: importing this module is cheap.
"""

from __future__ import annotations

import atexit
import os
import signal
import threading
from pathlib import Path
from types import FrameType, TracebackType
from typing import Protocol

from mergeguard.errors import MergeguardError
from mergeguard.scratchdb.servers import ServerDatabase, server_is_empty
from mergeguard.scratchdb.sqlite_file import (
    SqliteFile,
    check_new_or_empty,
    claim,
    sqlite_path,
    sqlite_tables,
    sqlite_url,
)
from mergeguard.scratchdb.urls import mask, parse

__all__ = ["ScratchDatabase", "drop_live", "is_empty", "mask", "refuse_a_database_with_tables"]


class _Backend(Protocol):
    def reset(self) -> None: ...
    def drop(self) -> None: ...


class ScratchDatabase:
    """An empty database mergeguard owns for one ``apply`` run; see the module docstring."""

    url: str
    display_url: str
    dialect: str
    notes: list[str]

    def __init__(
        self, url: str, dialect: str, backend: _Backend, notes: list[str] | None = None
    ) -> None:
        self.url = url
        self.notes = notes or []  # for the user: e.g. the guard is weaker than it could be
        self.display_url = mask(url)
        self.dialect = dialect
        self._backend = backend
        self._dropped = False
        _track(self)

    @classmethod
    def create(cls, url: str | None, workdir: Path) -> ScratchDatabase:
        """A new empty scratch database; MergeguardError when it cannot be had safely."""
        if url is None:
            workdir.mkdir(parents=True, exist_ok=True)
            default = SqliteFile((workdir / "scratch.sqlite").resolve(), owned=True)
            default.reset()  # the caller's own directory: a stale file there is ours
            return cls(sqlite_url("sqlite", default.path), "sqlite", default)
        parsed = parse(url)
        backend = parsed.get_backend_name()
        if backend == "sqlite":
            path = sqlite_path(parsed, url)
            owned = check_new_or_empty(path)
            if owned:
                claim(path)
            return cls(sqlite_url(parsed.drivername, path), "sqlite", SqliteFile(path, owned))
        server = ServerDatabase.create(parsed)
        return cls(server.url, server.dialect, server, server.notes)

    @property
    def sqlite_path(self) -> Path | None:
        """The SQLite file (absolute), or None for a server database."""
        return self._backend.path if isinstance(self._backend, SqliteFile) else None

    @property
    def owns_file(self) -> bool:
        """True unless this is the user's own (empty) SQLite file, which must only be
        emptied: a file mergeguard created may be deleted and recreated by anyone."""
        return not isinstance(self._backend, SqliteFile) or self._backend.owned

    def reset(self) -> None:
        """Make the database empty again (between runs of one ``apply``)."""
        if self._dropped:
            raise RuntimeError(f"{self!r} was already dropped")
        self._backend.reset()

    def drop(self) -> None:
        """Remove the database (or empty the user's own SQLite file); never raises."""
        if self._dropped:
            return
        try:
            self._backend.drop()
        except Exception:  # noqa: BLE001 - dropping must never mask the real outcome
            return  # left tracked: atexit tries once more
        self._dropped = True
        _untrack(self)

    def __enter__(self) -> ScratchDatabase:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.drop()

    def __repr__(self) -> str:
        state = " dropped" if self._dropped else ""
        return f"<ScratchDatabase {self.dialect} {self.display_url}{state}>"


def is_empty(url: str) -> bool:
    """True when the database at ``url`` holds no tables or views.

    SQLite: a missing file is empty; the file is read without writing anything.
    PostgreSQL: relations in any schema but the system ones.  MySQL/MariaDB:
    the database named in the URL.  MergeguardError when it cannot be asked.
    """
    parsed = parse(url)
    if parsed.get_backend_name() == "sqlite":
        path = sqlite_path(parsed, url)
        return not path.exists() or not sqlite_tables(path)
    return server_is_empty(parsed, url)


# -- dropped at exit and on SIGTERM ---------------------------------------------------

_LIVE: set[ScratchDatabase] = set()
_LOCK = threading.Lock()


def refuse_a_database_with_tables(url: str) -> None:
    """A server URL names the database to administer from: mergeguard creates its
    own database beside it, and refuses (before writing anything) when the
    named one holds tables, in case it is somebody's data."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise MergeguardError(f"{mask(url)} is not a database URL") from exc
    if parsed.get_backend_name() == "sqlite" or not parsed.database:
        return  # a SQLite file is checked when it is opened; a bare server names no data
    if not is_empty(url):
        raise MergeguardError(
            f"{mask(url)} holds tables: mergeguard works only in a database it creates and "
            "never writes where there is data",
            hint="name the server's empty administration database, e.g. "
            "postgresql://postgres@host/postgres or mysql+pymysql://root@host/",
        )


def _track(database: ScratchDatabase) -> None:
    with _LOCK:
        _LIVE.add(database)
    _install_sigterm()


def _untrack(database: ScratchDatabase) -> None:
    with _LOCK:
        _LIVE.discard(database)
        idle = not _LIVE
    if idle and _in_main_thread() and signal.getsignal(signal.SIGTERM) is _on_sigterm:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def drop_live() -> None:
    """Drop every scratch database not dropped yet (on the way out of a killed run)."""
    _drop_all()


def _drop_all() -> None:
    with _LOCK:
        live = list(_LIVE)
    for database in live:
        database.drop()


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    """Drop every live scratch database, then die of SIGTERM as if never caught."""
    _drop_all()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _install_sigterm() -> None:
    """Catch SIGTERM while databases live, unless the program handles it itself."""
    if _in_main_thread() and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _on_sigterm)


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


atexit.register(_drop_all)
