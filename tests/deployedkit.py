"""Deployed databases for the tests of ``status`` and of the reader: a real
database of its own on SQLite, PostgreSQL or MariaDB (made and dropped by the
test), a real Alembic project put into each state by ``alembic upgrade``, and
the snapshot of everything the database holds (every table's rows and the
schema), to prove that reading it changed nothing.

The servers are conftest's (skip without them, fail under CI=true).
"""

from __future__ import annotations

import re
import secrets
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import (
    ALEMBIC_INI,
    RepoBuilder,
    alembic_project,
    alembic_revision,
    run_alembic,
    server_url,
)
from sqlalchemy.pool import NullPool

ENGINES = ("sqlite", "postgresql", "mariadb")
_RUNNING = re.compile(r"Running upgrade (.*?) -> (\w+)")


@dataclass
class Deployed:
    """One database of a test: ``url`` for Alembic and mergeguard, ``admin`` to
    make logins and look inside; ``extra`` databases (a MariaDB "schema")."""

    kind: str
    url: str
    admin: str
    name: str
    path: Path | None = None  # the SQLite file
    extra: list[str] = field(default_factory=list)

    def execute(self, *statements: str, database: bool = True) -> None:
        """Administration statements, on the test's database (else the server's)."""
        engine = sa.create_engine(
            self.url if database else self.admin, poolclass=NullPool, isolation_level="AUTOCOMMIT"
        )
        try:
            with engine.connect() as conn:
                for statement in statements:  # the drivers' paramstyle: % doubled
                    conn.exec_driver_sql(statement.replace("%", "%%"))
        finally:
            engine.dispose()

    def with_login(self, user: str, password: str) -> str:
        """The URL for ``user``/``password`` on the same database."""
        parsed = sa.make_url(self.url).set(username=user, password=password)
        return parsed.render_as_string(hide_password=False)

    def contents(self) -> object:
        """Every table's rows and the schema (columns, indexes, views), as values."""
        if self.kind == "sqlite":
            assert self.path is not None
            conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
            try:
                schema = conn.execute(
                    "SELECT type, name, tbl_name, sql FROM sqlite_master"
                ).fetchall()
                tables = [n for t, n, _, _ in schema if t == "table"]
                rows = {t: sorted(conn.execute(f'SELECT * FROM "{t}"').fetchall()) for t in tables}
            finally:
                conn.close()
            return sorted(schema, key=repr), rows, self.path.read_bytes()
        engine = sa.create_engine(self.admin, poolclass=NullPool)
        schemas = [self.name, *self.extra] if self.kind == "mariadb" else None
        try:
            with engine.connect() as conn:
                return _server_contents(conn, self.kind, self.url, schemas)
        finally:
            engine.dispose()


def _server_contents(conn: sa.Connection, kind: str, url: str, schemas: list[str] | None) -> object:
    if kind == "mariadb":
        assert schemas is not None
        where = "table_schema IN ({})".format(", ".join(f"'{s}'" for s in schemas))
        tables = conn.exec_driver_sql(
            "SELECT table_schema, table_name, table_type FROM information_schema.tables"
            f" WHERE {where}"
        ).fetchall()
        columns = conn.exec_driver_sql(
            "SELECT table_schema, table_name, column_name, column_type, is_nullable,"
            f" column_default FROM information_schema.columns WHERE {where}"
        ).fetchall()
        rows = _rows(conn, [(s, t) for s, t, kind_ in tables if kind_ == "BASE TABLE"], "`")
        return sorted(tables), sorted(columns), rows
    engine = sa.create_engine(url, poolclass=NullPool)  # the test's database itself
    try:
        with engine.connect() as db:
            relations = db.exec_driver_sql(
                "SELECT n.nspname, c.relname, c.relkind FROM pg_catalog.pg_class c"
                " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')"
                " AND n.nspname NOT LIKE 'pg_toast%%'"
            ).fetchall()
            namespaces = db.exec_driver_sql("SELECT nspname FROM pg_namespace").fetchall()
            columns = db.exec_driver_sql(
                "SELECT table_schema, table_name, column_name, data_type, is_nullable,"
                " column_default FROM information_schema.columns"
                " WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"
            ).fetchall()
            rows = _rows(db, [(s, t) for s, t, k in relations if k == "r"], '"')
            settings = db.exec_driver_sql(
                "SELECT setconfig FROM pg_db_role_setting s JOIN pg_database d"
                " ON d.oid = s.setdatabase WHERE d.datname = current_database()"
            ).fetchall()
    finally:
        engine.dispose()
    return sorted(relations), sorted(namespaces), sorted(columns), rows, settings


def _rows(conn: sa.Connection, tables: list[tuple[str, str]], quote: str) -> dict[object, object]:
    """Every row of each (schema, table), sorted: what a read must leave as it was."""
    found: dict[object, object] = {}
    for schema, table in tables:
        name = f"{quote}{schema}{quote}.{quote}{table}{quote}"
        found[(schema, table)] = sorted(map(tuple, conn.exec_driver_sql(f"SELECT * FROM {name}")))
    return found


