"""Scratch databases: SQLite always; PostgreSQL and MariaDB where a server answers.

Every test creates and drops its own databases and checks that none of the
``mergeguard_%`` databases it made are left on the server.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import urllib.parse
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import server_url
from sqlalchemy.pool import NullPool

from mergeguard.errors import MergeguardError
from mergeguard.scratchdb.database import ScratchDatabase, is_empty, mask

ROOT = Path(__file__).resolve().parent.parent


# -- helpers --------------------------------------------------------------------------


def sqlite_tables(path: Path) -> list[str]:
    conn = sqlite3.connect(f"file:{urllib.parse.quote(str(path))}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    finally:
        conn.close()
    return sorted(name for (name,) in rows)


def add_table(url: str, name: str = "t") -> None:
    engine = sa.create_engine(url, poolclass=NullPool)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE TABLE {name} (id INTEGER PRIMARY KEY)")
    engine.dispose()


def table_names(url: str) -> list[str]:
    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        return sorted(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def sidecars(path: Path) -> list[Path]:
    return [Path(f"{path}{suffix}") for suffix in ("-journal", "-wal", "-shm")]


class Server:
    """An administration URL, the ``mergeguard_%`` databases now on that server, and
    the ones this test made (other runs share the server: only ours are checked)."""

    def __init__(self, url: str, listing: str, logins: str) -> None:
        self.url = url
        self.listing = listing
        self.logins = logins
        self.made: set[str] = set()

    def create(self, workdir: Path, url: str | None = None) -> ScratchDatabase:
        """ScratchDatabase.create on this server (or ``url``), remembering its name."""
        database = ScratchDatabase.create(url or self.url, workdir)
        self.made.add(database.url.rsplit("/", 1)[1])
        return database

    def scratch_names(self, listing: str | None = None) -> set[str]:
        engine = sa.create_engine(self.url, poolclass=NullPool)
        try:
            with engine.connect() as conn:
                names = conn.exec_driver_sql(listing or self.listing).scalars().all()
        finally:
            engine.dispose()
        return {str(name) for name in names if str(name).startswith("mergeguard_")}

    def scratch_logins(self) -> set[str]:
        """The ``mergeguard_%`` roles (PostgreSQL) or users (MariaDB)."""
        return self.scratch_names(self.logins)


def reachable(kind: str, listing: str, logins: str) -> Iterator[Server]:
    """The server (skip, or fail under CI=true, when none answers); checks that none
    of the databases the test made is left, nor their logins (named like them)."""
    server = Server(server_url(kind), listing, logins)
    yield server
    left = server.made & server.scratch_names()
    assert left == set(), f"databases left behind: {sorted(left)}"
    left = server.made & server.scratch_logins()
    assert left == set(), f"logins left behind: {sorted(left)}"


@pytest.fixture
def postgres() -> Iterator[Server]:
    yield from reachable(
        "postgresql", "SELECT datname FROM pg_database", "SELECT rolname FROM pg_roles"
    )


@pytest.fixture
def mariadb() -> Iterator[Server]:
    yield from reachable("mariadb", "SHOW DATABASES", "SELECT user FROM mysql.user")


@pytest.fixture(params=["postgres", "mariadb"])
def server(request: pytest.FixtureRequest) -> Server:
    found: Server = request.getfixturevalue(request.param)
    return found


# -- mask -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        (
            "postgresql://postgres:s3cret@127.0.0.1:5432/postgres",
            "postgresql://postgres:***@127.0.0.1:5432/postgres",
        ),
        ("mysql+pymysql://root:p%40ss@db:3306/", "mysql+pymysql://root:***@db:3306/"),
        ("postgresql://u:a:b/c@h/db", "postgresql://u:***@h/db"),
        ("postgresql://postgres@127.0.0.1/postgres", "postgresql://postgres@127.0.0.1/postgres"),
        (
            "postgresql://h/db?user=u&password=pw&sslmode=off",
            "postgresql://h/db?user=u&password=***&sslmode=off",
        ),
        ("sqlite:////tmp/a.sqlite", "sqlite:////tmp/a.sqlite"),
        ("sqlite:///rel@x.db", "sqlite:///rel@x.db"),
        ("mysql://root:@h/", "mysql://root:@h/"),
        ("not a url", "not a url"),
    ],
)
def test_mask(url: str, masked: str) -> None:
    assert mask(url) == masked


# -- SQLite ---------------------------------------------------------------------------


def test_default_sqlite_is_created_reset_and_dropped(tmp_path: Path) -> None:
    database = ScratchDatabase.create(None, tmp_path)
    path = tmp_path / "scratch.sqlite"
    assert (database.dialect, database.sqlite_path, database.owns_file) == ("sqlite", path, True)
    assert database.url == f"sqlite:///{path}" == database.display_url
    assert path.is_file()
    add_table(database.url)
    assert table_names(database.url) == ["t"]
    database.reset()
    assert table_names(database.url) == []
    add_table(database.url)
    for sidecar in sidecars(path):
        sidecar.write_bytes(b"")
    database.drop()
    database.drop()  # idempotent
    assert list(tmp_path.iterdir()) == []
    assert "dropped" in repr(database)
    with pytest.raises(RuntimeError):
        database.reset()


def test_a_stale_default_file_in_the_workdir_is_replaced(tmp_path: Path) -> None:
    add_table(f"sqlite:///{tmp_path / 'scratch.sqlite'}")
    with ScratchDatabase.create(None, tmp_path) as database:
        assert table_names(database.url) == []
    assert list(tmp_path.iterdir()) == []


def test_context_manager_drops_on_exception(tmp_path: Path) -> None:
    with pytest.raises(ZeroDivisionError):
        with ScratchDatabase.create(None, tmp_path) as database:
            add_table(database.url)
            1 / 0  # noqa: B018
    assert list(tmp_path.iterdir()) == []


def test_sqlite_url_to_a_new_file_is_made_and_deleted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    with ScratchDatabase.create("sqlite:///new.sqlite", work) as database:
        path = tmp_path / "new.sqlite"
        assert database.url == f"sqlite:///{path}"  # absolute: the worker runs elsewhere
        assert database.owns_file and database.sqlite_path == path
        add_table(database.url)
        database.reset()
        assert path.is_file() and sqlite_tables(path) == []
        add_table(database.url)
    assert not path.exists()
    assert list(work.iterdir()) == []


def test_a_path_with_url_special_characters_round_trips(tmp_path: Path) -> None:
    folder = tmp_path / "a?b#c%d @e"
    folder.mkdir()
    url = sa.engine.URL.create("sqlite", database=str(folder / "x.sqlite"))
    with ScratchDatabase.create(url.render_as_string(), tmp_path) as database:
        add_table(database.url)
        assert sqlite_tables(folder / "x.sqlite") == ["t"]
    assert list(folder.iterdir()) == []


def empty_sqlite_file(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE gone (id INTEGER)")
    conn.execute("DROP TABLE gone")
    conn.close()


@pytest.mark.parametrize("kind", ["sqlite header", "zero bytes"])
def test_an_existing_empty_file_is_kept_and_emptied_again(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "mine.sqlite"
    if kind == "zero bytes":
        path.write_bytes(b"")
    else:
        empty_sqlite_file(path)
    with ScratchDatabase.create(f"sqlite:///{path}", tmp_path / "work") as database:
        assert database.sqlite_path == path and not database.owns_file
        add_table(database.url, "a")
        engine = sa.create_engine(database.url, poolclass=NullPool)
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "CREATE TABLE b (id INTEGER PRIMARY KEY AUTOINCREMENT,"
                " a_id INTEGER REFERENCES a(id))"
            )
            conn.exec_driver_sql("CREATE VIEW v AS SELECT * FROM b")
            conn.exec_driver_sql("CREATE INDEX ix_b ON b (a_id)")
            conn.exec_driver_sql("INSERT INTO b (a_id) VALUES (NULL)")
        engine.dispose()
        database.reset()
        assert path.is_file() and is_empty(database.url)
        add_table(database.url, "again")
    assert path.is_file()
    assert is_empty(f"sqlite:///{path}")
    assert [p.name for p in tmp_path.iterdir() if p.name != "work"] == ["mine.sqlite"]


def test_a_file_with_tables_is_refused_and_not_written(tmp_path: Path) -> None:
    path = tmp_path / "app.sqlite"
    add_table(f"sqlite:///{path}", "users")
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    os.utime(path, ns=(before[1] - 10**9, before[1] - 10**9))  # any write would move it
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    with pytest.raises(MergeguardError) as caught:
        ScratchDatabase.create(f"sqlite:///{path}", tmp_path / "work")
    assert str(path) in caught.value.message and "users" in caught.value.message
    assert caught.value.hint == "pass a new file or an empty database"
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before
    assert not any(sidecar.exists() for sidecar in sidecars(path))
    assert not is_empty(f"sqlite:///{path}")
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before


def test_a_file_that_is_not_sqlite_is_refused_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("not a database, but something that must not be lost\n" * 20)
    with pytest.raises(MergeguardError, match="cannot read .* as a SQLite database"):
        ScratchDatabase.create(f"sqlite:///{path}", tmp_path)
    assert path.read_text().startswith("not a database")


@pytest.mark.parametrize(
    "url", ["sqlite://", "sqlite:///:memory:", "sqlite:///file:x?mode=memory&uri=true"]
)
def test_memory_and_uri_sqlite_urls_are_refused(tmp_path: Path, url: str) -> None:
    with pytest.raises(MergeguardError):
        ScratchDatabase.create(url, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_missing_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MergeguardError, match="is not a directory"):
        ScratchDatabase.create(f"sqlite:///{tmp_path}/nowhere/x.sqlite", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_is_empty_on_sqlite_writes_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "missing.sqlite"
    assert is_empty(f"sqlite:///{missing}")
    assert not missing.exists()
    empty_sqlite_file(tmp_path / "empty.sqlite")
    assert is_empty(f"sqlite:///{tmp_path / 'empty.sqlite'}")


# -- refusals before any server work --------------------------------------------------


def test_unknown_dialect_is_refused_with_the_password_masked(tmp_path: Path) -> None:
    with pytest.raises(MergeguardError) as caught:
        ScratchDatabase.create("oracle://scott:tiger@db.example:1521/orcl", tmp_path)
    assert "oracle://scott:***@db.example:1521/orcl" in caught.value.message
    assert "tiger" not in f"{caught.value.message} {caught.value.hint}"


def test_not_a_url_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MergeguardError, match="not a database URL"):
        ScratchDatabase.create("just words", tmp_path)


def test_unreachable_server_is_refused_with_the_password_masked(tmp_path: Path) -> None:
    url = "postgresql://postgres:s3cret@127.0.0.1:1/postgres"
    with pytest.raises(MergeguardError) as caught:
        ScratchDatabase.create(url, tmp_path)
    text = f"{caught.value.message} {caught.value.hint} {caught.value!r}"
    assert "postgresql://postgres:***@127.0.0.1:1/postgres" in caught.value.message
    assert "s3cret" not in text
    assert "refused" in caught.value.message.lower()  # the driver's own words
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    with pytest.raises(MergeguardError):
        is_empty(url)


def test_a_missing_driver_is_named_with_an_install_hint(tmp_path: Path) -> None:
    if importlib.util.find_spec("MySQLdb") is not None:
        pytest.skip("mysqlclient is installed here, so no driver is missing")
    with pytest.raises(MergeguardError) as caught:
        ScratchDatabase.create("mysql+mysqldb://root:hunter2@127.0.0.1:3306/", tmp_path)
    assert "no database driver" in caught.value.message
    assert "pymysql" in (caught.value.hint or "")
    assert "hunter2" not in caught.value.message


# -- servers --------------------------------------------------------------------------


def test_server_database_is_created_reset_and_dropped(server: Server, tmp_path: Path) -> None:
    database = server.create(tmp_path)
    name = database.url.rsplit("/", 1)[1]
    assert name.startswith("mergeguard_") and len(name) == len("mergeguard_") + 12
    assert name in server.scratch_names() and name in server.scratch_logins()
    login = sa.make_url(database.url)
    assert login.username == name and login.password  # the worker logs in as the scratch login
    assert database.display_url == database.url.replace(str(login.password), "***")
    assert database.sqlite_path is None and database.owns_file
    assert database.dialect == ("postgresql" if "postgresql" in server.url else "mysql")
    assert is_empty(database.url)
    add_table(database.url, "users")
    assert table_names(database.url) == ["users"] and not is_empty(database.url)
    database.reset()
    assert name in server.scratch_names()
    assert table_names(database.url) == [] and is_empty(database.url)
    database.drop()
    database.drop()
    assert name not in server.scratch_names() and name not in server.scratch_logins()


def test_two_scratch_databases_get_different_names(server: Server, tmp_path: Path) -> None:
    with server.create(tmp_path) as one:
        with server.create(tmp_path) as two:
            assert one.url != two.url
            assert {one.url.rsplit("/", 1)[1], two.url.rsplit("/", 1)[1]} <= server.scratch_names()


def test_keyboard_interrupt_inside_with_still_drops(server: Server, tmp_path: Path) -> None:
    with pytest.raises(KeyboardInterrupt):
        with server.create(tmp_path) as database:
            add_table(database.url)
            raise KeyboardInterrupt
    assert database.url.rsplit("/", 1)[1] not in server.scratch_names()


def test_postgres_reset_and_drop_while_connections_are_open(
    postgres: Server, tmp_path: Path
) -> None:
    with postgres.create(tmp_path) as database:
        engine = sa.create_engine(database.url, poolclass=NullPool)
        conn = engine.connect()
        conn.exec_driver_sql("SELECT 1")
        database.reset()
        lingering = engine.connect()
        lingering.exec_driver_sql("SELECT 1")
    engine.dispose()
    assert database.url.rsplit("/", 1)[1] not in postgres.scratch_names()


def test_postgres_password_stays_out_of_every_text(postgres: Server, tmp_path: Path) -> None:
    admin = sa.make_url(postgres.url).set(drivername="postgresql")
    url = admin.set(password="s3cret").render_as_string(hide_password=False)  # trust auth
    with postgres.create(tmp_path, url) as database:
        assert "s3cret" not in database.url  # the worker logs in as the scratch login
        assert "s3cret" not in f"{database.display_url} {database} {database!r}"
        name = database.url.rsplit("/", 1)[1]
        shown = admin.set(username=name, password="x", database="").render_as_string()
        assert database.display_url.startswith(shown.rstrip("/") + "/")
        assert database.notes == []


def test_mariadb_wrong_password_is_masked_in_the_error(mariadb: Server, tmp_path: Path) -> None:
    wrong = sa.make_url(mariadb.url).set(password="Wr0ngPw")
    with pytest.raises(MergeguardError) as caught:
        ScratchDatabase.create(wrong.render_as_string(hide_password=False), tmp_path)
    assert "Wr0ngPw" not in f"{caught.value.message} {caught.value.hint}"
    assert wrong.render_as_string() in caught.value.message  # user:***@host
    assert "denied" in caught.value.message.lower()


def test_mariadb_url_without_driver_falls_back_to_pymysql(mariadb: Server, tmp_path: Path) -> None:
    url = sa.make_url(mariadb.url).set(drivername="mysql").render_as_string(hide_password=False)
    with mariadb.create(tmp_path, url) as database:
        assert database.url.startswith("mysql+")
        assert is_empty(database.url)


def test_admin_database_is_not_required_to_be_empty(postgres: Server, tmp_path: Path) -> None:
    with postgres.create(tmp_path) as holder:
        add_table(holder.url, "precious")
        admin = sa.make_url(postgres.url).set(database=holder.url.rsplit("/", 1)[1])
        with postgres.create(tmp_path, admin.render_as_string(False)) as inner:
            assert is_empty(inner.url)
        assert table_names(holder.url) == ["precious"]


def test_an_admin_that_may_not_create_logins_runs_as_itself_with_a_note(
    postgres: Server, tmp_path: Path
) -> None:
    role = f"mgtest_{uuid.uuid4().hex[:8]}"  # CREATEDB but not CREATEROLE
    engine = sa.create_engine(postgres.url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with engine.connect() as conn:
        conn.exec_driver_sql(f"CREATE ROLE {role} LOGIN CREATEDB")
    try:
        admin = sa.make_url(postgres.url).set(username=role).render_as_string(False)
        with postgres.create(tmp_path, admin) as database:
            assert sa.make_url(database.url).username == role
            [note] = database.notes
            assert "may not create a login" in note and "the guard is weaker" in note, note
            assert is_empty(database.url)
    finally:
        with engine.connect() as conn:
            conn.exec_driver_sql(f"DROP ROLE {role}")
        engine.dispose()


# -- SIGTERM --------------------------------------------------------------------------

SIGTERM_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from mergeguard.scratchdb.database import ScratchDatabase
    database = ScratchDatabase.create(sys.argv[1] or None, Path(sys.argv[2]))
    print(database.url, flush=True)
    time.sleep(60)
    """
)


def terminated_scratch_url(url: str, workdir: Path) -> str:
    """Start a process holding a scratch database, SIGTERM it, return the database's URL."""
    process = subprocess.Popen(
        [sys.executable, "-c", SIGTERM_SCRIPT, url, str(workdir)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert process.stdout is not None
    scratch_url = process.stdout.readline().strip()
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == -signal.SIGTERM
    return scratch_url


def test_sigterm_deletes_a_sqlite_file_mergeguard_made(tmp_path: Path) -> None:
    url = terminated_scratch_url(f"sqlite:///{tmp_path / 'new.sqlite'}", tmp_path)
    assert url.endswith("new.sqlite")
    assert list(tmp_path.iterdir()) == []


def test_sigterm_drops_a_server_database(postgres: Server, tmp_path: Path) -> None:
    url = terminated_scratch_url(postgres.url, tmp_path)
    postgres.made.add(url.rsplit("/", 1)[1])
    assert url.rsplit("/", 1)[1].startswith("mergeguard_")
    assert url.rsplit("/", 1)[1] not in postgres.scratch_names()
