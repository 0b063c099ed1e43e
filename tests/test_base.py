"""Which branch the work merges into (the base), what is published, and how
the sides are named: on real repositories with a bare remote."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import RepoBuilder

from mergeguard.app.cli import main


def run(capsys: pytest.CaptureFixture[str], repo: RepoBuilder, *args: str) -> tuple[int, str, str]:
    code = main([*args, "-C", str(repo.root)])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def pushed(repo: RepoBuilder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> RepoBuilder:
    """main: a1 <- b2; feature (pushed, upstream origin/feature): c3 on b2."""
    for name in ("GITHUB_BASE_REF", "PRE_COMMIT", "PRE_COMMIT_FROM_REF", "PRE_COMMIT_TO_REF"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "400")
    repo.init_alembic()
    repo.migration("a1", None)
    repo.migration("b2", "a1")
    repo.commit("main")
    origin = tmp_path / "origin.git"
    repo.git("init", "-q", "--bare", str(origin))
    repo.git("remote", "add", "origin", str(origin))
    repo.git("push", "-q", "origin", "main")
    repo.branch("feature")
    repo.migration("c3", "b2")
    repo.commit("feature")
    repo.git("push", "-q", "-u", "origin", "feature")
    return repo


def diverge(repo: RepoBuilder) -> None:
    """main and feature each add a revision on a1; main checked out."""
    repo.init_alembic()
    repo.migration("a1", None)
    repo.commit("base")
    repo.branch("feature")
    repo.migration("c7", "a1")
    repo.commit("feature")
    repo.checkout("main")
    repo.migration("b2", "a1")
    repo.commit("main")


def against(err: str) -> str:
    """The base named in the summary line: ``... against BASE, merge base ...``."""
    return err.rsplit(" against ", 1)[1].split(",")[0]


def test_the_base_is_the_remote_default_branch_not_the_own_remote_copy(
    pushed: RepoBuilder, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = pushed
    assert repo.git("rev-parse", "--abbrev-ref", "@{upstream}") == "origin/feature"
    code, _, err = run(capsys, repo, "check")
    assert code == 0 and against(err) == "origin/main"  # origin/main, not origin/feature
    repo.git("push", "-q", "origin", "main:master")
    repo.git("fetch", "-q", "origin")
    repo.git("update-ref", "-d", "refs/remotes/origin/main")
    assert against(run(capsys, repo, "check")[2]) == "origin/master"
    repo.git("push", "-q", "origin", "main:develop")
    repo.git("fetch", "-q", "origin")
    repo.git("symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/develop")
    assert against(run(capsys, repo, "check")[2]) == "origin/develop"
    monkeypatch.setenv("GITHUB_BASE_REF", "master")
    assert against(run(capsys, repo, "check")[2]) == "origin/master"
    repo.write("pyproject.toml", '[tool.mergeguard]\nbase = "main"\n')
    assert against(run(capsys, repo, "check")[2]) == "main"
    assert against(run(capsys, repo, "check", "--base", "origin/feature")[2]) == "origin/feature"


def test_the_upstream_when_it_is_another_branch(
    pushed: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = pushed
    repo.git("push", "-q", "origin", "main:trunk")
    repo.git("fetch", "-q", "origin")
    for ref in ("refs/remotes/origin/main", "refs/heads/main"):
        repo.git("update-ref", "-d", ref)
    repo.git("branch", "-q", "--set-upstream-to", "origin/trunk")
    assert against(run(capsys, repo, "check")[2]) == "origin/trunk"
    repo.git("branch", "-q", "--set-upstream-to", "origin/feature")  # its own copy: no base
    code, _, err = run(capsys, repo, "check")
    assert code == 0 and " against " not in err


def test_a_rebased_pushed_branch_is_not_published_on_its_remote_copy(
    pushed: RepoBuilder, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rewriting c3, which only feature and origin/feature have: no MG103/MG105."""
    repo = pushed
    repo.checkout("main")
    repo.migration("d4", "b2")
    repo.commit("main moves")
    repo.git("push", "-q", "origin", "main")
    repo.checkout("feature")
    repo.git("rebase", "-q", "main")
    assert run(capsys, repo, "fix", "--rebase", "main..feature")[0] == 0
    repo.git("add", "-A")
    code, out, err = run(capsys, repo, "check", "--staged")
    assert code == 0 and out == "", out + err
    repo.commit("c3 follows d4")
    monkeypatch.setenv("PRE_COMMIT_FROM_REF", repo.git("rev-parse", "origin/feature"))
    monkeypatch.setenv("PRE_COMMIT_TO_REF", repo.git("rev-parse", "HEAD"))
    code, out, err = run(capsys, repo, "check")  # the force push, as pre-push sees it
    assert code == 0 and out == "", out + err
    assert "origin/main..feature" in err


