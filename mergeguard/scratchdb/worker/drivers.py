"""The guard at the drivers: every DBAPI ``connect`` in the worker must go to the
scratch database (issue 10 item 9).

A migration need not use SQLAlchemy to reach another database: ``sqlite3.connect``,
``psycopg.connect``, ``psycopg2.connect``, ``pymysql.connect`` or ``MySQLdb.connect``
work as well.  ``install`` wraps each of them (when it is imported) before env.py
runs, and ``Engine.raw_connection`` too; a connection whose target (the file;
host, port, database and user) is not the scratch database's raises
ForeignDatabaseError before anything is sent.  SQLAlchemy's own connections to
the scratch database pass through the same wrappers.

This guards against accidents (an env.py that reads the production URL from
the application's settings), not against code bent on escaping: ctypes, a
subprocess or a driver not listed here are not watched.
"""

from __future__ import annotations

import functools
import getpass
import importlib
import importlib.abc
import importlib.machinery
import os
import sqlite3
import sys
import types
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import URL, Engine

from mergeguard.scratchdb.protocol import DATABASE_PARAMETERS
from mergeguard.scratchdb.worker.plan import sqlite_file

_PSYCOPG_OPTIONS = ("autocommit", "prepare_threshold", "context", "row_factory", "cursor_factory")
_PSYCOPG2_OPTIONS = ("connection_factory", "cursor_factory", "async", "async_")
_MYSQLDB_POSITIONS = ("host", "user", "passwd", "db", "port")


class ForeignDatabaseError(RuntimeError):
    """Project code tried to connect somewhere other than the scratch database."""


_LOCATION_PARAMETERS = DATABASE_PARAMETERS | {"host", "hostaddr", "port", "unix_socket"}


def same_database(a: URL, b: URL) -> bool:
    """True when ``a`` and ``b`` name the same database as the same user (drivers aside):
    the admin user on the scratch database could still reach the others."""
    backends = {"mariadb": "mysql"}
    backend = backends.get(a.get_backend_name(), a.get_backend_name())
    if backend != backends.get(b.get_backend_name(), b.get_backend_name()):
        return False
    if backend == "sqlite":
        return sqlite_file(a) == sqlite_file(b)
    ports = a.port is None or b.port is None or a.port == b.port
    same_place = _query_location(a) == _query_location(b)
    hosts = (a.host or "").lower() == (b.host or "").lower()
    same_user = a.username == b.username
    return hosts and ports and a.database == b.database and same_place and same_user


def _query_location(url: URL) -> dict[str, object]:
    """The query parameters that move a connection to another database or server
    (``?dbname=`` beats the URL's path in libpq): the scratch URL's must stay."""
    return {k.lower(): v for k, v in url.query.items() if k.lower() in _LOCATION_PARAMETERS}


def refusal(target: str) -> ForeignDatabaseError:
    return ForeignDatabaseError(
        f"refused to connect to {target}: mergeguard runs migrations on its scratch database only"
    )


@dataclass(frozen=True, slots=True)
class Target:
    """Where a server connection goes; ``str()`` names it without a password."""

    host: str
    port: int
    database: str
    user: str

    def __str__(self) -> str:
        where = f"{self.host or 'the local socket'}:{self.port}"
        return f"database {self.database!r} on {where} as {self.user!r}"


def _port(value: object, default: int) -> int:
    try:
        return int(str(value)) if value not in (None, "", 0) else default
    except ValueError:
        return -1  # no such port: never the scratch one


