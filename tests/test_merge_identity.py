"""Deterministic merge revisions: two people who merge the same heads on their
own clones write the same file, and git merges their branches cleanly."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from conftest import RepoBuilder
from conftest import alembic_project as project
from conftest import alembic_revision as revision
from conftest import run_alembic as alembic

from mergeguard.app.cli import main
from mergeguard.fix.merge_file import MergeFileError
from mergeguard.fix.merge_identity import (
    merge_create_date,
    merge_rev_id,
    written_create_date,
)

VERSIONS = Path("migrations") / "versions"


def fix(capsys: pytest.CaptureFixture[str], repo: RepoBuilder, *args: str) -> tuple[int, str]:
    code = main(["fix", "--merge", *args, "-C", str(repo.root)])
    return code, capsys.readouterr().err


def heads(repo: RepoBuilder) -> list[str]:
    result = alembic(repo, "heads")
    assert result.returncode == 0, result.stderr
    return [line.split()[0] for line in result.stdout.splitlines()]


def clone(bare: Path, where: Path) -> RepoBuilder:
    """A clone of ``bare`` with main checked out (RepoBuilder inits, then fetches)."""
    repo = RepoBuilder(where)
    repo.git("remote", "add", "origin", str(bare))
    repo.git("fetch", "-q", "origin")
    repo.git("checkout", "-q", "-B", "main", "origin/main")
    return repo


def published_heads(tmp_path: Path) -> Path:
    """A bare remote whose main (a1 <- b2) and feature (a1 <- c7) diverged."""
    origin = RepoBuilder(tmp_path / "origin")
    project(origin)
    origin.branch("feature")
    revision(origin, "c7", "add email")
    origin.commit("feature")
    origin.checkout("main")
    revision(origin, "b2", "add phone")
    origin.commit("main")
    bare = tmp_path / "remote.git"
    origin.git("clone", "-q", "--bare", str(origin.root), str(bare))
    return bare


def test_two_clones_merge_the_same_heads_into_one_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bare = published_heads(tmp_path)
    alice = clone(bare, tmp_path / "alice")
    alice.git("merge", "-q", "--no-edit", "origin/feature")
    code, err = fix(capsys, alice)
    assert code == 0, err
    alice.commit("alice merges the heads")
    alice.git("push", "-q", "origin", "HEAD:refs/heads/alice")

    # Bob merges the other way round (main into feature), later
    bob = clone(bare, tmp_path / "bob")
    bob.git("checkout", "-q", "-B", "feature", "origin/feature")
    bob.git("merge", "-q", "--no-edit", "origin/main")
    code, err = fix(capsys, bob)
    assert code == 0, err
    bob.commit("bob merges the heads")
    bob.git("push", "-q", "origin", "HEAD:refs/heads/bob")

    expected_id = merge_rev_id(["b2", "c7"])
    [mine] = (alice.root / VERSIONS).glob(f"{expected_id}_*.py")
    [theirs] = (bob.root / VERSIONS).glob(f"{expected_id}_*.py")
    assert mine.name == theirs.name and mine.read_bytes() == theirs.read_bytes()
    # the Create Date is the latest head's, not the clock
    dates = [written_create_date(p.read_bytes()) for p in (alice.root / VERSIONS).glob("*.py")]
    assert written_create_date(mine.read_bytes()) == max(d for d in dates if d is not None)
    assert heads(alice) == [expected_id]

    # git sees one file added on both sides: the branches merge cleanly, one head
    alice.git("fetch", "-q", "origin")
    alice.git("merge", "-q", "--no-edit", "origin/bob")
    assert alice.git("status", "--porcelain") == ""
    assert len(list((alice.root / VERSIONS).glob("*.py"))) == 4  # a1, b2, c7 and one merge
    assert heads(alice) == [expected_id]
    upgrade = alembic(alice, "upgrade", "head")
    assert upgrade.returncode == 0, upgrade.stderr
    assert main(["check", "-C", str(alice.root)]) == 0


def test_rev_id_still_wins(repo: RepoBuilder, capsys: pytest.CaptureFixture[str]) -> None:
    project(repo)
    revision(repo, "b2", "left")
    revision(repo, "c7", "right", head="a1")
    code, err = fix(capsys, repo, "--rev-id", "m1", "-m", "join")
    assert code == 0, err
    [path] = (repo.root / VERSIONS).glob("m1_*.py")
    assert path.name == "m1_join.py" and heads(repo) == ["m1"]


def test_an_already_written_merge_is_never_overwritten(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    project(repo)
    revision(repo, "b2", "left")
    revision(repo, "c7", "right", head="a1")
    code, err = fix(capsys, repo)
    assert code == 0, err
    [path] = (repo.root / VERSIONS).glob(f"{merge_rev_id(['b2', 'c7'])}_*.py")
    # run again: the graph has the merge now, there is nothing to fix
    code, err = fix(capsys, repo)
    assert code == 0 and "nothing to fix" in err
    # a file of that name that is not the merge (the graph does not read it): refused
    path.write_text("# not a migration\n")
    code, err = fix(capsys, repo)
    assert code == 3 and "already exists" in err and "same heads give the same id" in err
    assert path.read_text() == "# not a migration\n"


def test_a_derived_id_taken_by_another_revision_is_refused(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    project(repo)
    taken = merge_rev_id(["b2", "c7"])
    revision(repo, taken, "a revision that happens to have the id")
    revision(repo, "b2", "left", head=taken)
    revision(repo, "c7", "right", head=taken)
    code, err = fix(capsys, repo)
    assert code == 1
    assert f"revision {taken} (the id derived from heads b2, c7) already exists" in err
    assert sorted(heads(repo)) == ["b2", "c7"]


def test_merge_rev_id_is_the_documented_hash() -> None:
    import hashlib

    text = "mergeguard merge revision v1\nb2\nc7\n"
    assert merge_rev_id(["c7", "b2", "c7"]) == hashlib.sha256(text.encode()).hexdigest()[:12]
    assert merge_rev_id(["b2", "c7"]) != merge_rev_id(["b2", "c8"])


def test_create_date_rules() -> None:
    naive = datetime(2026, 5, 1, 12, 0, 0, 123456)
    aware = datetime(2026, 5, 1, 13, 30, tzinfo=timezone(timedelta(hours=2)))  # 11:30 UTC
    assert written_create_date(f'"""x\n\nCreate Date: {naive}\n\n"""\n'.encode()) == naive
    assert written_create_date(f"Create Date: {aware}\r\n".encode()) == aware
    assert written_create_date(b"Create Date: yesterday\n") is None
    assert merge_create_date([], None) is None
    assert merge_create_date([aware, naive], None) == naive  # naive counts as UTC: later
    utc = merge_create_date([aware, naive], "UTC")
    assert utc is not None and str(utc) == "2026-05-01 12:00:00.123456+00:00"
    assert merge_create_date([aware], None) == datetime(2026, 5, 1, 13, 30)
    with pytest.raises(MergeFileError, match="Can't locate timezone"):
        merge_create_date([naive], "Nowhere/Atlantis")
    # one instant in two zones: the same date whichever head comes first
    same = aware.astimezone(timezone(timedelta(hours=-5)))
    assert merge_create_date([aware, same], None) == merge_create_date([same, aware], None)
