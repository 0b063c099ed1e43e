"""Hostile ``apply`` and the clean-up of ``fix`` (issue 10, item 9).

Every case runs mergeguard as a subprocess with a time and memory limit and
asserts a bounded run, an exit code in 0/1/3, no traceback or internal
error, and the diagnostic.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import alembic
import pytest
import sqlalchemy
from bounded import bounded_mergeguard
from conftest import RepoBuilder, alembic_project, alembic_revision, server_url, set_upgrade

TIME_LIMIT = 60  # seconds; apply starts a worker and Alembic, still well under this
VERSIONS = "migrations/versions"
GENERIC_TEMPLATE = (Path(alembic.__file__).parent / "templates/generic/script.py.mako").read_text()


def mergeguard(root: Path, *args: str, file_size_limit: int = -1) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of a bounded run."""
    result = bounded_mergeguard(root, *args, timeout=TIME_LIMIT, file_size_limit=file_size_limit)
    return result.returncode, result.stdout, result.stderr


def two_heads(repo: RepoBuilder) -> None:
    """main: a1 <- b2 and a1 <- c7, two heads in the working tree."""
    repo.init_alembic()
    repo.write("migrations/script.py.mako", GENERIC_TEMPLATE)
    repo.migration("a1", None)
    repo.migration("b2", "a1")
    repo.migration("c7", "a1")
    repo.commit("two heads")


# -- fix leaves no temporary file behind ----------------------------------------------


def test_fix_removes_stale_temporaries_and_keeps_fresh_ones(repo: RepoBuilder) -> None:
    two_heads(repo)
    versions = repo.root / VERSIONS
    stale = versions / ".m1.py.k3j_9xq2.mergeguard"
    fresh = versions / ".m1.py.abcdefgh.mergeguard"
    not_ours = versions / ".m1.py.toolong99.mergeguard.bak"
    for path in (stale, fresh, not_ours):
        path.write_text("partial")
    two_hours_ago = time.time() - 7200
    for path in (stale, not_ours):
        os.utime(path, (two_hours_ago, two_hours_ago))
    code, _, err = mergeguard(repo.root, "fix", "--merge", "--rev-id", "m1")
    assert code == 0, err
    assert not stale.exists()
    assert fresh.exists() and not_ours.exists()
    assert sorted(p.name for p in versions.glob(".*.mergeguard")) == [fresh.name]


def test_fix_that_fails_writing_leaves_no_temporary(repo: RepoBuilder) -> None:
    two_heads(repo)
    versions = repo.root / VERSIONS
    before = sorted(p.name for p in versions.iterdir())
    # A file size limit of 64 bytes: the temporary file is made, its write fails.
    code, _, err = mergeguard(repo.root, "fix", "--merge", "--rev-id", "m1", file_size_limit=64)
    assert code == 3 and "cannot write migrations/versions/m1" in err, err
    assert sorted(p.name for p in versions.iterdir()) == before


# -- apply: a migration cannot reach another database --------------------------------


def one_migration(repo: RepoBuilder, upgrade: str) -> None:
    """a1 creates users; b2 runs ``upgrade`` (committed on main)."""
    alembic_project(repo, users=True)
    set_upgrade(alembic_revision(repo, "b2", "hostile"), upgrade)
    repo.commit("hostile")


