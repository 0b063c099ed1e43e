"""Hostile ``apply``: a migration cannot reach another database (issue 10, item 9).

Each case is a real ``mergeguard apply`` (a bounded subprocess) whose b2 tries
to write to a database the test made first, with a table ``t`` holding one
row, on SQLite, PostgreSQL and MariaDB: through ``raw_connection()`` of an
engine for it, a plain DBAPI connect, or SQL on the scratch connection itself
(which the least-privilege login cannot run).  The other database must be
unchanged, apply must report MG301 at b2, and no scratch database nor login
may be left on the server.
"""

from __future__ import annotations

import json
import re
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import RepoBuilder
from sqlalchemy.pool import NullPool
from test_hostile_apply import mergeguard, one_migration
from test_scratchdb_database import Server, reachable

SCRATCH_NAME = re.compile(r"mergeguard_[0-9a-f]{12}")


def refused_at_b2(repo: RepoBuilder, *args: str) -> str:
    """Run apply; the MG301 finding's message, which must name b2."""
    code, out, err = mergeguard(repo.root, "apply", *args, "--format", "json")
    assert code == 1, out + err
    [finding] = [f for f in json.loads(out)["findings"] if f["code"] == "MG301"]
    assert finding["revisions"][0] == "b2" and finding["path"].endswith("b2_hostile.py")
    assert "fails at revision b2" in finding["message"], finding
    return str(finding["message"])


# -- SQLite -----------------------------------------------------------------------------


@pytest.fixture
def other_file(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (x INTEGER)")
        conn.execute("INSERT INTO t VALUES (1)")
    conn.close()
    yield path
    check = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = check.execute("SELECT name FROM sqlite_master ORDER BY name").fetchall()
        assert tables == [("t",)] and check.execute("SELECT x FROM t").fetchall() == [(1,)]
    finally:
        check.close()


@pytest.mark.parametrize(
    "reach",
    [
        "conn = sqlite3.connect({path!r})",
        "conn = sqlite3.connect('file:' + {path!r}, uri=True)",
        "conn = sa.create_engine('sqlite:///' + {path!r}).raw_connection()",
    ],
    ids=["sqlite3.connect", "sqlite3-uri", "raw_connection"],
)
def test_sqlite_other_file_is_refused(repo: RepoBuilder, other_file: Path, reach: str) -> None:
    one_migration(
        repo,
        "import sqlite3\n"
        + reach.format(path=str(other_file))
        + "\nconn.execute('INSERT INTO t VALUES (2)')\nconn.execute('CREATE TABLE stolen (x int)')"
        + "\nconn.commit()",
    )
    message = refused_at_b2(repo)
    assert "refused to connect to" in message and "other.db" in message, message


def test_a_plain_connect_to_the_scratch_file_cannot_attach_another(
    repo: RepoBuilder, other_file: Path
) -> None:
    """sqlite3.connect() to the scratch file itself is allowed, ATTACH through it is not."""
    one_migration(
        repo,
        "import sqlite3\n"
        "conn = sqlite3.connect(op.get_bind().engine.url.database)\n"
        f'conn.execute("ATTACH DATABASE {str(other_file)!r} AS other")\n'
        "conn.execute('INSERT INTO other.t VALUES (2)')\n"
        "conn.commit()",
    )
    message = refused_at_b2(repo)
    assert "not authorized" in message, message


# -- servers ----------------------------------------------------------------------------


@dataclass
class Victim:
    """A database of the test's own with ``t`` = [(1,)], on a server."""

    server: Server
    name: str
    url: str  # the admin user on the victim

    def rows(self) -> list[tuple[int, ...]]:
        engine = sa.create_engine(self.url, poolclass=NullPool)
        try:
            with engine.connect() as conn:
                rows = conn.exec_driver_sql("SELECT x FROM t ORDER BY x").all()
                tables = sorted(sa.inspect(conn).get_table_names())
        finally:
            engine.dispose()
        assert tables == ["t"], tables
        return [tuple(row) for row in rows]


def scratch_left(server: Server) -> tuple[set[str], set[str]]:
    """The scratch databases and logins (exactly ``mergeguard_<12 hex>``) on the server:
    the apply subprocess makes its own, so the test compares before and after."""
    names = {n for n in server.scratch_names() if SCRATCH_NAME.fullmatch(n)}
    return names, {n for n in server.scratch_logins() if SCRATCH_NAME.fullmatch(n)}


def make_victim(server: Server, force: str) -> Iterator[Victim]:
    before = scratch_left(server)
    name = f"mgvictim_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(server.url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    url = sa.make_url(server.url).set(database=name).render_as_string(hide_password=False)
    engine = sa.create_engine(url, poolclass=NullPool)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        conn.exec_driver_sql("INSERT INTO t VALUES (1)")
    engine.dispose()
    try:
        yield Victim(server, name, url)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}{force}")
        admin.dispose()
    (databases, logins), (old_databases, old_logins) = scratch_left(server), before
    assert databases - old_databases == set(), "scratch databases left behind"
    assert logins - old_logins == set(), "scratch logins left behind"


