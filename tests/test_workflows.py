"""Team workflows end to end: real git with a bare remote, the real
``pre-commit`` hooks installed in the developer's clone (commits and pushes go
through them), CI's ``mergeguard check origin/main..HEAD`` in a fresh clone,
and real Alembic as the judge of the result (one head, ``upgrade head`` runs).

Each story is what a team does every week; the gate must pass the fix it
recommends and flag what will really break.
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import RepoBuilder, alembic_project, alembic_revision, run_alembic, set_upgrade
from hookkit import PreCommit, clean_env, run

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def add_column(path: Path, table: str, column: str) -> None:
    set_upgrade(
        path,
        f"op.add_column({table!r}, sa.Column({column!r}, sa.String(50)))",
        f"op.drop_column({table!r}, {column!r})",
    )


@dataclass
class Team:
    """A bare ``origin``, the developer's clone ``dev`` (pre-commit hooks
    installed) and a teammate's clone ``mate`` who pushes to main."""

    origin: Path
    dev: RepoBuilder
    mate: RepoBuilder
    pre_commit: PreCommit
    tmp: Path

    def mergeguard(
        self, repo: RepoBuilder, *args: str, **env: str
    ) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "mergeguard", *args]
        return run(argv, repo.root, clean_env(env))

    def git(self, repo: RepoBuilder, *args: str) -> subprocess.CompletedProcess[str]:
        """git through the installed hooks (pre-commit's environment)."""
        return run(["git", *args], repo.root, self.pre_commit.env)

    def commit_and_push(self, message: str, *push: str) -> None:
        """``git add -A``, commit and push feature, both through the hooks."""
        self.dev.git("add", "-A")
        committed = self.git(self.dev, "commit", "-m", message)
        assert committed.returncode == 0, committed.stdout + committed.stderr
        pushed = self.git(self.dev, "push", *push, "origin", "feature")
        assert pushed.returncode == 0, pushed.stdout + pushed.stderr

    def catch_up(self) -> None:
        """The developer's usual way back onto main: rebase, fix, force-push."""
        self.dev.git("rebase", "-q", "origin/main")
        fixed = self.mergeguard(self.dev, "fix", "--rebase", "origin/main..feature")
        assert fixed.returncode == 0, fixed.stdout + fixed.stderr
        self.commit_and_push("b2 follows c3", "--force-with-lease")

    def ci(
        self, ref: str = "origin/main..HEAD", checkout: str = "origin/feature", **env: str
    ) -> subprocess.CompletedProcess[str]:
        """CI: a fresh full clone, ``checkout`` checked out, ``check REF``."""
        ci = self.tmp / f"ci-{len(list(self.tmp.glob('ci-*')))}"
        subprocess.run(["git", "clone", "-q", str(self.origin), str(ci)], check=True)
        repo = RepoBuilder.__new__(RepoBuilder)
        repo.root = ci
        repo.git("fetch", "-q", "origin", "+refs/pull/*:refs/remotes/pull/*")
        repo.git("checkout", "-q", "--detach", checkout)
        return self.mergeguard(repo, "check", *([ref] if ref else []), **env)


def one_head_and_upgrade(repo: RepoBuilder) -> None:
    """Real Alembic on the developer's tree: one head, and it upgrades."""
    heads = run_alembic(repo, "heads")
    assert heads.returncode == 0, heads.stderr
    assert len(heads.stdout.split("\n")) - 1 == 1, heads.stdout
    (repo.root / "app.db").unlink(missing_ok=True)
    upgraded = run_alembic(repo, "upgrade", "head")
    assert upgraded.returncode == 0, upgraded.stderr


@pytest.fixture
def team(tmp_path: Path, pre_commit: PreCommit) -> Team:
    """main: a1 (users); feature (pushed): b2 adds users.email; then the
    teammate pushes c3 (users.phone) to main: the branch has fallen behind."""
    seed = RepoBuilder(tmp_path / "seed")
    alembic_project(seed, users=True)
    origin = tmp_path / "origin.git"
    seed.git("clone", "-q", "--bare", str(seed.root), str(origin))
    dev, mate = (RepoBuilder.__new__(RepoBuilder) for _ in range(2))
    for repo, name in ((dev, "dev"), (mate, "mate")):
        repo.root = tmp_path / name
        subprocess.run(["git", "clone", "-q", str(origin), str(repo.root)], check=True)
        repo.git("config", "commit.gpgsign", "false")
    t = Team(origin, dev, mate, pre_commit, tmp_path)
    pre_commit.install(dev.root, "pre-commit", "pre-push")

    dev.branch("feature")
    add_column(alembic_revision(dev, "b2", "add email"), "users", "email")
    dev.git("add", "-A")
    committed = t.git(dev, "commit", "-q", "-m", "add email")
    assert committed.returncode == 0, committed.stdout + committed.stderr
    pushed = t.git(dev, "push", "-q", "-u", "origin", "feature")
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr

    add_column(alembic_revision(mate, "c3", "add phone"), "users", "phone")
    mate.commit("add phone")
    mate.git("push", "-q", "origin", "main")
    dev.git("fetch", "-q", "origin")
    return t


