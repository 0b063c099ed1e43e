"""check, fix and graph with deployed databases: real git repositories, a
real Alembic project, and real databases (SQLite always; PostgreSQL and
MariaDB where the servers answer, required under CI=true) put on their
revisions by real ``alembic upgrade`` / ``downgrade``.

What must hold: ``fix --rebase`` refuses to move a revision a database has
applied (exit 1, nothing written, the database and the revision named) and
is allowed once that database is downgraded below it; ``check`` reports
MG401 / MG402 for what is really wrong and nothing for a database that is
merely behind or on a revision the range keeps; ``fix --merge`` says which
databases will run the merge; an unreachable database is a warning.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import RepoBuilder, alembic_project, alembic_revision, diverged_alembic_project
from deployedkit import ENGINES, Deployed, alembic_at, deployed_database, upgraded
from test_rule_examples import write_version_table

from mergeguard.app.cli import main

VERSIONS = Path("migrations") / "versions"


def fresh(kind: str, directory: Path) -> Iterator[Deployed]:
    """A database of ``kind`` of its own (a SQLite file in ``directory``)."""
    directory.mkdir(parents=True, exist_ok=True)
    yield from deployed_database(kind, directory)


@pytest.fixture(params=ENGINES)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Deployed]:
    yield from fresh(request.param, tmp_path / "db")


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Deployed]:
    yield from fresh("sqlite", tmp_path / "db2")


def databases_table(**databases: str) -> str:
    """pyproject.toml's [tool.mergeguard.databases] naming ``databases``."""
    lines = ["[tool.mergeguard.databases]"] + [f'{k} = "{v}"' for k, v in databases.items()]
    return "\n".join(lines) + "\n"


def configure(repo: RepoBuilder, **databases: str) -> None:
    """[tool.mergeguard.databases] in the work tree (committed by the caller)."""
    repo.write("pyproject.toml", databases_table(**databases))


def diverged(repo: RepoBuilder, **databases: str) -> RepoBuilder:
    """main: a1 <- c3; feature: a1 <- b2 (adds users.email); feature checked
    out; the databases configured on both branches."""
    return diverged_alembic_project(repo, databases_table(**databases))


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def b2_file(repo: RepoBuilder) -> Path:
    [path] = (repo.root / VERSIONS).glob("b2_*.py")
    return path


def test_rebase_refuses_what_a_database_applied_until_it_is_downgraded(
    repo: RepoBuilder, database: Deployed, capsys: pytest.CaptureFixture[str]
) -> None:
    diverged(repo, dev=database.url)
    assert upgraded(repo, database.url) == ("a1", "b2")  # the developer's database ran b2
    before = b2_file(repo).read_bytes()
    code, out, err = run(capsys, "fix", "--rebase", "main..feature", "-C", str(repo.root))
    assert code == 1, err
    assert "database dev has applied revision b2" in err and "fix --merge" in err
    assert "alembic downgrade b2@a1" in err
    assert b2_file(repo).read_bytes() == before and out == ""
    assert repo.git("status", "--porcelain") == ""

    alembic_at(repo, database.url, "downgrade", "a1")  # back below b2: nothing applied moves
    code, _, err = run(capsys, "fix", "--rebase", "main..feature", "-C", str(repo.root))
    assert code == 0, err
    assert "down_revision of b2 -> c3" in err
    assert re.search(r"(?m)^down_revision.* = 'c3'$", b2_file(repo).read_text())
    # and Alembic agrees: with main merged in, the database upgrades through the new line
    repo.commit("b2 onto c3")
    repo.git("merge", "-q", "--no-edit", "main")
    assert upgraded(repo, database.url) == ("c3", "b2")


def test_rebase_with_no_databases_does_not_ask_them(
    repo: RepoBuilder, sqlite_db: Deployed, capsys: pytest.CaptureFixture[str]
) -> None:
    diverged(repo, dev=sqlite_db.url)
    upgraded(repo, sqlite_db.url)
    args = ["fix", "--rebase", "main..feature", "-C", str(repo.root), "--dry-run"]
    assert run(capsys, *args)[0] == 1
    code, out, _ = run(capsys, *args, "--no-databases")
    assert code == 0 and "'c3'" in out  # the diff of the dry run


