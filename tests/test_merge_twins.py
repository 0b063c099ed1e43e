"""MG106 across the two sides (issue 13, item 2): two people run
``alembic merge heads`` on the same heads on their own branches.

Real git, real Alembic: the heads and both merge files are made by
``alembic revision`` / ``alembic merge``; ``alembic heads`` shows what the
merge of the two branches leaves, before and after the finding's fix.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import RepoBuilder, alembic_project, alembic_revision, run_alembic

from mergeguard.app.cli import main


def findings_of(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str], *args: str
) -> list[dict[str, Any]]:
    main(["check", *args, "-C", str(repo.root), "--format", "json"])
    return json.loads(capsys.readouterr().out)["findings"]  # type: ignore[no-any-return]


def alembic_merge(repo: RepoBuilder, rev: str) -> str:
    result = run_alembic(repo, "merge", "heads", "-m", f"merge {rev}", "--rev-id", rev)
    assert result.returncode == 0, result.stderr
    [path] = (repo.root / "migrations" / "versions").glob(f"{rev}_*.py")
    return str(path.relative_to(repo.root))


def heads(repo: RepoBuilder) -> list[str]:
    result = run_alembic(repo, "heads")
    assert result.returncode == 0, result.stderr
    return sorted(line.split()[0] for line in result.stdout.splitlines())


def two_merges(repo: RepoBuilder) -> tuple[str, str]:
    """main has two heads b2, c3; alice's branch merges them as m1 and lands
    on main; bob's branch ``feature`` merged them too, as m2."""
    alembic_project(repo)
    alembic_revision(repo, "b2", "left")
    alembic_revision(repo, "c3", "right", head="a1")
    repo.commit("two heads")
    assert heads(repo) == ["b2", "c3"]
    repo.branch("feature")
    bob = alembic_merge(repo, "m2")
    repo.commit("bob merges the heads")
    repo.checkout("main")
    alice = alembic_merge(repo, "m1")
    repo.commit("alice merges the heads")
    return alice, bob


def test_two_merges_of_the_same_heads_from_the_two_sides(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    alice, bob = two_merges(repo)
    found = findings_of(repo, capsys, "main..feature")
    [twin] = [f for f in found if f["code"] == "MG106"]
    assert twin["severity"] == "warning" and twin["path"] == bob
    assert twin["revisions"] == ["m2", "m1"]
    assert bob in twin["message"] and alice in twin["message"]
    assert "both join b2, c3" in twin["message"] and "keep m1" in twin["message"]
    assert f"git rm {bob}" in twin["hint"]
    # what it warns about: git merges both files cleanly, Alembic then has two heads
    repo.git("merge", "-q", "--no-edit", "feature")
    assert heads(repo) == ["m1", "m2"]
    # the hint's fix leaves one head, and MG106 has nothing more to say
    repo.git("reset", "-q", "--hard", "HEAD~1")
    repo.checkout("feature")
    repo.git("rm", "-q", bob)
    repo.commit("drop bob's merge")
    assert not [f for f in findings_of(repo, capsys, "main..feature") if f["code"] == "MG106"]
    repo.checkout("main")
    repo.git("merge", "-q", "--no-edit", "feature")
    assert heads(repo) == ["m1"]


def test_during_the_merge_the_twin_is_reported_once(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    """On main, ``git merge --no-commit feature``: HEAD (main) has m1, the
    merge brings m2; one finding, on m2, keeping HEAD's m1."""
    alice, bob = two_merges(repo)
    repo.git("merge", "-q", "--no-commit", "--no-ff", "feature")
    assert (repo.root / ".git" / "MERGE_HEAD").exists()
    found = [f for f in findings_of(repo, capsys) if f["code"] == "MG106"]
    assert len(found) == 1, found
    assert found[0]["path"] == bob and "keep m1" in found[0]["message"]
    assert Path(repo.root / alice).exists()


def test_one_merge_on_each_side_of_other_heads_is_quiet(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    """Merges of different heads on the two sides are no twins."""
    alembic_project(repo)
    alembic_revision(repo, "b2", "left")
    alembic_revision(repo, "c3", "right", head="a1")
    repo.commit("two heads")
    repo.branch("feature")
    alembic_revision(repo, "d4", "third", head="a1")
    alembic_merge(repo, "m2")  # joins b2, c3 and d4
    repo.commit("bob")
    repo.checkout("main")
    alembic_merge(repo, "m1")  # joins b2 and c3
    repo.commit("alice")
    assert not [f for f in findings_of(repo, capsys, "main..feature") if f["code"] == "MG106"]
