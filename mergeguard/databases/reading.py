"""Reading a deployed database's version table: read only, bounded in time.

Through SQLAlchemy (imported inside the functions), with no pool, a connect
timeout and a statement timeout (``MERGEGUARD_DB_TIMEOUT`` seconds, default
``DEFAULT_TIMEOUT``):

- PostgreSQL: ``BEGIN READ ONLY``, ``SET LOCAL statement_timeout`` and
  ``lock_timeout``, then ``ROLLBACK``;
- MySQL / MariaDB: ``SET SESSION max_statement_time`` (MariaDB) or
  ``max_execution_time`` (MySQL), ``START TRANSACTION READ ONLY``, then
  ``ROLLBACK``; the driver's connect and read timeouts;
- SQLite: the file opened ``mode=ro`` as a URI with ``PRAGMA query_only``;
  a missing file is never created (in an existing directory it reads as no
  version table, with a note: Alembic would create it and apply everything;
  without its directory it is unreachable).

No DDL, no write, no lock beyond a plain read: the catalogue is asked whether
the version table exists, then its rows are selected.  Every failure is a
reading with an ``error`` (the password taken out), never an exception.
"""

from __future__ import annotations

import os
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from mergeguard.databases.targets import Target
from mergeguard.dburls import DRIVER_HINTS, FALLBACK_DRIVERS, SERVER_DIALECTS, scrub, url_passwords
from mergeguard.model import DatabaseReading

if TYPE_CHECKING:
    from sqlalchemy.engine import URL, Connection, Engine

TIMEOUT_VARIABLE = "MERGEGUARD_DB_TIMEOUT"
DEFAULT_TIMEOUT = 10.0  # seconds: connecting, and each statement
MAX_ROWS = 1000  # a version table holds one row per head
MAX_REVISION_LENGTH = 255
SQLALCHEMY_HINT = "pip install sqlalchemy (mergeguard reads deployed databases through it)"


class ReadFailure(Exception):
    """Why a database could not be read (a message without the password)."""


class NoSQLiteFile(ReadFailure):
    """The SQLite file does not exist: as Alembic sees it, a database with
    nothing applied (``upgrade`` would create it), so not an error; it is
    never created here."""


def timeout_seconds(environ: dict[str, str] | None = None) -> float:
    """``MERGEGUARD_DB_TIMEOUT`` (seconds, 1 to 300), else ``DEFAULT_TIMEOUT``."""
    value = (os.environ if environ is None else environ).get(TIMEOUT_VARIABLE, "")
    try:
        seconds = float(value)
    except ValueError:
        return DEFAULT_TIMEOUT
    return min(max(seconds, 1.0), 300.0) if seconds == seconds else DEFAULT_TIMEOUT


# past the driver's own timeouts (connect, then a few statements), a read that
# has not ended is abandoned: a hung name lookup or driver must not hang the run
_GRACE_FACTOR, _GRACE_SECONDS = 4, 5.0