def test_published_refs_are_kept_as_deployed(
    pushed: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    """c3 was tagged (deployed to staging from the tag): rewriting it is MG103,
    and fix --rebase refuses to move it."""
    repo = pushed
    repo.git("tag", "v2.0-rc1", "feature")
    repo.checkout("main")
    repo.migration("d4", "b2")
    repo.commit("main moves")
    repo.checkout("feature")
    code, out, err = run(capsys, repo, "fix", "--rebase", "main..feature", "--dry-run")
    assert code == 0 and "c3" in out + err  # not configured: c3 is the branch's own
    repo.write("pyproject.toml", '[tool.mergeguard]\npublished = ["refs/tags/v*"]\n')
    repo.commit("published tags")
    code, out, err = run(capsys, repo, "fix", "--rebase", "main..feature")
    assert code != 0 and "published" in out + err
    path = repo.root / "migrations/versions/c3_migration.py"
    assert "down_revision = 'b2'" in path.read_text()  # untouched
    path.write_text(path.read_text().replace("down_revision = 'b2'", "down_revision = 'd4'"))
    repo.commit("re-point c3 by hand")
    code, out, _ = run(capsys, repo, "check", "main..feature", "--format", "json")
    [finding] = [f for f in json.loads(out)["findings"] if f["code"] == "MG103"]
    assert code == 1 and "published on v2.0-rc1" in finding["message"]
    repo.write("pyproject.toml", '[tool.mergeguard]\npublished = ["x"]\n')
    repo.commit("no tags published")
    assert run(capsys, repo, "check", "main..feature")[0] == 0


def test_missing_parent_never_suggests_the_revision_itself(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.init_alembic()
    repo.migration("a1b2c3", None)
    repo.commit()
    repo.migration("b2c3d4", "c3d4e5")  # the parent only another branch has
    code, out, _ = run(capsys, repo, "heads")
    assert code == 1 and "MG004" in out
    assert "'b2c3d4'?" not in out  # was: did you mean 'b2c3d4'?


def test_side_names(repo: RepoBuilder, capsys: pytest.CaptureFixture[str]) -> None:
    diverge(repo)
    sha = repo.git("rev-parse", "feature")
    code, out, err = run(capsys, repo, "check", f"main..{sha}")
    assert code == 1 and "merging feature and main" in out and "(main..feature," in err
    assert "in progress" not in err
    repo.git("merge", "-q", "--no-commit", "--no-ff", "feature")
    code, out, err = run(capsys, repo, "check")
    assert "MERGE_HEAD (feature)" in out + err and "in progress" in err
    repo.git("merge", "--abort")
    repo.git("add", "-A")
    code, out, err = run(capsys, repo, "check", "--staged")
    assert "staged changes" in err and "index" not in err


def test_under_pre_commit_a_merge_in_progress_is_judged_on_the_index(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The merge commit holds the index: a merge revision written but not
    staged does not make it pass."""
    diverge(repo)
    repo.git("merge", "-q", "--no-commit", "--no-ff", "feature")
    repo.migration("m1", ("b2", "c7"))  # in the work tree only
    assert run(capsys, repo, "check")[0] == 0
    monkeypatch.setenv("PRE_COMMIT", "1")
    code, out, _ = run(capsys, repo, "check")
    assert code == 1 and "MG102" in out
    repo.git("add", "-A")
    assert run(capsys, repo, "check")[0] == 0