def test_rebase_refuses_when_a_database_cannot_be_read(
    repo: RepoBuilder, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    not_a_database = tmp_path / "staging.db"
    not_a_database.write_bytes(b"this is no SQLite file " * 100)
    diverged(repo, staging=f"sqlite:///{not_a_database}")
    code, _, err = run(capsys, "fix", "--rebase", "main..feature", "-C", str(repo.root))
    assert code == 1
    assert "database staging could not be read" in err and "--no-databases" in err
    assert repo.git("status", "--porcelain") == ""
    assert (
        run(capsys, "fix", "--rebase", "main..feature", "-C", str(repo.root), "--no-databases")[0]
        == 0
    )


def test_merge_says_which_databases_run_it_next(
    repo: RepoBuilder, sqlite_db: Deployed, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    staging = next(fresh("sqlite", tmp_path / "staging"))
    diverged(repo, dev=sqlite_db.url, staging=staging.url)
    upgraded(repo, sqlite_db.url)  # dev: feature's b2
    repo.checkout("main")
    upgraded(repo, staging.url)  # staging: main's c3
    repo.checkout("feature")
    repo.git("merge", "-q", "--no-commit", "--no-ff", "main")  # a merge in progress
    code, _, err = run(capsys, "fix", "--merge", "-C", str(repo.root))
    assert code == 0, err
    [merge] = [
        line for line in repo.git("status", "--porcelain").splitlines() if line.startswith("??")
    ]
    rev = Path(merge.split()[-1]).name.split("_")[0]
    assert f"database dev will run c3, then merge revision {rev}" in err
    assert f"database staging will run b2, then merge revision {rev}" in err
    # what Alembic then runs on staging is what was said
    assert upgraded(repo, staging.url) == ("b2", rev)


def check_json(capsys: pytest.CaptureFixture[str], repo: RepoBuilder, *args: str) -> dict:
    code, out, _ = run(capsys, "check", *args, "-C", str(repo.root), "--format", "json")
    document = json.loads(out)
    document["exit"] = code
    return document


def codes(document: dict) -> list[str]:
    return sorted(f["code"] for f in document["findings"])


def test_check_rewriting_an_applied_revision(
    repo: RepoBuilder, database: Deployed, capsys: pytest.CaptureFixture[str]
) -> None:
    """main: a1 <- b2 <- c3, deployed to staging; feature re-points c3 onto a1."""
    alembic_project(repo, users=True)
    configure(repo, staging=database.url)
    alembic_revision(repo, "b2", "two")
    alembic_revision(repo, "c3", "three")
    repo.commit("main")
    repo.branch("feature")
    path = next((repo.root / VERSIONS).glob("c3_*.py"))
    path.write_text(re.sub(r"(?m)^(down_revision.*= )'b2'", r"\1'a1'", path.read_text()))
    repo.commit("re-point c3")
    repo.checkout("main")

    upgraded(repo, database.url, "b2")  # staging is behind: c3 not applied yet
    document = check_json(capsys, repo, "main..feature")
    assert "MG402" not in codes(document) and "MG401" not in codes(document)

    upgraded(repo, database.url)  # now it applied c3
    document = check_json(capsys, repo, "main..feature")
    assert "MG402" in codes(document) and document["exit"] == 1
    [finding] = [f for f in document["findings"] if f["code"] == "MG402"]
    assert "database staging applied revision c3" in finding["message"]
    assert finding["path"].endswith(path.name)


def test_check_a_rewrite_git_does_not_count_as_published(
    repo: RepoBuilder, sqlite_db: Deployed, capsys: pytest.CaptureFixture[str]
) -> None:
    """A revision only on a feature branch, applied by a developer's database,
    then re-pointed by a rewrite of that branch: MG402 against the old branch."""
    diverged(repo, dev=sqlite_db.url)
    upgraded(repo, sqlite_db.url)  # dev ran feature's b2 (on a1)
    repo.git("branch", "feature-before")
    repo.git("rebase", "-q", "main")
    path = b2_file(repo)
    path.write_text(re.sub(r"(?m)^(down_revision.*= )'a1'", r"\1'c3'", path.read_text()))
    repo.commit("b2 onto c3")
    document = check_json(capsys, repo, "feature-before..feature")
    assert "MG402" in codes(document)
    assert "MG103" not in codes(document)  # git alone cannot tell


def test_check_a_stranded_database_and_its_way_back(
    repo: RepoBuilder, database: Deployed, capsys: pytest.CaptureFixture[str]
) -> None:
    diverged(repo, staging=database.url)
    repo.branch("spike", "main")
    alembic_revision(repo, "s4", "spike")
    repo.commit("spike")
    upgraded(repo, database.url)  # staging ran the spike, never merged
    repo.checkout("feature")
    document = check_json(capsys, repo, "main..feature")
    assert "MG401" in codes(document) and "MG402" not in codes(document)
    [finding] = [f for f in document["findings"] if f["code"] == "MG401"]
    assert "database staging is on revision s4" in finding["message"]
    hint = finding["hint"]
    assert "from a checkout of spike, run `alembic downgrade s4@c3` against staging" in hint
    # the hint's command works, and then nothing is stranded
    repo.checkout("spike")
    alembic_at(repo, database.url, "downgrade", "s4@c3")
    repo.checkout("feature")
    assert "MG401" not in codes(check_json(capsys, repo, "main..feature"))


def test_check_unreachable_is_a_warning_and_no_databases_skips(
    repo: RepoBuilder, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("MERGEGUARD_TEST_STAGING_URL", raising=False)
    alembic_project(repo, users=True)
    configure(repo, staging="env:MERGEGUARD_TEST_STAGING_URL")
    repo.commit("databases")
    repo.branch("feature")
    alembic_revision(repo, "b2", "linear")
    repo.commit("feature")  # nothing wrong with the history itself
    document = check_json(capsys, repo, "main..feature")
    assert codes(document) == ["MG403"] and document["exit"] == 0
    assert "MERGEGUARD_TEST_STAGING_URL" in document["findings"][0]["message"]
    assert codes(check_json(capsys, repo, "main..feature", "--no-databases")) == []
    assert codes(check_json(capsys, repo, "main..feature", "--ignore", "MG403")) == []


def test_markdown_and_mermaid_show_where_databases_stand(
    repo: RepoBuilder, sqlite_db: Deployed, capsys: pytest.CaptureFixture[str]
) -> None:
    diverged(repo, dev=sqlite_db.url)
    upgraded(repo, sqlite_db.url, "a1")
    code, out, _ = run(
        capsys, "check", "main..feature", "-C", str(repo.root), "--format", "markdown"
    )
    assert "**Databases**" in out and "| `dev` | behind | 2 |" in out
    code, out, _ = run(capsys, "graph", "-C", str(repo.root), "--format", "mermaid")
    assert '__database0[("dev")]' in out and "e0__database0 -.-> e0_a1" in out
    code, out, _ = run(
        capsys, "graph", "-C", str(repo.root), "--format", "mermaid", "--no-databases"
    )
    assert "database" not in out


SECRET = "Pw-s3cr3t-9f2c"  # a real password on a real login: never printed


@pytest.mark.parametrize("kind", ["postgresql", "mariadb"])
def test_no_output_shows_a_password(
    repo: RepoBuilder, tmp_path: Path, kind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A login with a password, one database stranded, one refusing the
    login: every format of check, fix's refusal and graph name them masked."""
    for database in fresh(kind, tmp_path / "db"):
        login = f"{database.name}_reader"
        if kind == "postgresql":
            database.execute(
                f"CREATE ROLE {login} LOGIN PASSWORD '{SECRET}'",
                f"GRANT CONNECT ON DATABASE {database.name} TO {login}",
                database=False,
            )
            check_secrets(repo, database, login, (login + "_none", SECRET), capsys)
            continue
        user = f"'{login}'@'%%'"  # %% for the driver
        database.execute(
            f"CREATE USER {user} IDENTIFIED BY '{SECRET}'",
            f"GRANT SELECT ON {database.name}.* TO {user}",
            database=False,
        )
        try:
            check_secrets(repo, database, login, (login, SECRET + "-x"), capsys)
        finally:
            database.execute(f"DROP USER IF EXISTS {user}", database=False)


def check_secrets(
    repo: RepoBuilder,
    database: Deployed,
    login: str,
    wrong: tuple[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``wrong``: a login the server refuses (the local PostgreSQL trusts every
    password, so there it is a role that does not exist)."""
    diverged(
        repo,
        staging=database.with_login(login, SECRET),
        refused=database.with_login(*wrong),
    )
    repo.branch("spike", "main")
    alembic_revision(repo, "s4", "spike")
    repo.commit("spike")
    upgraded(repo, database.url)
    if database.kind == "postgresql":  # the version table is new: let the reader see it
        database.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {login}")
    repo.checkout("feature")
    shown = []
    for fmt in ("text", "json", "github", "sarif", "markdown"):
        code, out, err = run(
            capsys, "check", "main..feature", "-C", str(repo.root), "--format", fmt
        )
        assert code == 1, err
        shown += [out, err]
        if fmt == "json":
            found = {f["code"] for f in json.loads(out)["findings"]}
            assert {"MG401", "MG403"} <= found
    for args in (("fix", "--rebase", "main..feature"), ("graph", "--format", "mermaid")):
        shown += run(capsys, *args, "-C", str(repo.root))[1:]
    everything = "\n".join(shown)
    assert SECRET not in everything
    assert "database refused could not be read" in everything
    assert "database staging is on revision s4" in everything


def test_rebase_refused_when_the_database_ran_both_heads(
    repo: RepoBuilder, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A database that ran b2 and c3 skips nothing once b2 sits on c3, but its
    version table would then name c3 and its descendant b2, which Alembic
    refuses ("overlaps"): still refused, saying so."""
    path = tmp_path / "both.db"
    write_version_table(path, ("b2", "c3"))
    diverged(repo, dev=f"sqlite:///{path}")
    code, _, err = run(capsys, "fix", "--rebase", "main..feature", "-C", str(repo.root))
    assert code == 1 and "database dev has applied revision b2" in err
    assert "overlaps with other requested revisions" in err and "skip" not in err
    write_version_table(path, ("c3",), fresh=True)  # only main's head: b2 may move
    assert run(capsys, "fix", "--rebase", "main..feature", "-C", str(repo.root))[0] == 0