def test_the_behind_branch_is_flagged_in_ci(team: Team) -> None:
    flagged = team.ci()
    assert flagged.returncode == 1 and "MG102" in flagged.stdout, flagged.stdout
    assert "fix --rebase origin/main..HEAD" in flagged.stdout


def test_rebase_fix_commit_force_push_ci_all_green(team: Team) -> None:
    dev = team.dev
    dev.git("rebase", "-q", "origin/main")
    told = team.mergeguard(dev, "check")  # git rebased: two heads in the tree, b2 is ours
    assert told.returncode == 1 and "MG101" in told.stdout
    assert "onto c3 with `mergeguard fix --rebase`" in told.stdout
    fixed = team.mergeguard(dev, "fix", "--rebase", "origin/main..feature")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "down_revision of b2 -> c3" in fixed.stderr
    dev.git("add", "-A")
    committed = team.git(dev, "commit", "-m", "b2 follows c3")
    assert committed.returncode == 0, committed.stdout + committed.stderr
    said = committed.stdout + committed.stderr
    assert re.search(r"mergeguard \(Alembic revision graph\)\.+Passed", said)
    pushed = team.git(dev, "push", "--force-with-lease", "origin", "feature")
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    assert "mergeguard" in pushed.stdout + pushed.stderr  # the pre-push hook ran
    green = team.ci()
    assert green.returncode == 0, green.stdout + green.stderr
    assert "MG10" not in green.stdout
    one_head_and_upgrade(dev)


def test_fix_rebase_without_git_rebase_then_commit_and_push(team: Team) -> None:
    """Re-pointing the pushed revision without rebasing the git branch: the
    revision is the branch's own (only on feature and origin/feature)."""
    dev = team.dev
    fixed = team.mergeguard(dev, "fix", "--rebase", "origin/main..feature")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    team.commit_and_push("b2 follows c3")
    green = team.ci()
    assert green.returncode == 0, green.stdout + green.stderr


def test_merge_main_then_fix_merge_commit_push_ci_all_green(team: Team) -> None:
    dev = team.dev
    dev.git("merge", "-q", "--no-edit", "origin/main")
    told = team.mergeguard(dev, "check")
    assert told.returncode == 1 and "fix --merge" in told.stdout
    fixed = team.mergeguard(dev, "fix", "--merge", "-m", "merge main")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    team.commit_and_push("merge revision")
    green = team.ci()
    assert green.returncode == 0, green.stdout + green.stderr
    one_head_and_upgrade(dev)


def test_merge_in_progress_then_fix_merge(team: Team) -> None:
    dev = team.dev
    dev.git("merge", "-q", "--no-commit", "--no-ff", "origin/main")
    told = team.mergeguard(dev, "check")
    assert told.returncode == 1 and "MERGE_HEAD (origin/main)" in told.stdout + told.stderr
    assert "in progress" in told.stderr
    fixed = team.mergeguard(dev, "fix", "--merge")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    dev.git("add", "-A")
    committed = team.git(dev, "commit", "--no-edit")
    assert committed.returncode == 0, committed.stdout + committed.stderr
    assert team.git(dev, "push", "origin", "feature").returncode == 0
    assert team.ci().returncode == 0
    one_head_and_upgrade(dev)


