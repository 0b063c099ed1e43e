"""Throwaway ("scratch") databases: created empty, reset between runs, always dropped.

Nothing is lost and nobody's data is touched (DESIGN.md "Scratch database"):

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

sqlalchemy is imported inside functions only: importing this module is cheap.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import secrets
import signal
import sqlite3
import threading
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Protocol

from mergeguard.errors import MergeguardError

if TYPE_CHECKING:
    from sqlalchemy.engine import URL, Connection, Engine

__all__ = ["ScratchDatabase", "is_empty", "mask"]

SERVER_DIALECTS = {"postgresql": "postgresql", "mysql": "mysql", "mariadb": "mysql"}
DRIVER_HINTS = {
    "postgresql": "pip install 'psycopg[binary]' (or use a postgresql+DRIVER:// URL)",
    "mysql": "pip install pymysql (or use a mysql+DRIVER:// URL)",
}
# tried in this order when a URL names no driver and SQLAlchemy's default is missing
FALLBACK_DRIVERS = {"postgresql": ("psycopg", "psycopg2"), "mysql": ("pymysql", "mysqldb")}
CONNECT_TIMEOUT_SECONDS = 10
SQLITE_SIDECARS = ("-journal", "-wal", "-shm")
NEW_OR_EMPTY_HINT = "pass a new file or an empty database"

_PASSWORD_IN_AUTHORITY = re.compile(r"^(?P<head>[\w+.-]+://[^:/@?#]*):(?P<password>[^@]+)@")
_PASSWORD_IN_QUERY = re.compile(r"(?P<key>[?&]password=)[^&]*", re.IGNORECASE)


def mask(url: str) -> str:
    """``url`` with its password (user-info or ``?password=``) replaced by ``***``.

    Everything else is returned byte for byte, so the result can be shown anywhere.
    """
    masked = _PASSWORD_IN_AUTHORITY.sub(r"\g<head>:***@", url, count=1)
    return _PASSWORD_IN_QUERY.sub(r"\g<key>***", masked)


class _Backend(Protocol):
    def reset(self) -> None: ...
    def drop(self) -> None: ...


class ScratchDatabase:
    """An empty database mergeguard owns for one ``apply`` run; see the module docstring."""

    url: str
    display_url: str
    dialect: str

    def __init__(self, url: str, dialect: str, backend: _Backend) -> None:
        self.url = url
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
            default = _SqliteFile((workdir / "scratch.sqlite").resolve(), owned=True)
            default.reset()  # the caller's own directory: a stale file there is ours
            return cls(_sqlite_url("sqlite", default.path), "sqlite", default)
        parsed = _parse(url)
        backend = parsed.get_backend_name()
        if backend == "sqlite":
            path = _sqlite_path(parsed, url)
            owned = _check_new_or_empty(path)
            if owned:
                _claim(path)
            return cls(_sqlite_url(parsed.drivername, path), "sqlite", _SqliteFile(path, owned))
        server = _ServerDatabase.create(parsed)
        return cls(server.url, server.dialect, server)

    @property
    def sqlite_path(self) -> Path | None:
        """The SQLite file (absolute), or None for a server database."""
        return self._backend.path if isinstance(self._backend, _SqliteFile) else None

    @property
    def owns_file(self) -> bool:
        """True unless this is the user's own (empty) SQLite file, which must only be
        emptied: a file mergeguard created may be deleted and recreated by anyone."""
        return not isinstance(self._backend, _SqliteFile) or self._backend.owned

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
    parsed = _parse(url)
    if parsed.get_backend_name() == "sqlite":
        path = _sqlite_path(parsed, url)
        return not path.exists() or not _sqlite_tables(path)
    dialect = _server_dialect(parsed)
    if dialect == "mysql" and not parsed.database:
        raise MergeguardError(f"{mask(url)} names no database", hint="add /DATABASE to the URL")
    from sqlalchemy import text

    engine, parsed = _engine(parsed)
    query = text(_PG_RELATIONS if dialect == "postgresql" else _MYSQL_RELATIONS)
    try:
        with _connect(engine, parsed, "cannot connect to") as conn:
            return int(conn.execute(query).scalar_one()) == 0
    finally:
        engine.dispose()


_PG_RELATIONS = (
    "SELECT count(*) FROM pg_catalog.pg_class c"
    " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
    " WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')"
    " AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
    " AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'"
)
_MYSQL_RELATIONS = "SELECT count(*) FROM information_schema.tables WHERE table_schema = DATABASE()"


# -- SQLite ---------------------------------------------------------------------------


class _SqliteFile:
    """A SQLite file: deleted if mergeguard created it, else only emptied."""

    def __init__(self, path: Path, owned: bool) -> None:
        self.path = path
        self.owned = owned

    def reset(self) -> None:
        if self.owned:
            self._delete()
            _claim(self.path)
        else:
            _empty_sqlite(self.path)

    def drop(self) -> None:
        if self.owned:
            self._delete()
        elif self.path.exists():
            _empty_sqlite(self.path)

    def _delete(self) -> None:
        for suffix in ("", *SQLITE_SIDECARS):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)


def _sqlite_path(parsed: URL, url: str) -> Path:
    """The absolute file a SQLite URL names (the worker runs elsewhere); refuses memory."""
    database = parsed.database or ""
    if database in ("", ":memory:") or parsed.query.get("mode") == "memory":
        raise MergeguardError(
            f"{mask(url)} is an in-memory SQLite database; the migrations run in another process",
            hint="pass a file: sqlite:///path/to/scratch.sqlite",
        )
    if database.startswith("file:") or "uri" in parsed.query:
        raise MergeguardError(
            f"{mask(url)}: SQLite URI filenames are not supported",
            hint="pass a plain file: sqlite:///path/to/scratch.sqlite",
        )
    return Path(database).expanduser().resolve()


def _sqlite_url(drivername: str, path: Path) -> str:
    from sqlalchemy.engine import URL

    return URL.create(drivername, database=str(path)).render_as_string(hide_password=False)


def _check_new_or_empty(path: Path) -> bool:
    """True when ``path`` does not exist (mergeguard will own it); refuses one with tables."""
    if not path.exists():
        if not path.parent.is_dir():
            raise MergeguardError(f"{path.parent} is not a directory", hint=NEW_OR_EMPTY_HINT)
        return True
    if not path.is_file():
        raise MergeguardError(f"{path} is not a file", hint=NEW_OR_EMPTY_HINT)
    tables = _sqlite_tables(path)
    if tables:
        shown = ", ".join(tables[:5]) + (", ..." if len(tables) > 5 else "")
        raise MergeguardError(
            f"{path} holds {len(tables)} table(s) ({shown}); mergeguard never writes to it",
            hint=NEW_OR_EMPTY_HINT,
        )
    return False


def _sqlite_tables(path: Path) -> list[str]:
    """Names of the tables and views in ``path``, read through a read-only connection."""
    uri = f"file:{urllib.parse.quote(str(path))}?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True)
        try:
            rows = conn.execute(
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')"
                " AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
            ).fetchall()
        finally:
            conn.close()
    except sqlite3.Error as error:
        raise MergeguardError(
            f"cannot read {path} as a SQLite database: {error}", hint=NEW_OR_EMPTY_HINT
        ) from None
    return [str(name) for (name,) in rows]


def _empty_sqlite(path: Path) -> None:
    """Drop every view, table and trigger in the user's file, leaving the file itself."""
    conn = sqlite3.connect(str(path), isolation_level=None)
    try:
        conn.execute("PRAGMA foreign_keys = OFF")
        objects = conn.execute(
            "SELECT type, name FROM sqlite_master WHERE type IN ('view', 'table', 'trigger')"
            " AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY type = 'table'"
        ).fetchall()
        for kind, name in objects:
            quoted = '"' + str(name).replace('"', '""') + '"'
            conn.execute(f"DROP {str(kind).upper()} IF EXISTS {quoted}")
        if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'").fetchone():
            conn.execute("DELETE FROM sqlite_sequence")
        conn.execute("VACUUM")
    finally:
        conn.close()


