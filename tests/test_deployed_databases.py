"""``mergeguard status`` on real databases: SQLite always, PostgreSQL and
MariaDB on their servers (each test makes and drops its own database).

Real Alembic puts each database into its state; what ``status`` says
``upgrade heads`` would run is compared with what Alembic then runs, order
included; every run is proven to change nothing in the database (every
table's rows and the schema, and for SQLite the file's bytes, before and
after).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import RepoBuilder, alembic_revision
from deployedkit import ENGINES, Deployed, deployed_database, diamond, project_fixtures, upgraded

from mergeguard.app.cli import main


@pytest.fixture(params=ENGINES)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Deployed]:
    yield from deployed_database(str(request.param), tmp_path)


template, repo = project_fixtures(diamond)  # a fresh copy of the project per test


def status(
    capsys: pytest.CaptureFixture[str], repo: RepoBuilder, *args: str
) -> tuple[int, str, str]:
    code = main(["-C", str(repo.root), "status", *args])
    out, err = capsys.readouterr()
    return code, out, err


def status_json(
    capsys: pytest.CaptureFixture[str],
    repo: RepoBuilder,
    database: Deployed,
    *urls: str,
    code: int = 0,
) -> list[dict[str, object]]:
    """``status --format json`` (on ``urls``, else the configured databases),
    proving that the run changed nothing in ``database``."""
    before = database.contents()
    given = [arg for url in urls for arg in ("--url", url)]
    found, out, err = status(capsys, repo, "--format", "json", *given)
    assert database.contents() == before
    assert found == code, err
    document = json.loads(out)
    assert document["schema"] == "mergeguard/status/1"
    databases: list[dict[str, object]] = document["databases"]
    return databases


def test_every_state_and_what_upgrade_heads_runs(
    capsys: pytest.CaptureFixture[str], repo: RepoBuilder, database: Deployed
) -> None:
    [empty] = status_json(capsys, repo, database, database.url)
    assert (empty["name"], empty["state"], empty["current"]) == ("url1", "empty", [])
    assert empty["pending"] == ["a1", "c3", "b2", "m4", "d5"]

    assert upgraded(repo, database.url, "b2") == ("a1", "b2")
    [behind] = status_json(capsys, repo, database, database.url)
    assert (behind["state"], behind["current"]) == ("behind", ["b2"])
    assert behind["pending"] == ["c3", "m4", "d5"]  # across the merge point

    assert upgraded(repo, database.url, "c3") == ("c3",)  # two rows: several heads
    [heads] = status_json(capsys, repo, database, database.url)
    assert (heads["state"], heads["current"], heads["pending"]) == (
        "behind",
        ["b2", "c3"],
        ["m4", "d5"],
    )
    assert list(upgraded(repo, database.url)) == heads["pending"]  # what Alembic runs

    [up] = status_json(capsys, repo, database, database.url)
    assert (up["state"], up["current"], up["pending"], up["refs"]) == ("up-to-date", ["d5"], [], [])


def test_stranded_names_the_branch_that_has_the_revision(
    capsys: pytest.CaptureFixture[str], repo: RepoBuilder, database: Deployed
) -> None:
    repo.branch("feature-x")
    alembic_revision(repo, "x9", "feature x")
    repo.commit("feature x")
    [empty] = status_json(capsys, repo, database, database.url)
    assert list(upgraded(repo, database.url)) == empty["pending"]  # Alembic's whole order
    assert len(empty["pending"]) == 6  # type: ignore[arg-type]

    repo.checkout("main")
    [stranded] = status_json(capsys, repo, database, database.url, code=1)
    assert (stranded["state"], stranded["current"], stranded["refs"]) == (
        "stranded",
        ["x9"],
        ["feature-x"],
    )
    code, out, _ = status(capsys, repo, "--url", database.url)
    assert code == 1
    assert "not in this history: x9 (on: feature-x)" in out


ENV_PY_TABLE = 'VERSION_TABLE = "deploy_versions"\nVERSION_SCHEMA = {schema!r}\n'


def custom_version_table(repo: RepoBuilder, database: Deployed) -> str | None:
    """env.py writes its versions to ``deploy_versions`` in a schema of its own
    (PostgreSQL: a schema; MariaDB: another database; SQLite: none)."""
    schema = None
    if database.kind == "postgresql":
        schema = "audit"
        database.execute("CREATE SCHEMA audit")
    elif database.kind == "mariadb":
        schema = f"{database.name}_audit"
        database.extra.append(schema)
        database.execute(f"CREATE DATABASE {schema}")
    env_py = repo.root / "migrations" / "env.py"
    text = env_py.read_text()
    configured = "target_metadata=target_metadata"
    assert text.count(configured) == 2  # offline and online
    text = text.replace(
        configured,
        f"{configured}, version_table=VERSION_TABLE, version_table_schema=VERSION_SCHEMA",
    )
    env_py.write_text(ENV_PY_TABLE.format(schema=schema) + text)
    return schema


def test_a_custom_version_table_and_schema_from_env_py_or_the_setting(
    capsys: pytest.CaptureFixture[str],
    repo: RepoBuilder,
    database: Deployed,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    schema = custom_version_table(repo, database)
    repo.write(
        "pyproject.toml",
        "[tool.mergeguard.databases]\n"
        'staging = "env:MG_TEST_STAGING_URL"\n'
        'default = { url = "env:MG_TEST_STAGING_URL", version_table = "alembic_version" }\n',
    )
    repo.commit("custom version table")
    monkeypatch.setenv("MG_TEST_STAGING_URL", database.url)
    assert upgraded(repo, database.url, "m4") == ("a1", "c3", "b2", "m4")
    staging, default = status_json(capsys, repo, database)
    assert (staging["name"], staging["state"], staging["current"]) == ("staging", "behind", ["m4"])
    assert staging["pending"] == ["d5"]
    assert staging["url"] == database.url  # no password here; see the masking tests
    assert (default["state"], default["current"]) == ("empty", [])  # no alembic_version
    if schema is not None:  # the table really is in the schema (not a default-schema copy)
        assert (schema, "deploy_versions") in [key[:2] for key in _tables(database)]


def _tables(database: Deployed) -> list[tuple[str, str]]:
    contents = database.contents()
    rows = contents[-2] if database.kind == "postgresql" else contents[-1]  # type: ignore[index]
    return list(rows)


def test_a_missing_sqlite_file_is_empty_and_never_created(
    capsys: pytest.CaptureFixture[str], repo: RepoBuilder, tmp_path: Path
) -> None:
    """As Alembic sees it (``upgrade`` would create the file and apply
    everything); mergeguard never creates it."""
    missing = tmp_path / "nowhere.db"
    code, out, _ = status(capsys, repo, "--format", "json", "--url", f"sqlite:///{missing}")
    assert code == 0
    [found] = json.loads(out)["databases"]
    assert (found["state"], found["current"], found["error"]) == ("empty", [], None)
    assert found["pending"] == ["a1", "c3", "b2", "m4", "d5"]
    code, out, _ = status(capsys, repo, "--url", f"sqlite:///{missing}")
    assert f"no database file at {missing} yet (alembic upgrade would create it)" in out
    assert not missing.exists()
    _, out, _ = status(capsys, repo, "--url", f"sqlite:///{tmp_path / 'no-dir' / 'x.db'}")
    assert "url1: unreachable" in out and "nor its directory" in out
    (tmp_path / "a-directory.db").mkdir()
    _, out, _ = status(capsys, repo, "--url", f"sqlite:///{tmp_path / 'a-directory.db'}")
    assert "url1: unreachable" in out and "is not a SQLite database file" in out


def test_integrity_errors_of_the_history_are_noted_not_findings(
    capsys: pytest.CaptureFixture[str], repo: RepoBuilder, tmp_path: Path
) -> None:
    """A revision naming a missing parent (MG004) is check's finding; status
    exits on the databases alone, and says the pending list is doubtful."""
    repo.migration("z9", "gone", filename="z9_orphan.py")
    missing = tmp_path / "nowhere.db"
    code, out, err = status(capsys, repo, "--format", "json", "--url", f"sqlite:///{missing}")
    assert code == 0
    assert json.loads(out)["findings"] == []
    assert "1 integrity error(s) (MG004)" in err


def test_a_relative_sqlite_path_is_read_from_the_project_root(
    capsys: pytest.CaptureFixture[str], repo: RepoBuilder
) -> None:
    """``sqlite:///app.db`` in pyproject.toml is the file Alembic run from the
    project root uses, wherever mergeguard is started (-C a sub-directory)."""
    upgraded(repo, f"sqlite:///{repo.root / 'app.db'}", "b2")
    repo.write("pyproject.toml", '[tool.mergeguard.databases]\nlocal = "sqlite:///app.db"\n')
    for start in (repo.root, repo.root / "migrations"):
        code = main(["-C", str(start), "status", "--format", "json"])
        out, err = capsys.readouterr()
        assert code == 0, err
        [found] = json.loads(out)["databases"]
        assert (found["state"], found["current"]) == ("behind", ["b2"]), start
    assert not (repo.root / "migrations" / "app.db").exists()


def test_a_hostile_version_table_is_read_within_bounds(
    capsys: pytest.CaptureFixture[str], repo: RepoBuilder, database: Deployed
) -> None:
    """Rows are cut and counted by the query itself (the drivers buffer a whole
    result first): 5,000 rows of 200 KB would be a gigabyte on the client."""
    upgraded(repo, database.url, "b2")
    if database.kind == "sqlite":
        database.execute(
            "DROP TABLE alembic_version", "CREATE TABLE alembic_version (version_num TEXT)"
        )
    elif database.kind == "postgresql":
        database.execute("ALTER TABLE alembic_version ALTER COLUMN version_num TYPE text")
    else:
        database.execute("ALTER TABLE alembic_version MODIFY version_num VARCHAR(700)")
    long_row = "x" * 300
    database.execute(f"INSERT INTO alembic_version VALUES ('{long_row}')")
    [found] = status_json(capsys, repo, database, database.url)
    assert found["state"] == "unreachable"
    assert "longer than 255 characters" in str(found["error"])
    assert long_row not in json.dumps(found)