@pytest.fixture
def pg_victim() -> Iterator[Victim]:
    for server in reachable(
        "postgresql", "SELECT datname FROM pg_database", "SELECT rolname FROM pg_roles"
    ):
        yield from make_victim(server, " WITH (FORCE)")


@pytest.fixture
def maria_victim() -> Iterator[Victim]:
    for server in reachable("mariadb", "SHOW DATABASES", "SELECT user FROM mysql.user"):
        yield from make_victim(server, "")


def pg_comment(victim: Victim) -> str | None:
    """The comment on the victim database (COMMENT ON DATABASE)."""
    query = "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s"
    engine = sa.create_engine(victim.server.url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            value = conn.exec_driver_sql(query, (victim.name,)).scalar_one()
    finally:
        engine.dispose()
    return None if value is None else str(value)


WRITE = "cur = conn.cursor()\ncur.execute('INSERT INTO t VALUES (2)')\n"
WRITE += "cur.execute('CREATE TABLE stolen (x int)')\nconn.commit()"


@pytest.mark.parametrize(
    ("reach", "refusal"),
    [
        ("conn = sa.create_engine({url!r}).raw_connection()\n" + WRITE, "refused to connect"),
        (
            "import psycopg\n"
            "conn = psycopg.connect(host='127.0.0.1', dbname={name!r}, user='postgres')\n" + WRITE,
            "refused to connect",
        ),
        (
            "import psycopg\nconn = psycopg.connect('postgresql://postgres@127.0.0.1/{name}')\n"
            + WRITE,
            "refused to connect",
        ),
        (
            "url = op.get_bind().engine.url.set(database={name!r})\n"
            "conn = sa.create_engine(url).raw_connection()\n" + WRITE,
            "refused to connect",
        ),
        ("op.execute(\"COMMENT ON DATABASE {name} IS 'x'\")", "must be owner"),
    ],
    ids=["raw_connection", "psycopg-keywords", "psycopg-uri", "scratch-login-elsewhere", "comment"],
)
def test_postgresql_other_database_is_unchanged(
    repo: RepoBuilder, pg_victim: Victim, reach: str, refusal: str
) -> None:
    one_migration(repo, reach.format(url=pg_victim.url, name=pg_victim.name))
    message = refused_at_b2(repo, "--url", pg_victim.server.url)
    assert refusal in message, message
    assert pg_victim.rows() == [(1,)] and pg_comment(pg_victim) is None


@pytest.mark.parametrize(
    ("reach", "refusal"),
    [
        ("conn = sa.create_engine({url!r}).raw_connection()\n" + WRITE, "refused to connect"),
        (
            "import pymysql\n"
            "conn = pymysql.connect(host='127.0.0.1', user='root', db={name!r})\n" + WRITE,
            "refused to connect",
        ),
        (
            "import pymysql\nbind = op.get_bind().engine.url\n"
            "conn = pymysql.connect(host='127.0.0.1', user=bind.username, "
            "password=bind.password, db={name!r})\n" + WRITE,
            "refused to connect",
        ),
        ("op.execute('INSERT INTO {name}.t VALUES (2)')", "denied"),
        ("op.execute('CREATE TABLE {name}.stolen (x int)')", "denied"),
    ],
    ids=["raw_connection", "pymysql-root", "pymysql-scratch-login", "insert", "create"],
)
def test_mariadb_other_database_is_unchanged(
    repo: RepoBuilder, maria_victim: Victim, reach: str, refusal: str
) -> None:
    one_migration(repo, reach.format(url=maria_victim.url, name=maria_victim.name))
    message = refused_at_b2(repo, "--url", maria_victim.server.url)
    assert refusal in message.lower(), message
    assert maria_victim.rows() == [(1,)]
