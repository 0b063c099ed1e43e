"""GitHub's merge queue (``merge_group`` events, issue 13 item 4), imitated
with real git: two pull requests, each clean against main, queued together.

GitHub builds the group's commit on a temporary branch
``gh-readonly-queue/main/pr-N-<sha>``: main, then each queued pull request
merged in queue order.  The event carries ``merge_group.base_ref``,
``base_sha`` (the commit the group lands on) and ``head_sha`` (the group's
commit); GITHUB_BASE_REF is empty.  The action's check step runs here with
bash on a CI-style clone of a bare origin (see tests/test_action.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import RepoBuilder
from test_action import GITHUB, ci_clone, run_check_step

QUEUE_BRANCH = "gh-readonly-queue/main/pr-2-{sha}"


@pytest.fixture
def queued(repo: RepoBuilder, tmp_path: Path) -> tuple[RepoBuilder, RepoBuilder, dict[str, str]]:
    """(author's repository, CI clone at the group's commit, event context):
    pr-1 adds bbb2 and pr-2 adds ccc3, each on main's head aaa1."""
    repo.init_alembic()
    repo.migration("aaa1", None)
    repo.commit("base")
    main_sha = repo.git("rev-parse", "HEAD")
    for branch, revision in (("pr-1", "bbb2"), ("pr-2", "ccc3")):
        repo.branch(branch, "main")
        repo.migration(revision, "aaa1", message=f"{branch} adds {revision}")
        repo.commit(f"{branch}: {revision}")
    # the queue's temporary branch: main + pr-1 + pr-2, as GitHub merges them
    branch = QUEUE_BRANCH.format(sha=main_sha[:7])
    repo.branch(branch, "main")
    repo.git("merge", "-q", "--no-ff", "-m", "Merge pull request #1", "pr-1")
    repo.git("merge", "-q", "--no-ff", "-m", "Merge pull request #2", "pr-2")
    head_sha = repo.git("rev-parse", "HEAD")
    repo.checkout("main")
    ci = ci_clone(repo, tmp_path)
    repo.git("remote", "add", "origin", str(tmp_path / "origin.git"))
    ci.git("checkout", "-q", "--detach", head_sha)  # what actions/checkout does on merge_group
    context = {
        **GITHUB,
        "github.event.merge_group.base_ref": "refs/heads/main",
        "github.event.merge_group.base_sha": main_sha,
        "github.event.merge_group.head_sha": head_sha,
        "github.event.merge_group.head_ref": f"refs/heads/{branch}",
    }
    return repo, ci, context


def test_each_pull_request_alone_is_clean(
    queued: tuple[RepoBuilder, RepoBuilder, dict[str, str]], tmp_path: Path
) -> None:
    _, ci, _ = queued
    for number, branch in enumerate(("pr-1", "pr-2"), 1):
        ci.git("checkout", "-q", "--detach", f"origin/{branch}")
        context = {**GITHUB, "github.base_ref": "main"}
        result, _, output = run_check_step(ci, tmp_path, "pull_request", context, f"{number}/merge")
        assert result.returncode == 0, result.stdout + result.stderr
        assert "mergeguard check origin/main..HEAD" in result.stderr
        assert output == "exit-code=0\n"


def test_the_queue_group_catches_the_two_heads(
    queued: tuple[RepoBuilder, RepoBuilder, dict[str, str]], tmp_path: Path
) -> None:
    _, ci, context = queued
    ref_name = context["github.event.merge_group.head_ref"].removeprefix("refs/heads/")
    result, summary, output = run_check_step(ci, tmp_path, "merge_group", context, ref_name)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "mergeguard check origin/main..HEAD" in result.stderr
    annotations = [line for line in result.stdout.splitlines() if line.startswith("::error")]
    assert annotations and all("MG101 new-multiple-heads" in a for a in annotations), annotations
    assert "bbb2" in result.stdout and "ccc3" in result.stdout
    assert "### mergeguard: 1 error" in summary and output == "exit-code=1\n"


def test_the_group_is_compared_with_the_commit_it_lands_on(
    queued: tuple[RepoBuilder, RepoBuilder, dict[str, str]], tmp_path: Path
) -> None:
    """main moved after the group was built (and the clone fetched it): the
    group is still judged against base_sha, by its id."""
    repo, ci, context = queued
    repo.migration("ddd4", "aaa1", message="landed meanwhile")
    repo.commit("main moves on")
    repo.git("push", "-q", "origin", "main")
    ci.git("fetch", "-q", "origin")
    base_sha = context["github.event.merge_group.base_sha"]
    assert ci.git("rev-parse", "origin/main") != base_sha
    result, _, _ = run_check_step(ci, tmp_path, "merge_group", context, "gh-readonly-queue")
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"mergeguard check {base_sha}..HEAD" in result.stderr
    assert "MG101" in result.stdout and "ddd4" not in result.stdout


def test_a_malformed_group_sha_cannot_run(
    queued: tuple[RepoBuilder, RepoBuilder, dict[str, str]], tmp_path: Path
) -> None:
    _, ci, context = queued
    context = {**context, "github.event.merge_group.base_sha": "--output=/tmp/x"}
    result, _, output = run_check_step(ci, tmp_path, "merge_group", context, "gh-readonly-queue")
    assert result.returncode == 3 and output == "exit-code=3\n"
    assert result.stdout.startswith("::error title=mergeguard could not run::")
    assert "--output" not in result.stdout + result.stderr


def test_the_action_reads_the_group_shas_from_the_event() -> None:
    from test_action import step

    env = step("Check the revision graph")["env"]
    assert env["MERGEGUARD_MERGE_GROUP_BASE_SHA"] == "${{ github.event.merge_group.base_sha }}"
    assert env["MERGEGUARD_MERGE_GROUP_HEAD_SHA"] == "${{ github.event.merge_group.head_sha }}"
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert "merge_group:" in readme and "gh-readonly-queue/main/pr-" in readme