def read_databases(
    targets: Sequence[Target], timeout: float | None = None
) -> tuple[DatabaseReading, ...]:
    """``read_database`` of each target, side by side (one daemon thread
    each: the run takes as long as the slowest database, not their sum), in
    ``targets`` order.  One that has not answered by the deadline
    (``timeout`` x 4 + 5 s) is an unreachable reading; its thread is left to
    end on its own (a daemon: it never holds the process up)."""
    seconds = timeout or timeout_seconds()
    _import_sqlalchemy()  # once, here: not raced by the threads
    found: dict[int, DatabaseReading] = {}
    bugs: list[BaseException] = []

    def run(index: int, target: Target) -> None:
        # what a database or its driver can do is a reading (read_database);
        # anything else is a bug, raised again in the caller's thread below
        try:
            found[index] = read_database(target, seconds)
        except BaseException as bug:  # noqa: BLE001 - not swallowed: raised below, in the caller
            bugs.append(bug)

    threads = [
        threading.Thread(target=run, args=(i, t), name=f"mergeguard-db-{i}", daemon=True)
        for i, t in enumerate(targets)
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + seconds * _GRACE_FACTOR + _GRACE_SECONDS
    for thread in threads:
        thread.join(max(deadline - time.monotonic(), 0.0))
    if bugs:
        raise bugs[0]
    waited = seconds * _GRACE_FACTOR + _GRACE_SECONDS
    late = f"no answer within {waited:.0f} seconds (see {TIMEOUT_VARIABLE})"
    return tuple(found.get(i) or target.reading(error=late) for i, target in enumerate(targets))


def _import_sqlalchemy() -> None:
    """SQLAlchemy's modules the readers use; a missing one is each reading's error."""
    try:
        import sqlalchemy.engine
        import sqlalchemy.exc
        import sqlalchemy.pool  # noqa: F401
    except ImportError:
        return


def read_database(target: Target, timeout: float | None = None) -> DatabaseReading:
    """The version table of ``target``: its rows sorted, None when it has no
    version table; or an ``error`` reading (unreachable) saying why."""
    if target.problem is not None:
        return target.reading(error=target.problem)
    secrets = url_passwords(target.url)
    try:
        rows = _read_rows(target, timeout or timeout_seconds())
    except NoSQLiteFile as missing:
        return target.reading(note=scrub(str(missing), secrets))
    except ReadFailure as failure:
        return target.reading(error=scrub(str(failure), secrets))
    return target.reading(current=rows)


def _read_rows(target: Target, timeout: float) -> tuple[str, ...] | None:
    try:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError
    except ImportError:
        raise ReadFailure(f"sqlalchemy is not installed: {SQLALCHEMY_HINT}") from None
    try:
        url = make_url(target.url)
    except (ArgumentError, ValueError):
        raise ReadFailure(
            "not a database URL (e.g. postgresql://USER@HOST/DATABASE, sqlite:///FILE)"
        ) from None
    backend = url.get_backend_name()
    if backend == "sqlite":
        return _read_sqlite(url, target, timeout)
    dialect = SERVER_DIALECTS.get(backend)
    if dialect is None:
        raise ReadFailure(
            f"unsupported database {backend!r}: mergeguard reads SQLite, PostgreSQL and "
            "MySQL/MariaDB"
        )
    if dialect == "mysql" and not (url.database or target.version_table_schema):
        raise ReadFailure(
            "the URL names no database: add /DATABASE, the one holding the version table"
        )
    with _server_connection(url, dialect, timeout) as conn:
        return _read_in_transaction(conn, dialect, target, timeout)


# -- servers --------------------------------------------------------------------------


@contextmanager
def _server_connection(url: URL, dialect: str, timeout: float) -> Iterator[Connection]:
    """An AUTOCOMMIT connection (the transactions below are explicit) without a pool."""
    from sqlalchemy.exc import SQLAlchemyError

    engine: Engine | None = None
    try:
        engine = _engine(url, dialect, timeout)  # a driver may refuse an option right here
        with engine.connect() as conn:
            yield conn
    # a driver's error, wrapped by SQLAlchemy or not (a bad port or option in the URL)
    except (SQLAlchemyError, OSError, ValueError, TypeError, LookupError) as error:
        raise ReadFailure(_driver_message(error)) from None
    finally:
        if engine is not None:
            engine.dispose()


def _engine(url: URL, dialect: str, timeout: float) -> Engine:
    """The engine for ``url``, trying the fallback drivers when the URL names none."""
    from sqlalchemy import create_engine
    from sqlalchemy.exc import ArgumentError
    from sqlalchemy.pool import NullPool

    candidates = [url]
    if "+" not in url.drivername:
        backend = url.get_backend_name()
        candidates += [url.set(drivername=f"{backend}+{d}") for d in FALLBACK_DRIVERS[dialect]]
    seconds = max(int(timeout + 0.5), 2)  # libpq treats less than 2 as 2
    connect_args: dict[str, object] = {"connect_timeout": seconds}
    if dialect == "mysql":
        connect_args.update(read_timeout=seconds, write_timeout=seconds)
    first: BaseException | None = None
    for candidate in candidates:
        given = {key: value for key, value in connect_args.items() if key not in candidate.query}
        try:
            return create_engine(
                candidate, isolation_level="AUTOCOMMIT", poolclass=NullPool, connect_args=given
            )
        except ImportError as error:  # the driver is not installed: try the next
            first = first or error
        except ArgumentError as error:
            raise ReadFailure(f"cannot use this URL: {error}; {DRIVER_HINTS[dialect]}") from None
    raise ReadFailure(f"no database driver ({first}): {DRIVER_HINTS[dialect]}")


def _read_in_transaction(
    conn: Connection, dialect: str, target: Target, timeout: float
) -> tuple[str, ...] | None:
    milliseconds = int(timeout * 1000)
    if dialect == "postgresql":
        conn.exec_driver_sql("BEGIN READ ONLY")
        conn.exec_driver_sql(f"SET LOCAL statement_timeout = {milliseconds}")
        conn.exec_driver_sql(f"SET LOCAL lock_timeout = {milliseconds}")
    else:
        _limit_statements(conn, timeout)
        conn.exec_driver_sql("START TRANSACTION READ ONLY")
    try:
        return _version_rows(conn, target)
    finally:
        conn.exec_driver_sql("ROLLBACK")


def _limit_statements(conn: Connection, timeout: float) -> None:
    """The server's statement time limit for this session, where the server
    has one (MariaDB 10.1+, MySQL 5.7.8+); the driver's read timeout bounds
    the rest."""
    from sqlalchemy.exc import DBAPIError

    if getattr(conn.dialect, "is_mariadb", False):
        statement = f"SET SESSION max_statement_time = {timeout:.3f}"
    else:
        statement = f"SET SESSION max_execution_time = {int(timeout * 1000)}"
    try:
        conn.exec_driver_sql(statement)
    except DBAPIError:  # an older server without the variable: not a reason to fail
        return


# -- SQLite ---------------------------------------------------------------------------


def _read_sqlite(url: URL, target: Target, timeout: float) -> tuple[str, ...] | None:
    """The file opened read-only: ``mode=ro`` never creates it."""
    import sqlite3

    from sqlalchemy import create_engine
    from sqlalchemy.exc import DBAPIError, SQLAlchemyError
    from sqlalchemy.pool import NullPool

    path = _sqlite_path(url, target.base_dir)
    uri = f"file:{urllib.parse.quote(str(path))}?mode=ro{_sqlite_quiet(path)}"

    def connect() -> sqlite3.Connection:
        connection = sqlite3.connect(uri, uri=True, timeout=timeout)
        connection.execute("PRAGMA query_only = ON")
        return connection

    engine = create_engine("sqlite://", creator=connect, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return _version_rows(conn, target)
    except (DBAPIError, SQLAlchemyError) as error:
        raise ReadFailure(f"{path}: {_driver_message(error)}") from None
    finally:
        engine.dispose()


def _sqlite_quiet(path: Path) -> str:
    """``&immutable=1`` for a WAL database with no ``-wal`` file: everything is
    in the main file, and even a ``mode=ro`` connection would otherwise
    create ``-wal`` and ``-shm`` beside it (and leave them).  When a ``-wal``
    file exists its pages may not be in the main file yet: read through it."""
    try:
        with path.open("rb") as file:
            header = file.read(20)
    except OSError:
        return ""
    is_wal = header[:16] == b"SQLite format 3\x00" and header[18:20] == b"\x02\x02"
    return "&immutable=1" if is_wal and not Path(f"{path}-wal").exists() else ""


def _sqlite_path(url: URL, base_dir: Path) -> Path:
    database = url.database or ""
    if not database or database == ":memory:" or database.startswith("file:"):
        raise ReadFailure(
            "a SQLite URL must name a database file (sqlite:///relative.db or "
            "sqlite:////absolute.db)"
        )
    path = Path(database).expanduser()
    path = path if path.is_absolute() else base_dir / path
    if not path.exists() and not path.parent.is_dir():
        raise ReadFailure(f"no SQLite database file at {path}, nor its directory")
    if not path.exists():
        raise NoSQLiteFile(f"no database file at {path} yet (alembic upgrade would create it)")
    if not path.is_file():
        raise ReadFailure(f"{path} is not a SQLite database file")
    return path


# -- the version table ----------------------------------------------------------------


def _version_rows(conn: Connection, target: Target) -> tuple[str, ...] | None:
    """The ``version_num`` rows, sorted; None when there is no version table."""
    from sqlalchemy import inspect

    table, schema = target.version_table, target.version_table_schema
    if not inspect(conn).has_table(table, schema=schema):
        return None
    quote: Callable[[str], str] = conn.dialect.identifier_preparer.quote
    name = f"{quote(schema)}.{quote(table)}" if schema else quote(table)
    # bounded in the query itself: the drivers buffer a whole result on the
    # client, so a limit applied while fetching would come after the memory
    longest = MAX_REVISION_LENGTH + 1
    result = conn.exec_driver_sql(
        f"SELECT substr(version_num, 1, {longest}) FROM {name} LIMIT {MAX_ROWS + 1}"
    )
    rows = result.fetchall()
    result.close()
    if len(rows) > MAX_ROWS:
        raise ReadFailure(f"the version table {name} holds more than {MAX_ROWS:,} rows")
    found = {str(value) for (value,) in rows if value is not None}
    if any(len(value) > MAX_REVISION_LENGTH for value in found):
        raise ReadFailure(
            f"the version table {name} holds a version_num longer than "
            f"{MAX_REVISION_LENGTH} characters, which no revision id is"
        )
    return tuple(sorted(found))


def _driver_message(error: BaseException) -> str:
    """The driver's own message (not SQLAlchemy's wrapping), on one line."""
    message = str(getattr(error, "orig", None) or error)
    return " ".join(message.split()) or type(error).__name__
