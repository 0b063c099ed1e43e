"""Scratch databases on a server: ``mergeguard_<12 hex>`` on PostgreSQL or MySQL/MariaDB.

The URL names the server and the database to connect to for *administration
only*: mergeguard runs ``CREATE DATABASE mergeguard_<12 hex>`` there, migrates
that one, and drops it afterwards.  The administration database is never
migrated nor written, so it need not be empty.  Every message masks the URL's
password.

sqlalchemy is imported inside functions only: importing this module is cheap.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator
from typing import TYPE_CHECKING

from mergeguard.dburls import DRIVER_HINTS, FALLBACK_DRIVERS, SERVER_DIALECTS, mask, scrub
from mergeguard.errors import MergeguardError
from mergeguard.scratchdb.logins import Login, quote

if TYPE_CHECKING:
    from sqlalchemy.engine import URL, Connection, Engine

CONNECT_TIMEOUT_SECONDS = 10

_PG_RELATIONS = (
    "SELECT count(*) FROM pg_catalog.pg_class c"
    " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
    " WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')"
    " AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
    " AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'"
)
_MYSQL_RELATIONS = "SELECT count(*) FROM information_schema.tables WHERE table_schema = DATABASE()"


class ServerDatabase:
    """``mergeguard_<hex>`` on a PostgreSQL or MySQL/MariaDB server, and a login of
    the same name that may use that database only (see ``logins``).  ``url`` (for
    the worker) logs in as it; ``notes`` says when it could not be made."""

    def __init__(self, engine: Engine, admin: URL, dialect: str, name: str) -> None:
        self.engine = engine
        self.admin = admin
        self.dialect = dialect
        self.name = name
        self.login: Login | None = None
        self.notes: list[str] = []

    @property
    def url(self) -> str:
        if self.login is None:
            return self.admin.set(database=self.name).render_as_string(hide_password=False)
        url = self.admin.set(
            database=self.name, username=self.login.name, password=self.login.password
        )
        return url.render_as_string(hide_password=False)

    @classmethod
    def create(cls, parsed: URL) -> ServerDatabase:
        dialect = server_dialect(parsed)
        engine, parsed = admin_engine(parsed)
        database = cls(engine, parsed, dialect, f"mergeguard_{secrets.token_hex(6)}")
        try:
            with connect(engine, parsed, "cannot connect to") as conn:
                database._make_login(conn)
                database._create(conn)
        except BaseException:
            # any driver error: the error that stopped us is the one to show
            with contextlib.suppress(Exception):
                database.drop()  # the login, if it was made, and the engine
            raise
        return database

    def _make_login(self, conn: Connection) -> None:
        """The least-privilege login; the admin user itself when it may not make one."""
        from sqlalchemy.exc import DBAPIError

        try:
            self.login = Login.make(conn, self.dialect, self.name)
        except DBAPIError as error:  # refused by the server (no CREATEROLE / CREATE USER)
            shown = mask(self.admin_text)
            self.notes.append(
                f"{shown} may not create a login ({error_text(error, self.admin)}): the "
                "migrations ran as that user, so the guard is weaker; the worker still "
                "refuses connections elsewhere, but SQL on the scratch connection could "
                "reach the server's other databases"
            )

    def reset(self) -> None:
        with connect(self.engine, self.admin, "cannot reset the scratch database on") as conn:
            self._drop(conn)
            self._create(conn)

    def drop(self) -> None:
        try:
            with connect(self.engine, self.admin, "cannot drop the scratch database on") as conn:
                self._drop(conn)
                if self.login is not None:
                    self.login.drop(conn)
        finally:
            self.engine.dispose()

    def _create(self, conn: Connection) -> None:
        try:
            owned = self.login is not None and self.dialect == "postgresql"
            owner = f" OWNER {quote(conn, self.name)}" if owned else ""
            conn.exec_driver_sql(f"CREATE DATABASE {quote(conn, self.name)}{owner}")
        except Exception as error:  # noqa: BLE001 - any driver error: cannot run
            raise MergeguardError(
                f"cannot create database {self.name} on {mask(self.admin_text)}: "
                + error_text(error, self.admin),
                hint="the user needs the right to create databases (CREATEDB / CREATE)",
            ) from None

    def _drop(self, conn: Connection) -> None:
        name = quote(conn, self.name)
        if self.dialect == "mysql":
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
            return
        version = conn.dialect.server_version_info or (0,)
        if version >= (13,):
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            return
        conn.exec_driver_sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            f" WHERE datname = '{self.name}' AND pid <> pg_backend_pid()"
        )
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")

    @property
    def admin_text(self) -> str:
        return self.admin.render_as_string(hide_password=False)


def server_is_empty(parsed: URL, url: str) -> bool:
    """True when the server database ``url`` names holds no tables or views
    (see ``is_empty`` in ``mergeguard.scratchdb.database``)."""
    dialect = server_dialect(parsed)
    if dialect == "mysql" and not parsed.database:
        raise MergeguardError(f"{mask(url)} names no database", hint="add /DATABASE to the URL")
    from sqlalchemy import text

    engine, parsed = admin_engine(parsed)
    query = text(_PG_RELATIONS if dialect == "postgresql" else _MYSQL_RELATIONS)
    try:
        with connect(engine, parsed, "cannot connect to") as conn:
            return int(conn.execute(query).scalar_one()) == 0
    finally:
        engine.dispose()


def server_dialect(parsed: URL) -> str:
    dialect = SERVER_DIALECTS.get(parsed.get_backend_name())
    if dialect is None:
        raise MergeguardError(
            f"unsupported database URL {mask(parsed.render_as_string(hide_password=False))}:"
            " scratch databases are made on SQLite, PostgreSQL and MySQL/MariaDB",
            hint="pass sqlite:///FILE, postgresql://USER@HOST/postgres or mysql+pymysql://USER@HOST/",
        )
    return dialect


def admin_engine(parsed: URL) -> tuple[Engine, URL]:
    """An AUTOCOMMIT engine without a pool, and the URL it uses (driver filled in if needed)."""
    from sqlalchemy import create_engine
    from sqlalchemy.exc import ArgumentError
    from sqlalchemy.pool import NullPool

    dialect = server_dialect(parsed)
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
                f"cannot use {shown}: {error_text(error, parsed)}", hint=DRIVER_HINTS[dialect]
            ) from None
        return engine, candidate
    raise MergeguardError(
        f"no database driver for {shown}: {error_text(first_error, parsed)}",
        hint=DRIVER_HINTS[dialect],
    )


@contextlib.contextmanager
def connect(engine: Engine, url: URL, doing: str) -> Iterator[Connection]:
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
        raise MergeguardError(f"{doing} {shown}: {error_text(error, url)}", hint=hint) from None


def error_text(error: BaseException | None, url: URL) -> str:
    """The driver's own message on one line, with the URL's password masked out."""
    password = url.password
    hidden = [password] if isinstance(password, str) else []
    return scrub(str(getattr(error, "orig", None) or error), hidden)