class Scratch:
    """The scratch database as the drivers would be told to reach it."""

    def __init__(self, url: URL) -> None:
        self.url = url
        self.backend = {"mariadb": "mysql"}.get(url.get_backend_name(), url.get_backend_name())
        self.path = sqlite_file(url) if self.backend == "sqlite" else None
        default = 5432 if self.backend == "postgresql" else 3306
        self.server = Target(
            (url.host or "").lower(), url.port or default, url.database or "", url.username or ""
        )
        socket = url.query.get("unix_socket")
        self.socket = socket if isinstance(socket, str) else None

    def check_sqlite(self, database: object, uri: bool) -> None:
        path = _sqlite_path(database, uri)
        if path is not None and path != self.path:
            raise refusal(f"the SQLite file {path}")

    def check_server(self, backend: str, target: Target, socket: str | None = None) -> None:
        if backend != self.backend or target != self.server or socket != self.socket:
            raise refusal(f"the {backend} {target}")

    def check_libpq(self, params: Mapping[str, Any]) -> None:
        """A libpq connection (keywords as ``conninfo_to_dict`` gives them): the
        defaults come from the environment as libpq takes them."""
        if params.get("service"):
            raise refusal(f"the PostgreSQL service {params['service']!r}")
        env = os.environ
        user = str(params.get("user") or env.get("PGUSER") or getpass.getuser())
        host = str(params.get("host") or params.get("hostaddr") or env.get("PGHOST") or "")
        database = str(params.get("dbname") or env.get("PGDATABASE") or user)
        port = _port(params.get("port") or env.get("PGPORT"), 5432)
        self.check_server("postgresql", Target(host.lower(), port, database, user))


def _sqlite_path(database: object, uri: bool) -> str | None:
    """The real path a ``sqlite3.connect`` opens; None for a private in-memory one."""
    name = os.fsdecode(database) if isinstance(database, str | bytes | os.PathLike) else ""
    if uri and name.startswith("file:"):
        parsed = urllib.parse.urlsplit(name)
        query = urllib.parse.parse_qs(parsed.query)
        if query.get("mode") == ["memory"] or parsed.path in ("", ":memory:"):
            return None
        name = urllib.parse.unquote(parsed.path)
    if name in ("", ":memory:"):
        return None
    return os.path.realpath(os.path.expanduser(name))


# -- the wrappers -----------------------------------------------------------------------


def deny_attach(action: int, *_: str | None) -> int:
    """A SQLite authorizer: ``ATTACH`` would let a migration write to another
    database file through a scratch connection, so it is refused."""
    return sqlite3.SQLITE_DENY if action == sqlite3.SQLITE_ATTACH else sqlite3.SQLITE_OK


def install(url: URL) -> None:
    """Wrap every DBAPI ``connect``, and ``Engine.raw_connection``.

    The server drivers are wrapped when they are imported, not imported here:
    importing psycopg alone costs a third of a second, which every SQLite
    run would pay for nothing.  A driver already imported is wrapped at once.
    """
    scratch = Scratch(url)
    _sqlite(scratch)
    _engine(scratch)
    wrappers = {
        "psycopg": _psycopg,
        "psycopg2": _psycopg2,
        "pymysql.connections": _pymysql,
        "MySQLdb.connections": _mysqldb,
    }
    pending: dict[str, Callable[[], None]] = {}
    for module, wrap in wrappers.items():
        hook = functools.partial(wrap, scratch)
        if module in sys.modules:
            hook()
        else:
            pending[module] = hook
    sys.meta_path.insert(0, _WrapOnImport(pending))