def deployed_database(kind: str, tmp_path: Path) -> Iterator[Deployed]:
    """A fresh database of ``kind`` for one test, dropped afterwards (with the
    logins the test made, which are named after it)."""
    name = f"mg_deployed_{secrets.token_hex(5)}"
    if kind == "sqlite":
        path = tmp_path / f"{name}.db"
        sqlite3.connect(path).close()  # an existing, empty database file
        yield Deployed(kind, f"sqlite:///{path}", f"sqlite:///{path}", name, path)
        return
    admin = server_url("postgresql" if kind == "postgresql" else "mariadb")
    parsed = sa.make_url(admin)
    database = Deployed(kind, parsed.set(database=name).render_as_string(False), admin, name)
    database.execute(f"CREATE DATABASE {name}", database=False)
    try:
        yield database
    finally:
        _drop(database)


def _drop(database: Deployed) -> None:
    if database.kind == "postgresql":
        statements = [f"DROP DATABASE IF EXISTS {database.name} WITH (FORCE)"]
        engine = sa.create_engine(database.admin, poolclass=NullPool)
        with engine.connect() as conn:
            query = sa.text("SELECT rolname FROM pg_roles WHERE starts_with(rolname, :name)")
            roles = conn.execute(query, {"name": database.name}).scalars().all()
        engine.dispose()
        statements += [f"DROP ROLE IF EXISTS {role}" for role in roles]
    else:
        statements = [f"DROP DATABASE IF EXISTS {n}" for n in [database.name, *database.extra]]
        engine = sa.create_engine(database.admin, poolclass=NullPool)
        with engine.connect() as conn:
            users = conn.execute(
                sa.text("SELECT user, host FROM mysql.user WHERE LEFT(user, :n) = :name"),
                {"n": len(database.name), "name": database.name},
            ).fetchall()
        engine.dispose()
        statements += [f"DROP USER IF EXISTS '{u}'@'{h}'" for u, h in users]
    database.execute(*statements, database=False)


# -- Alembic, the oracle: a real project, real upgrades --------------------------------


def alembic_at(repo: RepoBuilder, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``alembic ARGS`` on ``url`` with the repository's migrations, through an
    ini outside the repository (so that the work tree mergeguard reads stays
    the project's own)."""
    ini = repo.root.parent / f"{repo.root.name}-{secrets.token_hex(3)}.ini"
    text = ALEMBIC_INI.replace("%(here)s/migrations", str(repo.root / "migrations"))
    text = text.replace("sqlite:///app.db", url.replace("%", "%%"))
    # Alembic's loggers exist before env.py's fileConfig: name them, or it disables them
    text = text.replace("[loggers]\nkeys = root", "[loggers]\nkeys = root,alembic")
    text += "[logger_alembic]\nlevel = INFO\nhandlers =\nqualname = alembic\n"
    text = re.sub(r"(?m)^format = .*$", "format = %(message)s", text)  # read raw by fileConfig
    ini.write_text(text)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "alembic", "-c", str(ini), *args],
            cwd=repo.root,
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        ini.unlink()
    assert result.returncode == 0, result.stderr
    return result


def upgraded(repo: RepoBuilder, url: str, target: str = "heads") -> tuple[str, ...]:
    """``alembic upgrade TARGET`` on ``url``: the revisions it ran, in order."""
    result = alembic_at(repo, url, "upgrade", target)
    return tuple(match.group(2) for match in _RUNNING.finditer(result.stderr))


# -- the projects, made once per session (alembic init and revision cost a second each) --


def diamond(repo: RepoBuilder) -> None:
    """a1 -> b2, a1 -> c3, m4 merges them, d5 on m4 (a real ``alembic merge``)."""
    alembic_project(repo)
    alembic_revision(repo, "b2", "b two")
    alembic_revision(repo, "c3", "c three", head="a1")
    result = run_alembic(repo, "merge", "-m", "join", "--rev-id", "m4", "heads")
    assert result.returncode == 0, result.stderr
    alembic_revision(repo, "d5", "d five")
    repo.commit("diamond")


def line(repo: RepoBuilder) -> None:
    """a1 -> b2."""
    alembic_project(repo)
    alembic_revision(repo, "b2", "b two")
    repo.commit("b2")


def project_fixtures(build: Callable[[RepoBuilder], None]) -> tuple[object, object]:
    """The fixtures of a test module whose tests each get a fresh ``repo``
    made by ``build``: ``build`` runs once per module (alembic init and
    revision cost a second each), each test gets a copy (its .git included).
    Use: ``template, repo = project_fixtures(line)``."""

    @pytest.fixture(scope="module", name="project_template")
    def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
        root = tmp_path_factory.mktemp(build.__name__) / "repo"
        build(RepoBuilder(root))
        return root

    @pytest.fixture(name="repo")
    def repo(project_template: Path, tmp_path: Path) -> RepoBuilder:
        where = tmp_path / "project"
        shutil.copytree(project_template, where, symlinks=True)
        return RepoBuilder(where)

    return template, repo