def _claim(path: Path) -> None:
    """Create ``path`` as an empty file (an empty SQLite database); fails if it exists."""
    try:
        with open(path, "xb"):
            pass
    except OSError as error:
        raise MergeguardError(
            f"cannot create {path}: {error.strerror}", hint=NEW_OR_EMPTY_HINT
        ) from None


# -- servers --------------------------------------------------------------------------


class _ServerDatabase:
    """``mergeguard_<hex>`` on a PostgreSQL or MySQL/MariaDB server."""

    def __init__(self, engine: Engine, admin: URL, dialect: str, name: str) -> None:
        self.engine = engine
        self.admin = admin
        self.dialect = dialect
        self.name = name
        self.url = admin.set(database=name).render_as_string(hide_password=False)

    @classmethod
    def create(cls, parsed: URL) -> _ServerDatabase:
        dialect = _server_dialect(parsed)
        engine, parsed = _engine(parsed)
        database = cls(engine, parsed, dialect, f"mergeguard_{secrets.token_hex(6)}")
        try:
            with _connect(engine, parsed, "cannot connect to") as conn:
                database._create(conn)
        except BaseException:
            engine.dispose()
            raise
        return database

    def reset(self) -> None:
        with _connect(self.engine, self.admin, "cannot reset the scratch database on") as conn:
            self._drop(conn)
            self._create(conn)

    def drop(self) -> None:
        try:
            with _connect(self.engine, self.admin, "cannot drop the scratch database on") as conn:
                self._drop(conn)
        finally:
            self.engine.dispose()

    def _create(self, conn: Connection) -> None:
        try:
            conn.exec_driver_sql(f"CREATE DATABASE {self.name}")
        except Exception as error:  # noqa: BLE001 - any driver error: cannot run
            raise MergeguardError(
                f"cannot create database {self.name} on {mask(self.admin_text)}: "
                + _error_text(error, self.admin),
                hint="the user needs the right to create databases (CREATEDB / CREATE)",
            ) from None

    def _drop(self, conn: Connection) -> None:
        if self.dialect == "mysql":
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {self.name}")
            return
        version = conn.dialect.server_version_info or (0,)
        if version >= (13,):
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")
            return
        conn.exec_driver_sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            f" WHERE datname = '{self.name}' AND pid <> pg_backend_pid()"
        )
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {self.name}")

    @property
    def admin_text(self) -> str:
        return self.admin.render_as_string(hide_password=False)


