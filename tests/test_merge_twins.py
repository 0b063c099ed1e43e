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
from mergeguard.fix.merge_identity import merge_rev_id


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


def test_a_twin_with_children_is_re_pointed_not_deleted(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bob built d4 on his merge m2: deleting m2 would orphan d4, so the
    finding names d4 and says to re-point it onto m1 first."""
    alice, bob = two_merges(repo)
    repo.checkout("feature")
    child = alembic_revision(repo, "d4", "after bob's merge", head="m2")
    repo.commit("bob builds on his merge")
    d4 = str(child.relative_to(repo.root))
    [twin] = [f for f in findings_of(repo, capsys, "main..feature") if f["code"] == "MG106"]
    assert twin["path"] == bob and twin["revisions"] == ["m2", "m1"]
    assert "m2 is not a head" in twin["message"] and f"d4 ({d4})" in twin["message"]
    assert "keep m1" in twin["message"] and "both are heads" not in twin["message"]
    assert f"re-point d4 ({d4}) from m2 onto m1" in twin["hint"]
    assert "then delete" in twin["hint"] and "leaves one head" not in twin["hint"]
    # as it stands the merge leaves d4 and m1; deleting m2 alone would orphan d4
    repo.checkout("main")
    repo.git("merge", "-q", "--no-edit", "feature")
    assert heads(repo) == ["d4", "m1"]
    repo.git("rm", "-q", bob)
    assert run_alembic(repo, "heads").returncode != 0  # d4's parent m2 is gone
    repo.git("reset", "-q", "--hard", "HEAD~1")
    # the hint's fix: d4 onto m1, then m2 goes; the merge leaves one head
    repo.checkout("feature")
    path = repo.root / d4
    path.write_text(path.read_text().replace("'m2'", "'m1'").replace("Revises: m2", "Revises: m1"))
    repo.git("rm", "-q", bob)
    repo.commit("d4 onto alice's merge")
    assert not [f for f in findings_of(repo, capsys, "main..feature") if f["code"] == "MG106"]
    repo.checkout("main")
    repo.git("merge", "-q", "--no-edit", "feature")
    assert heads(repo) == ["d4"]


def fix_merge(repo: RepoBuilder, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """``mergeguard fix --merge ARGS``: the merge file it wrote."""
    assert main(["fix", "--merge", *args, "-C", str(repo.root)]) == 0
    capsys.readouterr()
    status = repo.git("status", "--porcelain", "--untracked-files=all")
    [path] = [line[3:] for line in status.splitlines() if line.startswith("??")]
    return path


def test_one_derived_merge_under_two_names_is_one_twin_finding(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    """Alice ran ``fix --merge -m "merge heads"``, Bob ``fix --merge``: the
    same derived id, two file names.  Not a collision to re-number (MG105):
    one merge written twice, and Bob's copy goes."""
    alembic_project(repo)
    alembic_revision(repo, "b2", "left")
    alembic_revision(repo, "c3", "right", head="a1")
    repo.commit("two heads")
    repo.branch("feature")
    bob = fix_merge(repo, capsys)
    repo.commit("bob merges the heads")
    repo.checkout("main")
    alice = fix_merge(repo, capsys, "-m", "merge heads")
    repo.commit("alice merges the heads")
    rev = merge_rev_id(["b2", "c3"])
    assert Path(alice).name == f"{rev}_merge_heads.py" and Path(bob).name == f"{rev}_.py"
    found = findings_of(repo, capsys, "main..feature")
    assert not [f for f in found if f["code"] in ("MG105", "MG003")], found
    [twin] = [f for f in found if f["code"] == "MG106"]
    assert twin["path"] == bob and twin["revisions"] == [rev]
    assert bob in twin["message"] and alice in twin["message"]
    assert f"keep {alice}, which main" in twin["message"] and "two file names" in twin["message"]
    assert f"git rm {bob}" in twin["hint"] and "new id" not in twin["hint"]
    # what it warns about: git merges both files, Alembic finds the revision twice
    repo.git("merge", "-q", "--no-edit", "feature")
    result = run_alembic(repo, "heads")
    assert "present more than once" in result.stderr, result.stderr
    repo.git("reset", "-q", "--hard", "HEAD~1")
    # the hint's fix: one file, one head, no warning
    repo.checkout("feature")
    repo.git("rm", "-q", bob)
    repo.commit("drop bob's copy")
    assert not [f for f in findings_of(repo, capsys, "main..feature") if f["code"] == "MG106"]
    repo.checkout("main")
    repo.git("merge", "-q", "--no-edit", "feature")
    result = run_alembic(repo, "heads")
    assert result.stdout.split() == [rev, "(head)"] and "more than once" not in result.stderr


def test_the_same_id_joining_other_heads_is_still_a_collision(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two merge revisions of one id but of different heads are a real
    collision: MG105 stays, and MG106 says nothing."""
    alembic_project(repo)
    alembic_revision(repo, "b2", "left")
    alembic_revision(repo, "c3", "right", head="a1")
    alembic_revision(repo, "d4", "third", head="a1")
    repo.commit("three heads")
    repo.branch("feature")
    assert run_alembic(repo, "merge", "b2", "c3", "-m", "bob", "--rev-id", "m1").returncode == 0
    repo.commit("bob merges b2 and c3")
    repo.checkout("main")
    assert run_alembic(repo, "merge", "b2", "d4", "-m", "alice", "--rev-id", "m1").returncode == 0
    repo.commit("alice merges b2 and d4")
    found = findings_of(repo, capsys, "main..feature")
    assert [f["code"] for f in found if f["code"] in ("MG105", "MG106")] == ["MG105"], found


def test_during_the_merge_one_derived_merge_under_two_names_is_one_finding(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    """``git merge --no-commit feature`` brings Bob's copy next to Alice's:
    one MG106 on Bob's file (HEAD has Alice's), no MG003 to re-number it."""
    alembic_project(repo)
    alembic_revision(repo, "b2", "left")
    alembic_revision(repo, "c3", "right", head="a1")
    repo.commit("two heads")
    repo.branch("feature")
    bob = fix_merge(repo, capsys)
    repo.commit("bob merges the heads")
    repo.checkout("main")
    alice = fix_merge(repo, capsys, "-m", "merge heads")
    repo.commit("alice merges the heads")
    repo.git("merge", "-q", "--no-commit", "--no-ff", "feature")
    found = findings_of(repo, capsys)
    assert not [f for f in found if f["code"] in ("MG105", "MG003")], found
    [twin] = [f for f in found if f["code"] == "MG106"]
    assert twin["path"] == bob and alice in twin["message"]
