"""``mergeguard apply`` on SQLite always, and on PostgreSQL and MariaDB where a
server answers on 127.0.0.1; each test makes and drops its own database."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import (
    RepoBuilder,
    alembic_project,
    alembic_revision,
    run_alembic,
    server_url,
    set_upgrade,
)

from mergeguard.app.cli import main


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def database(request: pytest.FixtureRequest) -> str | None:
    """None (the default SQLite file) or a server URL for administration."""
    return None if request.param == "sqlite" else server_url(request.param)


def dialect(database: str | None) -> str:
    return "sqlite" if database is None else database.split("+", 1)[0].split(":", 1)[0]


# The database's own words for adding a column twice, by dialect.
DUPLICATE_EMAIL = {
    "sqlite": "duplicate column name: email",
    "postgresql": 'column "email" of relation "users" already exists',
    "mysql": "Duplicate column name 'email' (error 1060)",
}


def apply(
    capsys: pytest.CaptureFixture[str], repo: RepoBuilder, *args: str, url: str | None = None
) -> tuple[int, list[dict], str]:  # type: ignore[type-arg]
    extra = ["--url", url] if url else []
    code = main(["apply", *args, "-C", str(repo.root), "--format", "json", *extra])
    out, err = capsys.readouterr()
    findings = json.loads(out)["findings"] if out.strip() else []
    return code, findings, err


def files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.parts
    }


def two_branches(
    repo: RepoBuilder, left: tuple[str, str], right: tuple[str, str], merge: bool = True
) -> None:
    """a1 creates users; b2 and c7 branch from it; m1 joins them (committed on main)."""
    alembic_project(repo, users=True)
    set_upgrade(alembic_revision(repo, "b2", "left"), *left)
    set_upgrade(alembic_revision(repo, "c7", "right", head="a1"), *right)
    if merge:
        assert run_alembic(repo, "merge", "-m", "join", "--rev-id", "m1", "heads").returncode == 0
    repo.commit("branches")


ADD_PHONE = (
    "op.add_column('users', sa.Column('phone', sa.String(20)))",
    "op.drop_column('users', 'phone')",
)
ADD_EMAIL = (
    "op.add_column('users', sa.Column('email', sa.String(50)))",
    "op.drop_column('users', 'email')",
)
INDEX_EMAIL = (
    "op.create_index('ix_users_email', 'users', ['email'])",
    "op.drop_index('ix_users_email', table_name='users')",
)


def test_a_clean_diamond_passes(
    repo: RepoBuilder, database: str | None, capsys: pytest.CaptureFixture[str]
) -> None:
    two_branches(repo, ADD_PHONE, ADD_EMAIL)
    before = files(repo.root)
    code, findings, err = apply(capsys, repo, url=database)
    assert (code, findings) == (0, []), err
    assert "paths on" in err
    assert files(repo.root) == before  # no new files in the project


def test_the_same_column_on_two_branches_fails_with_the_database_error(
    repo: RepoBuilder, database: str | None, capsys: pytest.CaptureFixture[str]
) -> None:
    two_branches(repo, ADD_EMAIL, ADD_EMAIL)
    code, findings, _ = apply(capsys, repo, url=database)
    error = DUPLICATE_EMAIL[dialect(database)]
    assert code == 1
    assert [(f["code"], f["message"]) for f in findings] == [
        (
            "MG301",
            "upgrading m1 alone on an empty scratch database fails at revision b2 (m1 alone): "
            + error,
        ),
        (
            "MG301",
            "the merged head fails in every order of merge revision m1 (2 tried), "
            "e.g. b2 then c7 at revision c7: " + error,
        ),
    ]


def test_an_index_on_a_column_only_the_sibling_adds_is_order_dependent(
    repo: RepoBuilder, database: str | None, capsys: pytest.CaptureFixture[str]
) -> None:
    two_branches(repo, ADD_EMAIL, INDEX_EMAIL)
    code, findings, _ = apply(capsys, repo, url=database)
    assert code == 1
    order = [f for f in findings if f["code"] == "MG302"]
    assert order and "b2 then c7" in order[0]["message"] and "c7 then b2" in order[0]["message"]
    # Alembic's own order for `upgrade head` runs c7 first: the merged head fails too
    assert any(f["code"] == "MG301" and "m1 alone" in f["message"] for f in findings)


def test_unmerged_heads_are_tried_in_both_orders(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    two_branches(repo, ADD_EMAIL, ADD_EMAIL, merge=False)
    code, findings, _ = apply(capsys, repo)
    assert code == 1 and any(f["code"] == "MG301" for f in findings)
    assert any("duplicate column name: email" in f["message"] for f in findings)


def test_downgrade_failure_and_roundtrip_drift(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    alembic_project(repo, users=True)
    set_upgrade(
        alembic_revision(repo, "b2", "bad downgrade"),
        ADD_PHONE[0],
        "op.drop_column('users', 'no_such_column')",
    )
    set_upgrade(
        alembic_revision(repo, "c3", "leaves a table"),
        "op.create_table('audit', sa.Column('id', sa.Integer()))",
        "pass",
    )
    repo.commit("history")
    code, findings, _ = apply(capsys, repo)
    codes = {f["code"] for f in findings}
    assert code == 1 and "MG303" in codes
    assert any("b2" in f["revisions"] for f in findings if f["code"] == "MG303")


def test_a_sqlite_database_with_tables_is_refused_and_untouched(
    repo: RepoBuilder, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    two_branches(repo, ADD_PHONE, ADD_EMAIL)
    target = tmp_path / "precious.sqlite"
    with sqlite3.connect(target) as connection:
        connection.execute("create table customers (id integer)")
    before = target.read_bytes()
    code, _, err = apply(capsys, repo, url=f"sqlite:///{target}")
    assert code == 3 and "precious.sqlite" in err
    assert target.read_bytes() == before


@pytest.fixture
def pg_database_with_tables() -> Iterator[str]:
    import sqlalchemy

    admin_url = server_url("postgresql")
    name = f"mergeguard_test_{uuid.uuid4().hex[:10]}"
    admin = sqlalchemy.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sqlalchemy.text(f"CREATE DATABASE {name}"))
    url = sqlalchemy.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    engine = sqlalchemy.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sqlalchemy.text("CREATE TABLE customers (id integer)"))
        connection.execute(sqlalchemy.text("INSERT INTO customers VALUES (1)"))
    engine.dispose()
    yield url
    with admin.connect() as connection:
        connection.execute(sqlalchemy.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


def test_a_server_database_with_tables_is_refused_and_untouched(
    repo: RepoBuilder, pg_database_with_tables: str, capsys: pytest.CaptureFixture[str]
) -> None:
    import sqlalchemy

    two_branches(repo, ADD_PHONE, ADD_EMAIL)
    code, _, err = apply(capsys, repo, url=pg_database_with_tables)
    assert code == 3 and "tables" in err
    engine = sqlalchemy.create_engine(pg_database_with_tables)
    with engine.connect() as connection:
        rows = connection.execute(sqlalchemy.text("SELECT id FROM customers")).all()
        tables = sqlalchemy.inspect(connection).get_table_names()
    engine.dispose()
    assert rows == [(1,)] and tables == ["customers"]


def test_env_py_that_needs_the_application_falls_back(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    two_branches(repo, ADD_PHONE, ADD_EMAIL)
    env = repo.root / "migrations" / "env.py"
    env.write_text("from myapp.models import metadata  # the application\n" + env.read_text())
    repo.commit("env needs the app")
    code, findings, err = apply(capsys, repo)
    assert (code, findings) == (0, []), err
    assert "myapp" in err and "minimal environment" in err


def test_check_apply_runs_after_the_static_rules(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    two_branches(repo, ADD_EMAIL, INDEX_EMAIL)
    code = main(["check", "--apply", "-C", str(repo.root), "--format", "json"])
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert code == 1 and {"MG302"} <= {f["code"] for f in findings}


def test_a_range_that_leaves_two_heads_is_mg102_with_each_head_applied_alone(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    alembic_project(repo, users=True)
    repo.branch("feature")
    set_upgrade(alembic_revision(repo, "b2", "phone"), *ADD_PHONE)
    repo.commit("feature adds b2")
    repo.checkout("main")
    set_upgrade(alembic_revision(repo, "c7", "email"), *ADD_EMAIL)
    repo.commit("main adds c7")
    code, findings, err = apply(capsys, repo, "main..feature")
    assert code == 1, err
    assert [(f["code"], f["severity"]) for f in findings] == [("MG102", "error")]
    assert set(findings[0]["revisions"]) >= {"b2", "c7"}
    assert "b2 alone: up and down cleanly" in err and "c7 alone: up and down cleanly" in err
    assert "no problems found" not in err
    main(["apply", "main..feature", "-C", str(repo.root)])  # the text report says so too
    out, err = capsys.readouterr()
    assert "MG102" in out and "1 error" in err and "several heads" in err


def test_a_ref_with_two_heads_is_mg101_and_a_failing_head_is_named(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    two_branches(repo, ADD_PHONE, ("op.drop_column('users', 'no_such_column')", "pass"), False)
    code, findings, err = apply(capsys, repo, "main")
    assert code == 1, err
    assert {f["code"] for f in findings} == {"MG101", "MG301"}
    assert "b2 alone: up and down cleanly" in err
    assert "c7 alone: upgrade fails at revision c7" in err


MISSING = "sqlalchemy_utils_not_installed_xyz"
NOT_INSTALLED = (
    f"mergeguard: error: could not run: `{MISSING}` is not installed in this environment"
)


def _import_missing(path: Path) -> None:
    text = path.read_text()
    path.write_text(
        text.replace("import sqlalchemy as sa\n", f"import sqlalchemy as sa\nimport {MISSING}\n", 1)
    )


def test_a_migration_importing_a_module_that_is_not_installed_cannot_run(
    repo: RepoBuilder, database: str | None, capsys: pytest.CaptureFixture[str]
) -> None:
    two_branches(repo, ADD_PHONE, ADD_EMAIL)
    _import_missing(repo.root / "migrations" / "versions" / "c7_right.py")
    repo.commit("c7 needs a package")
    code, findings, err = apply(capsys, repo, "main", url=database)
    assert (code, findings) == (3, []), err
    assert f"{NOT_INSTALLED} (imported by migrations/versions/c7_right.py:12)" in err
    assert "hint: run apply in the project's own environment" in err
    assert "MG301" not in err


def test_env_py_and_a_migration_importing_a_missing_module_cannot_run(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    """The built-in environment is tried (env.py needs the module) and needs it too."""
    two_branches(repo, ADD_PHONE, ADD_EMAIL)
    _import_missing(repo.root / "migrations" / "versions" / "b2_left.py")
    env = repo.root / "migrations" / "env.py"
    env.write_text(f"import {MISSING}\n" + env.read_text())
    repo.commit("the project needs a package")
    code = main(["apply", "main", "-C", str(repo.root)])
    out, err = capsys.readouterr()
    assert code == 3 and out == "", err
    assert f"{NOT_INSTALLED} (imported by migrations/versions/b2_left.py:12)" in err
    assert "MG301" not in err
    code = main(["check", "--apply", "-C", str(repo.root), "main~1..main"])
    assert code == 3 and NOT_INSTALLED in capsys.readouterr().err


def test_a_module_name_from_the_project_is_printed_escaped(tmp_path: Path) -> None:
    from mergeguard.errors import MergeguardError
    from mergeguard.scratchdb.apply import refuse_missing_modules
    from mergeguard.scratchdb.protocol import MissingModule, PathResult

    found = MissingModule("evil\x1b[2Jname", str(tmp_path / "env.py"), 3)
    fine = PathResult("a1 alone", ok=True)
    refuse_missing_modules([fine], tmp_path)  # nothing missing: no error
    with pytest.raises(MergeguardError) as raised:
        failed = PathResult("b2 alone", ok=False, missing_module=found)
        refuse_missing_modules([fine, failed], tmp_path)
    assert raised.value.message == (
        "could not run: `evil\\x1b[2Jname` is not installed in this environment "
        "(imported by env.py:3)"
    )
