"""``mergeguard status`` keeps its promises: read only even where a write
would be refused anyway (least-privilege logins, a read-only PostgreSQL
database), no password in any output, bounded time on a server that never
answers, and a clear exit 3 only when it cannot run at all.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import RepoBuilder
from deployedkit import Deployed, deployed_database, line, project_fixtures, upgraded
from test_deployed_databases import status

PASSWORD = "Pw-9f3a!s3cr%t"  # percent, bang, dash: spelled several ways in a URL


template, repo = project_fixtures(line)  # a fresh copy of the project per test


@pytest.fixture
def postgres(tmp_path: Path) -> Iterator[Deployed]:
    yield from deployed_database("postgresql", tmp_path)


@pytest.fixture
def mariadb(tmp_path: Path) -> Iterator[Deployed]:
    yield from deployed_database("mariadb", tmp_path)


def every_format(capsys: pytest.CaptureFixture[str], repo: RepoBuilder, *args: str) -> str:
    """stdout and stderr of status in each format."""
    seen = []
    for fmt in ("text", "json", "markdown"):
        _, out, err = status(capsys, repo, "--format", fmt, *args)
        seen.append(out + err)
    return "\n".join(seen)


def read_as(
    capsys: pytest.CaptureFixture[str], repo: RepoBuilder, database: Deployed, url: str
) -> dict[str, object]:
    """The database as ``status`` reads it through ``url`` (a login of the
    test's), proving the read changed nothing and printed no password."""
    before = database.contents()
    code, out, err = status(capsys, repo, "--format", "json", "--url", url)
    assert database.contents() == before
    assert code == 0, err
    assert PASSWORD not in every_format(capsys, repo, "--url", url)
    [found] = json.loads(out)["databases"]
    return dict(found)


# -- read only, proven by logins that could do nothing else ---------------------------------


def test_postgresql_select_only_login_on_a_read_only_database(
    capsys: pytest.CaptureFixture[str], repo: RepoBuilder, postgres: Deployed
) -> None:
    assert upgraded(repo, postgres.url, "a1") == ("a1",)
    reader = f"{postgres.name}_reader"
    postgres.execute(
        f"CREATE ROLE {reader} LOGIN PASSWORD '{PASSWORD}'",
        f"REVOKE ALL ON DATABASE {postgres.name} FROM PUBLIC",
        "REVOKE ALL ON SCHEMA public FROM PUBLIC",
        f"GRANT CONNECT ON DATABASE {postgres.name} TO {reader}",
        f"GRANT USAGE ON SCHEMA public TO {reader}",
        f"GRANT SELECT ON alembic_version TO {reader}",
        f"ALTER DATABASE {postgres.name} SET default_transaction_read_only = on",
    )
    found = read_as(capsys, repo, postgres, postgres.with_login(reader, PASSWORD))
    assert (found["state"], found["current"], found["pending"]) == ("behind", ["a1"], ["b2"])


def test_mariadb_select_only_user(
    capsys: pytest.CaptureFixture[str], repo: RepoBuilder, mariadb: Deployed
) -> None:
    assert upgraded(repo, mariadb.url, "heads") == ("a1", "b2")
    reader = f"{mariadb.name}_r"
    mariadb.execute(
        f"CREATE USER '{reader}'@'%' IDENTIFIED BY '{PASSWORD}'",
        f"GRANT SELECT ON {mariadb.name}.* TO '{reader}'@'%'",
        database=False,
    )
    found = read_as(capsys, repo, mariadb, mariadb.with_login(reader, PASSWORD))
    assert (found["state"], found["current"], found["pending"]) == ("up-to-date", ["b2"], [])


# -- passwords ------------------------------------------------------------------------


def test_a_wrong_mariadb_password_is_unreachable_and_masked(
    capsys: pytest.CaptureFixture[str], repo: RepoBuilder, mariadb: Deployed
) -> None:
    user = f"{mariadb.name}_w"
    mariadb.execute(f"CREATE USER '{user}'@'%' IDENTIFIED BY 'right-one'", database=False)
    url = mariadb.with_login(user, PASSWORD)
    code, out, _ = status(capsys, repo, "--format", "json", "--url", url)
    assert code == 0  # unreachable is not an error finding
    [found] = json.loads(out)["databases"]
    assert found["state"] == "unreachable"
    assert "denied" in found["error"].lower()
    assert found["url"].startswith(f"mysql+pymysql://{user}:***@")
    assert PASSWORD not in every_format(capsys, repo, "--url", url)


def test_a_postgresql_password_never_shows_on_an_error(
    capsys: pytest.CaptureFixture[str], repo: RepoBuilder, postgres: Deployed
) -> None:
    """The server names the missing database; the password, in each of its
    spellings, is never printed (the URL is masked, the message scrubbed)."""
    missing = postgres.with_login("postgres", PASSWORD).replace(
        postgres.name, f"{postgres.name}_gone"
    )
    text = every_format(capsys, repo, "--url", missing)
    assert f"{postgres.name}_gone" in text and "does not exist" in text
    assert PASSWORD not in text
    assert "s3cr" not in text


# -- time bounds ----------------------------------------------------------------------


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts connections and never says a word."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()


@pytest.mark.parametrize("scheme", ["postgresql+psycopg", "mysql+pymysql"])
def test_a_server_that_never_answers_is_bounded_by_the_timeout(
    capsys: pytest.CaptureFixture[str],
    repo: RepoBuilder,
    silent_server: int,
    scheme: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MERGEGUARD_DB_TIMEOUT", "2")
    url = f"{scheme}://user:{PASSWORD}@127.0.0.1:{silent_server}/db"
    started = time.monotonic()
    code, out, _ = status(capsys, repo, "--format", "json", "--url", url)
    took = time.monotonic() - started
    assert code == 0
    [found] = json.loads(out)["databases"]
    assert found["state"] == "unreachable"
    assert PASSWORD not in out
    assert took < 10, f"{took:.1f}s"


def test_a_closed_port_is_unreachable_at_once(
    capsys: pytest.CaptureFixture[str], repo: RepoBuilder
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens once it is closed
    code, out, _ = status(capsys, repo, "--url", f"postgresql://u@127.0.0.1:{port}/db")
    assert code == 0
    assert "url1: unreachable" in out and "Connection refused" in out


# -- configuration --------------------------------------------------------------------


def test_an_unset_variable_is_unreachable_naming_it(
    capsys: pytest.CaptureFixture[str], repo: RepoBuilder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MG_TEST_UNSET_URL", raising=False)
    repo.write("pyproject.toml", '[tool.mergeguard.databases]\nprod = "env:MG_TEST_UNSET_URL"\n')
    code, out, _ = status(capsys, repo, "--format", "json")
    assert code == 0
    [found] = json.loads(out)["databases"]
    assert (found["name"], found["url"], found["state"]) == (
        "prod",
        "env:MG_TEST_UNSET_URL",
        "unreachable",
    )
    assert "MG_TEST_UNSET_URL is not set" in found["error"]


@pytest.mark.parametrize(
    ("pyproject", "says"),
    [
        (None, "no databases to read"),
        ("[tool.mergeguard.databases]\nprod = 3\n", "[tool.mergeguard.databases] prod must be"),
        (
            "[tool.mergeguard.databases]\n"
            "prod = { url = 'sqlite:///x.db', environment = 'nope' }\n",
            "'nope' is not an Alembic environment",
        ),
    ],
)
def test_cannot_run_is_exit_3_with_a_hint(
    capsys: pytest.CaptureFixture[str], repo: RepoBuilder, pyproject: str | None, says: str
) -> None:
    if pyproject:
        repo.write("pyproject.toml", pyproject)
    code, out, err = status(capsys, repo)
    assert code == 3
    assert out == ""
    assert says in err and "hint:" in err


def test_a_sqlite_wal_database_gets_no_files_beside_it(
    capsys: pytest.CaptureFixture[str], repo: RepoBuilder, tmp_path: Path
) -> None:
    """Even ``mode=ro`` makes ``-wal`` and ``-shm`` files for a WAL database;
    with everything in the main file, it is read as immutable.  While a
    writer holds it open, its latest commit (in the ``-wal``) is what is read."""
    import sqlite3

    (tmp_path / "db").mkdir()
    path = tmp_path / "db" / "wal.db"
    writer = sqlite3.connect(path)
    writer.execute("PRAGMA journal_mode = WAL")
    writer.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
    writer.execute("INSERT INTO alembic_version VALUES ('a1')")
    writer.commit()
    writer.close()
    before = path.read_bytes()
    code, out, _ = status(capsys, repo, "--url", f"sqlite:///{path}")
    assert (code, "url1: behind" in out) == (0, True)
    assert sorted(p.name for p in path.parent.iterdir()) == ["wal.db"]
    assert path.read_bytes() == before

    writer = sqlite3.connect(path)
    writer.execute("UPDATE alembic_version SET version_num = 'b2'")
    writer.commit()  # in the -wal file only, while the writer is open
    try:
        _, out, _ = status(capsys, repo, "--url", f"sqlite:///{path}")
    finally:
        writer.close()
    assert "url1: up-to-date" in out


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("notaurl", "not a database URL"),
        ("oracle://u@h/db", "unsupported database 'oracle'"),
        ("postgresql+nosuch://u@h/db", "Can't load plugin"),
        ("sqlite://", "must name a database file"),
        ("mysql+pymysql://u@127.0.0.1:1/", "the URL names no database"),
        ("postgresql://u@127.0.0.1:99999/db", "invalid port number"),
        ("mysql+pymysql://u:pw@127.0.0.1:1/db?read_timeout=x", "invalid literal for int()"),
    ],
)
def test_a_bad_url_is_an_unreachable_database_never_a_traceback(
    capsys: pytest.CaptureFixture[str], repo: RepoBuilder, url: str, says: str
) -> None:
    code, out, err = status(capsys, repo, "--format", "json", "--url", url)
    assert code == 0
    [found] = json.loads(out)["databases"]
    assert found["state"] == "unreachable"
    assert says in found["error"]
    assert "Traceback" not in err and "pw" not in out + err