def _parse(url: str) -> URL:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url)
    except ArgumentError:
        raise MergeguardError(
            f"not a database URL: {mask(url)}", hint="e.g. postgresql://user@host/postgres"
        ) from None


def _server_dialect(parsed: URL) -> str:
    dialect = SERVER_DIALECTS.get(parsed.get_backend_name())
    if dialect is None:
        raise MergeguardError(
            f"unsupported database URL {mask(parsed.render_as_string(hide_password=False))}:"
            " scratch databases are made on SQLite, PostgreSQL and MySQL/MariaDB",
            hint="pass sqlite:///FILE, postgresql://USER@HOST/postgres or mysql+pymysql://USER@HOST/",
        )
    return dialect


def _engine(parsed: URL) -> tuple[Engine, URL]:
    """An AUTOCOMMIT engine without a pool, and the URL it uses (driver filled in if needed)."""
    from sqlalchemy import create_engine
    from sqlalchemy.exc import ArgumentError
    from sqlalchemy.pool import NullPool

    dialect = _server_dialect(parsed)
    candidates = [parsed]
    if "+" not in parsed.drivername:
        backend = parsed.get_backend_name()
        candidates += [parsed.set(drivername=f"{backend}+{d}") for d in FALLBACK_DRIVERS[dialect]]
    connect_args: dict[str, object] = {}
    if "connect_timeout" not in parsed.query:
        connect_args["connect_timeout"] = CONNECT_TIMEOUT_SECONDS
    shown = mask(parsed.render_as_string(hide_password=False))
    first_error: ImportError | None = None
    for candidate in candidates:
        try:
            engine = create_engine(
                candidate,
                isolation_level="AUTOCOMMIT",
                poolclass=NullPool,
                connect_args=connect_args,
            )
        except ImportError as error:
            first_error = first_error or error
            continue
        except ArgumentError as error:
            raise MergeguardError(
                f"cannot use {shown}: {_error_text(error, parsed)}", hint=DRIVER_HINTS[dialect]
            ) from None
        return engine, candidate
    raise MergeguardError(
        f"no database driver for {shown}: {_error_text(first_error, parsed)}",
        hint=DRIVER_HINTS[dialect],
    )


@contextlib.contextmanager
def _connect(engine: Engine, url: URL, doing: str) -> Iterator[Connection]:
    """A connection from ``engine``; any driver error becomes a password-free MergeguardError."""
    from sqlalchemy.exc import DBAPIError

    connected = False
    try:
        with engine.connect() as conn:
            connected = True
            yield conn
    except DBAPIError as error:
        shown = mask(url.render_as_string(hide_password=False))
        hint = None if connected else "check that the server runs, and the URL's user and password"
        raise MergeguardError(f"{doing} {shown}: {_error_text(error, url)}", hint=hint) from None


def _error_text(error: BaseException | None, url: URL) -> str:
    """The driver's own message on one line, with the URL's password masked out."""
    text = " ".join(str(getattr(error, "orig", None) or error).split())
    password = url.password
    if isinstance(password, str) and password:
        for secret in {password, urllib.parse.quote(password, safe="")}:
            text = text.replace(secret, "***")
    return mask(text)


# -- dropped at exit and on SIGTERM ---------------------------------------------------

_LIVE: set[ScratchDatabase] = set()
_LOCK = threading.Lock()


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