def test_sqlite_attach_is_refused(repo: RepoBuilder, tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    one_migration(
        repo,
        f"op.execute(\"ATTACH DATABASE '{other}' AS o\")\n"
        "op.execute('CREATE TABLE o.stolen (x INTEGER)')",
    )
    code, out, err = mergeguard(repo.root, "apply", "--format", "json")
    assert code == 1, err
    [finding] = [f for f in json.loads(out)["findings"] if f["code"] == "MG301"]
    assert "b2" in finding["message"] and "not authorized" in finding["message"], finding
    assert not other.exists()


@pytest.mark.parametrize(
    ("url", "parameter"),
    [
        ("postgresql+psycopg://postgres@127.0.0.1:5432/postgres?dbname=production", "dbname"),
        ("mysql+pymysql://root@127.0.0.1:3306/?database=production", "database"),
        ("mysql+pymysql://root@127.0.0.1:3306/?DB=production", "DB"),
        ("postgresql://u:secret@127.0.0.1/postgres?service=prod", "service"),
    ],
)
def test_url_parameters_naming_a_database_are_refused(
    repo: RepoBuilder, url: str, parameter: str
) -> None:
    one_migration(repo, "pass")
    code, out, err = mergeguard(repo.root, "apply", "--url", url)
    assert code == 3 and out == "", err
    assert f"names a database with its query parameter ?{parameter}=" in err, err
    assert f"hint: remove ?{parameter}= from --url" in err and "secret" not in err


def postgresql() -> str:
    """The PostgreSQL administration URL (skip, or fail under CI=true, without one)."""
    return server_url("postgresql")


def test_url_parameters_that_do_not_move_the_database_are_kept(repo: RepoBuilder) -> None:
    one_migration(repo, "pass")
    url = postgresql() + "?options=-csearch_path%3Dpublic"
    code, out, err = mergeguard(repo.root, "apply", "--url", url)
    assert code == 0, out + err


@pytest.fixture
def victim() -> Iterator[str]:
    """A PostgreSQL database of its own that a migration must not reach (never the
    shared ``postgres`` one, which other runs need empty)."""
    name = f"mergeguard_victim_{uuid.uuid4().hex[:8]}"
    engine = sqlalchemy.create_engine(postgresql(), isolation_level="AUTOCOMMIT")
    with engine.connect() as admin:
        admin.execute(sqlalchemy.text(f"CREATE DATABASE {name}"))
    yield name
    with engine.connect() as admin:
        admin.execute(sqlalchemy.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    engine.dispose()


def test_a_migration_adding_dbname_to_the_scratch_url_is_refused(
    repo: RepoBuilder, victim: str
) -> None:
    one_migration(
        repo,
        f"url = op.get_bind().engine.url.update_query_dict({{'dbname': '{victim}'}})\n"
        "with sa.create_engine(url).connect() as other:\n"
        "    other.execute(sa.text('CREATE TABLE stolen (x int)'))\n"
        "    other.commit()",
    )
    code, out, err = mergeguard(repo.root, "apply", "--url", postgresql(), "--format", "json")
    assert code == 1, err
    [finding] = [f for f in json.loads(out)["findings"] if f["code"] == "MG301"]
    assert "b2" in finding["message"] and "refused to connect" in finding["message"], finding
    engine = sqlalchemy.create_engine(sqlalchemy.make_url(postgresql()).set(database=victim))
    with engine.connect() as other:
        assert sqlalchemy.inspect(other).get_table_names() == []
    engine.dispose()


# -- apply: a migration that ends the worker is MG301 at its revision ------------------


@pytest.mark.parametrize(
    ("crash", "how"),
    [
        ("import os\nos._exit(3)", "exited with status 3 without a result"),
        ("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)", "was killed by SIGKILL"),
    ],
)
@pytest.mark.parametrize("server", [False, True], ids=["sqlite", "postgresql"])
def test_a_migration_ending_the_worker_is_mg301_naming_it(
    repo: RepoBuilder, tmp_path: Path, crash: str, how: str, server: bool
) -> None:
    one_migration(repo, crash)
    url = ("--url", postgresql()) if server else ()
    code, out, err = mergeguard(repo.root, "apply", *url, "--format", "json")
    assert code == 1, err
    [finding] = [f for f in json.loads(out)["findings"] if f["code"] == "MG301"]
    assert finding["revisions"][0] == "b2" and finding["path"].endswith("b2_hostile.py")
    assert f"fails at revision b2 (b2 alone): the migration process {how}" in finding["message"]
    assert "env.py could not run" not in out + err and "worker failed" not in err


def test_progress_of_a_dead_worker_names_the_running_revision() -> None:
    from mergeguard.scratchdb.crash import read_progress
    from mergeguard.scratchdb.protocol import PathResult, Running

    done = {"name": "b2 alone", "ok": True}
    text = "\n".join(
        [
            json.dumps({"running": {"path": "b2 alone", "step": {}, "revision": "a1"}}),
            json.dumps({"done": done}),
            json.dumps({"running": {"path": "whole history", "step": {}, "revision": "b2"}}),
            json.dumps({"env_used": "builtin", "env_error": "ImportError: app"}),
            '{"running": {"path": "whole hist',  # the line the process died writing
        ]
    )
    crash = read_progress(text)
    assert crash.done == [PathResult("b2 alone", ok=True)] and crash.env_used == "builtin"
    assert crash.running == Running("whole history", None, "b2")
    assert read_progress(json.dumps({"done": done})).running is None
