"""What ``mergeguard status`` prints, on SQLite databases (always available):
the JSON contract's shape, ``--ref``, and every database or repository value
escaped for the format it goes to."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest
from conftest import RepoBuilder
from deployedkit import line, project_fixtures, upgraded
from test_deployed_databases import status

DATABASE_KEYS = {"name", "url", "environment", "current", "state", "pending", "refs", "error"}
SUMMARY_KEYS = {"errors", "warnings", "databases", "up-to-date", "behind", "stranded", "empty"}


template, repo = project_fixtures(line)  # a fresh copy of the project per test


def version_table(path: Path, *rows: str) -> str:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
    conn.executemany("INSERT INTO alembic_version VALUES (?)", [(r,) for r in rows])
    conn.commit()
    conn.close()
    return f"sqlite:///{path}"


def test_the_json_document_has_the_contract_shape(
    capsys: pytest.CaptureFixture[str], repo: RepoBuilder, tmp_path: Path
) -> None:
    url = version_table(tmp_path / "a.db", "a1")
    nowhere = f"sqlite:///{tmp_path / 'no-such-dir' / 'x.db'}"
    code, out, _ = status(capsys, repo, "--format", "json", "--url", url, "--url", nowhere)
    assert code == 0
    document = json.loads(out)
    assert set(document) == {"schema", "target", "databases", "findings", "summary"}
    assert document["target"] == "worktree"
    behind, unreachable = document["databases"]
    assert set(behind) == set(unreachable) == DATABASE_KEYS
    assert (behind["name"], behind["state"], behind["pending"], behind["error"]) == (
        "url1",
        "behind",
        ["b2"],
        None,
    )
    assert (unreachable["name"], unreachable["state"], unreachable["current"]) == (
        "url2",
        "unreachable",
        [],
    )
    assert set(document["summary"]) == SUMMARY_KEYS | {"unreachable"}
    assert document["summary"]["behind"] == document["summary"]["unreachable"] == 1


def test_ref_judges_against_a_commit(
    capsys: pytest.CaptureFixture[str], repo: RepoBuilder, tmp_path: Path
) -> None:
    """The database is on b2; the commit before b2 does not have it: stranded,
    and main (which has it) is named."""
    url = f"sqlite:///{tmp_path / 'b.db'}"
    sqlite3.connect(tmp_path / "b.db").close()
    assert upgraded(repo, url) == ("a1", "b2")
    first = repo.git("rev-list", "--max-parents=0", "HEAD")
    repo.write("migrations/versions/.keep", "")  # the work tree differs: --ref must be read
    code, out, _ = status(capsys, repo, "--format", "json", "--ref", first, "--url", url)
    assert code == 1
    document = json.loads(out)
    assert document["target"].startswith(f"{first}@")
    [found] = document["databases"]
    assert (found["state"], found["current"], found["refs"]) == ("stranded", ["b2"], ["main"])
    code, out, _ = status(capsys, repo, "--format", "json", "--ref", "main", "--url", url)
    assert (code, json.loads(out)["databases"][0]["state"]) == (0, "up-to-date")


HOSTILE = "x9\x1b[31m\n::error::boom|<img src=x>"


def test_database_values_are_escaped_for_each_format(
    capsys: pytest.CaptureFixture[str], repo: RepoBuilder, tmp_path: Path
) -> None:
    url = version_table(tmp_path / "c.db", HOSTILE)
    repo.write(
        "pyproject.toml",
        f'[tool.mergeguard.databases]\n"db|<b>\\n::warning::x" = {json.dumps(url)}\n',
    )
    code, text, err = status(capsys, repo)
    assert code == 1  # stranded on the hostile revision
    for shown in (text, err):
        assert "\x1b" not in shown and "\n::" not in shown
    assert "x9\\x1b[31m\\n::error::boom" in text

    _, markdown, _ = status(capsys, repo, "--format", "markdown")
    outside_code = re.sub(r"`[^`\n]*`", "", markdown)  # code spans show HTML as text
    assert "<img" not in outside_code and "<b>" not in outside_code
    assert "\n::" not in markdown and "\x1b" not in markdown
    assert "| stranded on `x9\\x1b[31m\\n::error::boom\\|<img src=x>` |" in markdown

    _, out, _ = status(capsys, repo, "--format", "json")
    [found] = json.loads(out)["databases"]
    assert found["current"] == [HOSTILE]  # JSON carries the value as it is
    assert found["name"] == "db|<b>\n::warning::x"


def test_remote_branches_are_searched_and_the_search_is_capped(
    capsys: pytest.CaptureFixture[str], repo: RepoBuilder, tmp_path: Path
) -> None:
    """A revision only a remote-tracking branch has is found there (its
    ``origin/HEAD`` is not a branch); past 200 branches the search says so."""
    from conftest import alembic_revision

    repo.branch("feature-y")
    alembic_revision(repo, "y7", "feature y")
    feature = repo.commit("feature y")
    repo.checkout("main")
    repo.git("branch", "-D", "feature-y")
    repo.git("update-ref", "refs/remotes/origin/feature-y", feature)
    repo.git("symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/feature-y")
    url = version_table(tmp_path / "y.db", "y7")
    code, out, err = status(capsys, repo, "--format", "json", "--url", url)
    assert code == 1
    assert json.loads(out)["databases"][0]["refs"] == ["origin/feature-y"]
    assert "searched" not in err

    main = repo.git("rev-parse", "main")
    many = "".join(f"create refs/heads/old-{i:03} {main}\n" for i in range(200))
    repo.git("update-ref", "--stdin", input=many)
    _, out, err = status(capsys, repo, "--format", "json", "--url", url)
    assert "searched the 200 most recently committed of 202 branches" in err
