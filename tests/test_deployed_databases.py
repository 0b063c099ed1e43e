"""Deployed databases read for real: SQLite always, PostgreSQL and MariaDB on
their servers (each test makes and drops its own database).  Real Alembic
puts each database into its state; what mergeguard says ``upgrade heads``
would run is compared with what Alembic then runs; every read is proven to
change nothing (every table's rows and the schema, before and after).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import RepoBuilder, alembic_project, alembic_revision, run_alembic
from deployedkit import ENGINES, Deployed, deployed_database, upgraded

from mergeguard.app.deployed import read_deployed
from mergeguard.app.options import Options
from mergeguard.app.workspace import Workspace
from mergeguard.graph.deployed import classify
from mergeguard.model import DatabaseSetting, DatabaseStatus


@pytest.fixture(params=ENGINES)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Deployed]:
    yield from deployed_database(str(request.param), tmp_path)


def diamond(repo: RepoBuilder) -> None:
    """a1 -> b2, a1 -> c3, m4 merges them, d5 on m4 (a real ``alembic merge``)."""
    alembic_project(repo)
    alembic_revision(repo, "b2", "b two")
    alembic_revision(repo, "c3", "c three", head="a1")
    result = run_alembic(repo, "merge", "-m", "join", "--rev-id", "m4", "heads")
    assert result.returncode == 0, result.stderr
    alembic_revision(repo, "d5", "d five")
    repo.commit("diamond")


def status_of(repo: RepoBuilder, url: str, **given: str) -> DatabaseStatus:
    workspace = Workspace(Options(repo.root))
    snapshot = workspace.snapshot()
    reads = {read.environment.name: read for read in workspace.read(snapshot)}
    [reading] = read_deployed(workspace, snapshot, reads, [DatabaseSetting("db", url, **given)])
    return classify(reads[reading.environment].graph, reading)


def read_only(database: Deployed, repo: RepoBuilder, url: str | None = None) -> DatabaseStatus:
    """The status, and the proof that reading changed nothing in the database."""
    before = database.contents()
    found = status_of(repo, url or database.url)
    assert database.contents() == before
    return found


def test_every_state_and_what_upgrade_heads_runs(repo: RepoBuilder, database: Deployed) -> None:
    diamond(repo)
    empty = read_only(database, repo)
    assert (empty.state, empty.reading.current) == ("empty", None)

    assert upgraded(repo, database.url, "b2") == ("a1", "b2")
    behind = read_only(database, repo)
    assert (behind.state, behind.reading.current) == ("behind", ("b2",))
    assert behind.pending == ("c3", "m4", "d5")

    assert upgraded(repo, database.url, "c3") == ("c3",)  # two rows: several heads
    heads = read_only(database, repo)
    assert (heads.state, heads.reading.current, heads.pending) == (
        "behind",
        ("b2", "c3"),
        ("m4", "d5"),
    )
    assert upgraded(repo, database.url) == heads.pending  # what Alembic then runs, in order

    up = read_only(database, repo)
    assert (up.state, up.reading.current, up.pending) == ("up-to-date", ("d5",), ())


def test_pending_on_an_empty_database_is_alembics_whole_order(
    repo: RepoBuilder, database: Deployed
) -> None:
    diamond(repo)
    pending = read_only(database, repo).pending
    assert len(pending) == 5
    assert upgraded(repo, database.url) == pending


def test_stranded_names_the_branch_that_has_the_revision(
    repo: RepoBuilder, database: Deployed
) -> None:
    diamond(repo)
    repo.branch("feature-x")
    alembic_revision(repo, "x9", "feature x")
    repo.commit("feature x")
    assert upgraded(repo, database.url) == ("a1", "c3", "b2", "m4", "d5", "x9")
    repo.checkout("main")
    stranded = read_only(database, repo)
    assert stranded.state == "stranded"
    assert (stranded.stranded, stranded.refs) == (("x9",), ("feature-x",))
    assert stranded.reading.refs == (("x9", ("feature-x",)),)