class _WrapOnImport(importlib.abc.MetaPathFinder):
    """Runs a module's wrapper right after the module is first executed.

    It finds nothing itself: it asks the finders after it for the module's
    spec and chains the wrapper onto that spec's loader, so the module loads
    exactly as it would have (the driver's own ``__init__`` has run, and its
    submodules imported, when the wrapper runs)."""

    def __init__(self, pending: dict[str, Callable[[], None]]) -> None:
        self.pending = pending

    def find_spec(
        self,
        name: str,
        path: Sequence[str] | None,
        target: types.ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if name not in self.pending:
            return None
        spec = _spec_from_others(self, name, path, target)
        if spec is None:
            return None
        loader = spec.loader
        if loader is None or not hasattr(loader, "exec_module"):
            # a driver loaded some other way would run unguarded
            raise ImportError(f"mergeguard cannot guard the database driver {name}", name=name)
        execute = loader.exec_module

        def exec_module(module: types.ModuleType) -> None:
            execute(module)
            # the hook stays pending until the module has run: a probe such as
            # importlib.util.find_spec() finds a spec but never executes it
            hook = self.pending.pop(name, None)
            if hook is not None:
                hook()

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def _spec_from_others(
    skip: object, name: str, path: Sequence[str] | None, target: types.ModuleType | None
) -> importlib.machinery.ModuleSpec | None:
    for finder in sys.meta_path:
        find_spec = getattr(finder, "find_spec", None)
        if finder is skip or find_spec is None:
            continue
        spec: importlib.machinery.ModuleSpec | None = find_spec(name, path, target)
        if spec is not None:
            return spec
    return None


def _engine(scratch: Scratch) -> None:
    original = Engine.raw_connection

    @functools.wraps(original)
    def raw_connection(self: Engine) -> Any:
        if not same_database(self.url, scratch.url):
            raise refusal(self.url.render_as_string(hide_password=True))
        return original(self)

    Engine.raw_connection = raw_connection  # type: ignore[method-assign]


def _sqlite(scratch: Scratch) -> None:
    original = sqlite3.connect

    @functools.wraps(original)
    def connect(database: Any, *args: Any, **kwargs: Any) -> Any:
        uri = bool(kwargs.get("uri", args[6] if len(args) > 6 else False))
        scratch.check_sqlite(database, uri)
        connection = original(database, *args, **kwargs)
        # a plain connect to the scratch file is allowed, but not to ATTACH another file
        connection.set_authorizer(deny_attach)
        return connection

    # SQLAlchemy's pysqlite dialect calls sqlite3.dbapi2.connect: the same function
    sqlite3.connect = connect
    setattr(sqlite3.dbapi2, "connect", connect)  # noqa: B010 - a module mypy types as read-only


def _psycopg(scratch: Scratch) -> None:
    psycopg = importlib.import_module("psycopg")
    conninfo = importlib.import_module("psycopg.conninfo")
    original: Callable[..., Any] = psycopg.Connection.connect.__func__

    def connect(cls: type, /, conninfo_text: str = "", **kwargs: Any) -> Any:
        keywords = {k: v for k, v in kwargs.items() if k not in _PSYCOPG_OPTIONS}
        try:
            params = conninfo.conninfo_to_dict(conninfo.make_conninfo(conninfo_text, **keywords))
        except psycopg.Error:
            params = None  # malformed: psycopg's own connect says so
        if params is not None:
            scratch.check_libpq(params)
        return original(cls, conninfo_text, **kwargs)

    psycopg.Connection.connect = classmethod(connect)
    setattr(psycopg, "connect", psycopg.Connection.connect)  # noqa: B010 - see _sqlite


def _psycopg2(scratch: Scratch) -> None:
    psycopg2 = importlib.import_module("psycopg2")
    extensions = importlib.import_module("psycopg2.extensions")
    original = psycopg2.connect

    @functools.wraps(original)
    def connect(dsn: str | None = None, *args: Any, **kwargs: Any) -> Any:
        keywords = {k: v for k, v in kwargs.items() if k not in _PSYCOPG2_OPTIONS}
        try:
            params = extensions.parse_dsn(extensions.make_dsn(dsn, **keywords))
        except psycopg2.Error:
            params = None
        if params is not None:
            scratch.check_libpq(params)
        return original(dsn, *args, **kwargs)

    setattr(psycopg2, "connect", connect)  # noqa: B010 - see _sqlite


def _pymysql(scratch: Scratch) -> None:
    """PyMySQL reads its arguments and option files in ``__init__`` and opens the
    socket in ``connect()``: the check sits between the two."""
    connections = importlib.import_module("pymysql.connections")
    original = connections.Connection.connect

    @functools.wraps(original)
    def connect(self: Any, *args: Any, **kwargs: Any) -> Any:
        db = self.db.decode() if isinstance(self.db, bytes) else str(self.db or "")
        target = Target(str(self.host or "").lower(), _port(self.port, 3306), db, str(self.user))
        scratch.check_server("mysql", target, self.unix_socket or None)
        return original(self, *args, **kwargs)

    connections.Connection.connect = connect


def _mysqldb(scratch: Scratch) -> None:
    connections = importlib.import_module("MySQLdb.connections")
    original = connections.Connection.__init__

    @functools.wraps(original)
    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        given = {**dict(zip(_MYSQLDB_POSITIONS, args, strict=False)), **kwargs}
        if given.get("read_default_file") or given.get("read_default_group"):
            raise refusal("a database named in a MySQL option file")
        db = str(given.get("database") or given.get("db") or "")
        host = str(given.get("host") or "").lower()
        user = str(given.get("user") or getpass.getuser())
        target = Target(host, _port(given.get("port"), 3306), db, user)
        scratch.check_server("mysql", target, given.get("unix_socket") or None)
        original(self, *args, **kwargs)

    connections.Connection.__init__ = init