def test_squash_merge_on_main_then_the_branch_goes_on(team: Team) -> None:
    """main squash-merges feature (after the fix); the developer keeps working
    on feature and merges main back: the same revision on both sides is no
    conflict, no collision and no schema twin."""
    dev, mate = team.dev, team.mate
    team.catch_up()
    mate.git("pull", "-q", "origin", "main")
    mate.git("fetch", "-q", "origin")
    mate.git("merge", "--squash", "origin/feature")
    mate.git("commit", "-q", "-m", "feature (squashed)")
    mate.git("push", "-q", "origin", "main")
    dev.git("fetch", "-q", "origin")
    add_column(alembic_revision(dev, "d4", "add age"), "users", "age")
    dev.git("add", "-A")
    assert team.git(dev, "commit", "-m", "add age").returncode == 0
    checked = team.mergeguard(dev, "check", "origin/main..feature")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout == ""
    dev.git("merge", "-q", "--no-edit", "origin/main")
    merged = team.mergeguard(dev, "check")
    assert merged.returncode == 0 and merged.stdout == "", merged.stdout
    assert team.git(dev, "push", "origin", "feature").returncode == 0
    assert team.ci().returncode == 0
    one_head_and_upgrade(dev)


def github_merge_ref(team: Team, number: int, branch: str) -> None:
    """What GitHub makes for a pull request: ``refs/pull/N/merge``, a merge
    commit of the PR head into the base branch's tip (first parent: main)."""
    work = team.tmp / f"github-{number}"
    subprocess.run(["git", "clone", "-q", str(team.origin), str(work)], check=True)
    repo = RepoBuilder.__new__(RepoBuilder)
    repo.root = work
    repo.git("merge", "-q", "--no-ff", "--no-edit", f"origin/{branch}")
    repo.git("push", "-q", "origin", f"HEAD:refs/pull/{number}/merge")


def test_github_pull_request_merge_ref(team: Team) -> None:
    github_merge_ref(team, 7, "feature")
    env = {"GITHUB_BASE_REF": "main", "GITHUB_EVENT_NAME": "pull_request"}
    flagged = team.ci("origin/main..HEAD", checkout="pull/7/merge", **env)
    assert flagged.returncode == 1 and "MG101" in flagged.stdout, flagged.stdout
    no_range = team.ci("", checkout="pull/7/merge", **env)
    assert no_range.returncode == 1 and "MG101" in no_range.stdout

    team.catch_up()
    github_merge_ref(team, 8, "feature")
    green = team.ci("origin/main..HEAD", checkout="pull/8/merge", **env)
    assert green.returncode == 0, green.stdout + green.stderr


def test_two_pull_requests_clean_alone_the_second_is_flagged_before_it_lands(
    team: Team,
) -> None:
    mate = team.mate
    # bring feature up to date first, so both PRs start clean against main
    team.catch_up()
    mate.git("pull", "-q", "origin", "main")
    mate.branch("other")
    add_column(alembic_revision(mate, "e5", "add city"), "users", "city")
    mate.commit("add city")
    mate.git("push", "-q", "origin", "other")
    assert team.ci(checkout="origin/feature").returncode == 0  # each PR is clean alone
    assert team.ci(checkout="origin/other").returncode == 0

    mate.git("checkout", "-q", "main")  # PR "other" lands first
    mate.git("merge", "-q", "--no-ff", "--no-edit", "other")
    mate.git("push", "-q", "origin", "main")
    flagged = team.ci(checkout="origin/feature")  # the re-run (or the merge queue)
    assert flagged.returncode == 1 and "MG102" in flagged.stdout, flagged.stdout
    github_merge_ref(team, 9, "feature")
    env = {"GITHUB_BASE_REF": "main"}
    assert team.ci("", checkout="pull/9/merge", **env).returncode == 1


def test_a_remote_without_a_known_default_branch(team: Team) -> None:
    """No origin/HEAD, origin/main or origin/master (the team's trunk is
    ``develop``): the force push after a rebase is judged on its own, never
    against the branch's own old copy (which would make its revisions look
    published)."""
    dev, mate = team.dev, team.mate
    mate.git("push", "-q", "origin", "main:develop")
    for name in ("refs/remotes/origin/HEAD", "refs/remotes/origin/main"):
        dev.git("update-ref", "-d", name)
    dev.git("fetch", "-q", "origin", "develop:refs/remotes/origin/develop")
    dev.git("branch", "-q", "-D", "main")
    dev.git("rebase", "-q", "origin/develop")
    fixed = team.mergeguard(dev, "fix", "--rebase", "origin/develop..feature")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    dev.git("add", "-A")
    assert team.git(dev, "commit", "-m", "b2 follows c3").returncode == 0
    pushed = team.git(dev, "push", "--force-with-lease", "origin", "feature")
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    assert "MG105" not in pushed.stdout + pushed.stderr
