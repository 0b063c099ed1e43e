"""The hooks: pre-commit's (``.pre-commit-hooks.yaml``), the plain git hooks in
``hooks/``, ``PRE_COMMIT=1`` choosing the index, and ``mergeguard demo``.

The tests in ``TestPreCommit`` run the real ``pre-commit`` on this repository
as a user's ``.pre-commit-config.yaml`` would name it.  pre-commit installs
hooks from a commit, and ``try-repo`` would miss files that are not committed
yet (it snapshots tracked changes only, into a new store each time), so the
session fixture commits a snapshot of this checkout (tracked and untracked,
not ignored files) to a scratch repository and installs its hook environment
once, in a ``PRE_COMMIT_HOME`` shared by the session (tens of seconds the
first time, with network to the package index).  They are the slow ones:
``pytest -k "not TestPreCommit"`` leaves them out.

The git hooks run as real subprocesses (``sh``) with this interpreter's
``mergeguard`` console script first on ``PATH``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from conftest import RepoBuilder
from hookkit import PreCommit, clean_env, run

from mergeguard.app.cli import main

ROOT = Path(__file__).resolve().parents[1]
HOOKS = ROOT / "hooks"
NULL = "0" * 40


# --------------------------------------------------------------------------- helpers


@dataclass(frozen=True)
class History:
    """Commits of the standard shapes: ``main`` and ``feature`` forked at ``base``."""

    base: str
    main: str
    feature: str


def diverged(repo: RepoBuilder) -> History:
    """feature adds bbb2 on aaa1, main adds ccc3 on aaa1: git merges them
    cleanly, Alembic then has two heads."""
    repo.init_alembic()
    repo.migration("aaa1", None)
    base = repo.commit("base")
    repo.branch("feature")
    repo.migration("bbb2", "aaa1", message="add email")
    feature = repo.commit("add email")
    repo.checkout("main")
    repo.migration("ccc3", "aaa1", message="add phone")
    main = repo.commit("add phone")
    return History(base, main, feature)


def linear(repo: RepoBuilder) -> History:
    """feature adds bbb2 on aaa1, main stays at aaa1: a clean fast-forward."""
    repo.init_alembic()
    repo.migration("aaa1", None)
    base = repo.commit("base")
    repo.branch("feature")
    repo.migration("bbb2", "aaa1")
    feature = repo.commit("add email")
    repo.checkout("main")
    return History(base, base, feature)


@pytest.fixture(scope="session")
def scripts_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding this interpreter's ``mergeguard`` command: the
    console script of the installed package, else a shim to ``-m mergeguard``."""
    scripts = Path(sysconfig.get_path("scripts"))
    if (scripts / "mergeguard").is_file():
        return scripts
    shim_dir = tmp_path_factory.mktemp("bin")
    shim = shim_dir / "mergeguard"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m mergeguard "$@"\n')
    shim.chmod(0o755)
    return shim_dir


@pytest.fixture
def hook_env(scripts_dir: Path) -> dict[str, str]:
    return clean_env({"PATH": os.pathsep.join([str(scripts_dir), os.environ.get("PATH", "")])})


def install_hook(repo: RepoBuilder, name: str) -> None:
    target = repo.root / ".git" / "hooks" / name
    shutil.copy2(HOOKS / name, target)
    target.chmod(0o755)


# --------------------------------------------------------------------------- the manifest


def manifest() -> dict[str, dict[str, object]]:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    return {hook["id"]: hook for hook in hooks}


def test_manifest_is_valid_and_says_what_it_should() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pre_commit", "validate-manifest", ".pre-commit-hooks.yaml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    hooks = manifest()
    assert set(hooks) == {
        "mergeguard",
        "mergeguard-post-merge",
        "mergeguard-fix-merge",
        "mergeguard-fix-rebase",
        "mergeguard-apply",
    }
    for mode, stages in (("merge", ["post-merge", "manual"]), ("rebase", ["manual"])):
        fixing = hooks.pop(f"mergeguard-fix-{mode}")
        assert fixing["entry"] == f"mergeguard fix --{mode}" and fixing["stages"] == stages
        assert fixing["always_run"] is True and fixing["pass_filenames"] is False
    applying = hooks.pop("mergeguard-apply")
    assert applying["language"] == "system" and applying["stages"] == ["manual", "pre-push"]
    for hook in hooks.values():
        assert hook["language"] == "python" and hook["entry"] == "mergeguard check"
        assert hook["pass_filenames"] is False and hook["require_serial"] is True
        assert "args" not in hook  # args would apply to every stage
    assert hooks["mergeguard"]["stages"] == ["pre-commit", "pre-push"]
    assert hooks["mergeguard-post-merge"]["stages"] == ["post-merge"]
    assert hooks["mergeguard-post-merge"]["always_run"] is True


@pytest.mark.parametrize(
    ("path", "runs"),
    [
        ("migrations/versions/aaa1_create.py", True),
        ("app/db/migrations/versions/2024/bbb2_nested.py", True),
        ("alembic.ini", True),
        ("services/billing/alembic.ini", True),
        ("pyproject.toml", True),
        ("backend/pyproject.toml", True),
        ("app/models.py", False),
        ("migrations/env.py", False),
        ("migrations/versions/README", False),
        ("README.md", False),
        ("versions.py", False),
    ],
)
def test_files_pattern(path: str, runs: bool) -> None:
    pattern = str(manifest()["mergeguard"]["files"])
    assert bool(re.search(pattern, path)) is runs


def test_git_hooks_are_executable_posix_sh() -> None:
    for name in ("pre-push", "post-merge"):
        hook = HOOKS / name
        assert os.access(hook, os.X_OK), f"chmod +x hooks/{name}"
        assert hook.read_text().startswith("#!/bin/sh\n")
        syntax = subprocess.run(["sh", "-n", str(hook)], capture_output=True, text=True)
        assert syntax.returncode == 0, syntax.stderr


# --------------------------------------------------------------------------- PRE_COMMIT=1


def check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["check", *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def no_pre_commit_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("PRE_COMMIT", "PRE_COMMIT_FROM_REF", "PRE_COMMIT_TO_REF"):
        monkeypatch.delenv(name, raising=False)
    for name in ("PRE_COMMIT_SOURCE", "PRE_COMMIT_ORIGIN", "GITHUB_BASE_REF"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "400")
    return monkeypatch


def test_pre_commit_env_makes_check_read_the_index(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str], no_pre_commit_env: pytest.MonkeyPatch
) -> None:
    repo.init_alembic()
    repo.migration("aaa1", None)
    repo.migration("bbb2", "aaa1")
    repo.commit()
    repo.migration("ddd4", "bbb2")
    repo.git("add", "-A")  # staged: a clean line aaa1 <- bbb2 <- ddd4
    repo.migration("ccc3", "aaa1")  # untracked: a second head in the work tree only
    where = ("-C", str(repo.root))

    code, out, err = check(capsys, *where)
    assert code == 1 and "MG101" in out and "working tree" in err
    no_pre_commit_env.setenv("PRE_COMMIT", "0")  # only pre-commit's own value counts
    code, out, err = check(capsys, *where)
    assert code == 1 and "working tree" in err
    no_pre_commit_env.setenv("PRE_COMMIT", "1")
    code, out, err = check(capsys, *where)
    assert (code, out) == (0, "") and "(staged changes)" in err

    repo.git("add", "-A")  # now the commit would hold the second head
    code, out, err = check(capsys, *where)
    assert code == 1 and "MG101" in out and "staged changes" in out


def test_pre_commit_env_leaves_ranges_and_pushed_refs_alone(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str], no_pre_commit_env: pytest.MonkeyPatch
) -> None:
    history = diverged(repo)
    repo.migration("eee5", "aaa1")  # untracked: the index would be clean
    no_pre_commit_env.setenv("PRE_COMMIT", "1")
    where = ("-C", str(repo.root))
    code, out, _ = check(capsys, "main..feature", *where)
    assert code == 1 and "MG102" in out
    no_pre_commit_env.setenv("PRE_COMMIT_FROM_REF", history.main)
    no_pre_commit_env.setenv("PRE_COMMIT_TO_REF", history.feature)
    code, out, err = check(capsys, *where)
    assert code == 1 and "MG102" in out and "(main..feature," in err  # commit ids by name
    # the remote's old copy of the pushed branch is not the target: main is
    no_pre_commit_env.setenv("PRE_COMMIT_FROM_REF", history.base)
    code, out, _ = check(capsys, *where)
    assert code == 1 and "MG102" in out
    repo.git("branch", "-m", "main", "trunk")  # no target known: the pushed update alone
    code, out, _ = check(capsys, *where)
    assert (code, out) == (0, "")


# --------------------------------------------------------------------------- hooks/post-merge


def test_post_merge_hook_after_a_merge_that_leaves_two_heads(
    repo: RepoBuilder, hook_env: dict[str, str]
) -> None:
    diverged(repo)
    install_hook(repo, "post-merge")
    merge = run(["git", "merge", "--no-edit", "feature"], repo.root, hook_env)
    assert merge.returncode == 0, merge.stderr  # git ignores post-merge: the merge is made
    said = merge.stdout + merge.stderr
    assert "MG101" in said and "mergeguard fix --merge" in said

    hook = run([str(HOOKS / "post-merge"), "0"], repo.root, hook_env)
    assert hook.returncode == 1
    assert "MG101" in hook.stdout and "bbb2" in hook.stdout and "ccc3" in hook.stdout
    assert "mergeguard fix --merge" in hook.stdout + hook.stderr
    assert "the merge is done" in hook.stderr


def test_post_merge_hook_writes_the_merge_revision_when_opted_in(
    repo: RepoBuilder, hook_env: dict[str, str]
) -> None:
    import alembic

    diverged(repo)
    template = Path(alembic.__file__).parent / "templates" / "generic" / "script.py.mako"
    repo.write("migrations/script.py.mako", template.read_text())
    repo.commit("template")
    repo.git("config", "mergeguard.fixOnMerge", "true")
    install_hook(repo, "post-merge")
    merge = run(["git", "merge", "--no-edit", "feature"], repo.root, hook_env)
    assert merge.returncode == 0, merge.stderr
    assert "fixOnMerge" in merge.stdout + merge.stderr
    written = [
        p
        for p in (repo.root / "migrations" / "versions").glob("*.py")
        if "Revises: bbb2, ccc3" in p.read_text() or "Revises: ccc3, bbb2" in p.read_text()
    ]
    assert len(written) == 1
    assert run(["mergeguard", "check"], repo.root, hook_env).returncode == 0


def test_post_merge_hook_is_quiet_after_a_clean_merge(
    repo: RepoBuilder, hook_env: dict[str, str]
) -> None:
    linear(repo)
    install_hook(repo, "post-merge")
    merge = run(["git", "merge", "--no-edit", "feature"], repo.root, hook_env)
    assert merge.returncode == 0 and "MG1" not in merge.stdout + merge.stderr
    hook = run([str(HOOKS / "post-merge"), "0"], repo.root, hook_env)
    assert (hook.returncode, hook.stdout) == (0, "")


@pytest.mark.parametrize("name", ["post-merge", "pre-push"])
def test_hooks_say_when_mergeguard_is_missing(repo: RepoBuilder, tmp_path: Path, name: str) -> None:
    linear(repo)
    bare_path = tmp_path / "bin"  # git only: no mergeguard anywhere on PATH
    bare_path.mkdir()
    git = shutil.which("git")
    assert git is not None
    (bare_path / "git").symlink_to(git)
    result = run(
        [str(HOOKS / name), "origin", "url"],
        repo.root,
        clean_env({"PATH": str(bare_path)}),
        stdin=f"refs/heads/main {repo.git('rev-parse', 'HEAD')} refs/heads/main {NULL}\n",
    )
    assert result.returncode == 3
    assert "'mergeguard' command is not on PATH" in result.stderr


# --------------------------------------------------------------------------- hooks/pre-push


@dataclass(frozen=True)
class Pushed:
    """A repository with an ``origin`` (a bare clone) that holds main and feature
    (one head each); locally, ``merged`` is feature after ``git merge main``
    without a merge revision: two heads."""

    repo: RepoBuilder
    history: History
    merged: str


@pytest.fixture
def pushed(repo: RepoBuilder, tmp_path: Path) -> Pushed:
    history = diverged(repo)
    origin = tmp_path / "origin.git"
    repo.git("clone", "--quiet", "--bare", str(repo.root), str(origin))
    repo.git("remote", "add", "origin", str(origin))
    repo.git("fetch", "--quiet", "origin")
    repo.git("remote", "set-head", "origin", "--auto")
    repo.checkout("feature")
    repo.git("merge", "--quiet", "--no-edit", "main")
    return Pushed(repo, history, repo.git("rev-parse", "HEAD"))


def pre_push(
    pushed: Pushed, env: Mapping[str, str], *lines: str
) -> subprocess.CompletedProcess[str]:
    stdin = "".join(line + "\n" for line in lines)
    origin = str(pushed.repo.root.parent / "origin.git")
    return run([str(HOOKS / "pre-push"), "origin", origin], pushed.repo.root, env, stdin=stdin)


def test_pre_push_refuses_an_update_that_leaves_two_heads(
    pushed: Pushed, hook_env: dict[str, str]
) -> None:
    h = pushed.history
    result = pre_push(
        pushed, hook_env, f"refs/heads/feature {pushed.merged} refs/heads/feature {h.feature}"
    )
    assert result.returncode == 1
    assert "MG101" in result.stdout and "push refused" in result.stderr
    # judged against the branch it merges into (origin/main), not the remote's old copy
    result = pre_push(
        pushed, hook_env, f"refs/heads/feature {h.feature} refs/heads/feature {h.base}"
    )
    assert result.returncode == 1 and "MG102" in result.stdout
    assert "origin/main" in result.stdout
    result = pre_push(pushed, hook_env, f"refs/heads/feature {h.main} refs/heads/feature {h.base}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == "" and "refs/heads/feature" in result.stderr


def test_pre_push_checks_a_new_branch_against_the_default_branch(
    pushed: Pushed, hook_env: dict[str, str]
) -> None:
    h = pushed.history
    clean = pre_push(pushed, hook_env, f"refs/heads/topic {h.main} refs/heads/topic {NULL}")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "refs/heads/topic" in clean.stderr and "(origin/main..main," in clean.stderr
    bad = pre_push(pushed, hook_env, f"refs/heads/topic {h.feature} refs/heads/topic {NULL}")
    assert bad.returncode == 1 and "MG102" in bad.stdout

    pushed.repo.git("remote", "set-head", "origin", "--delete")  # origin/main is still known
    still = pre_push(pushed, hook_env, f"refs/heads/topic {h.feature} refs/heads/topic {NULL}")
    assert still.returncode == 1 and "MG102" in still.stdout


def test_pre_push_skips_deletions(pushed: Pushed, hook_env: dict[str, str]) -> None:
    h = pushed.history
    deletion = f"(delete) {NULL} refs/heads/feature {h.feature}"
    result = pre_push(pushed, hook_env, deletion)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    update = f"refs/heads/feature {pushed.merged} refs/heads/feature {h.feature}"
    both = pre_push(pushed, hook_env, deletion, update)
    assert both.returncode == 1 and both.stdout.count("MG101") == 1


def test_pre_push_hook_in_a_real_push(pushed: Pushed, hook_env: dict[str, str]) -> None:
    repo, h = pushed.repo, pushed.history
    install_hook(repo, "pre-push")
    refused = run(["git", "push", "origin", "feature"], repo.root, hook_env)
    assert refused.returncode != 0 and "MG101" in refused.stdout + refused.stderr
    assert repo.git("ls-remote", "origin", "refs/heads/feature").split()[0] == h.feature
    accepted = run(["git", "push", "origin", f"{h.main}:refs/heads/topic"], repo.root, hook_env)
    assert accepted.returncode == 0, accepted.stderr
    assert repo.git("ls-remote", "origin", "refs/heads/topic").split()[0] == h.main


# --------------------------------------------------------------------------- mergeguard demo


def test_demo_builds_the_story_and_finds_mg102(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_pre_commit_env: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "demo"
    code = main(["demo", str(target)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "MG102" in out and "b2c3d4" in out and "c3d4e5" in out
    assert "two heads" in err and "a1b2c3" in err and str(target.resolve()) in err
    assert "mergeguard fix --rebase main..feature" in err and "mergeguard fix --merge" in err
    assert err.index("Here is what mergeguard sees") < err.index("1 error")

    # the story is true: git merges cleanly, and Alembic then has two heads
    def git(*args: str) -> str:
        result = run(["git", *args], target, clean_env())
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    assert git("status", "--porcelain") == ""
    assert git("rev-parse", "--abbrev-ref", "HEAD") == "main"
    assert git("log", "--format=%an", "-1") == "mergeguard demo"
    git("merge", "--no-edit", "feature")
    assert sorted(alembic_heads(target)) == ["b2c3d4", "c3d4e5"]
    code = main(["check", "-C", str(target), "--format", "json"])
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert code == 1 and [f["code"] for f in findings] == ["MG101"]
    assert "mergeguard fix --merge" in findings[0]["hint"]


def alembic_heads(root: Path) -> tuple[str, ...]:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        config = Config(str(root / "alembic.ini"))
        return tuple(ScriptDirectory.from_config(config).get_heads())


def test_demo_default_directory_is_a_new_kept_temporary_directory(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    no_pre_commit_env: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    assert main(["demo"]) == 0
    err = capsys.readouterr().err
    [made] = list(tmp_path.iterdir())
    assert made.name.startswith("mergeguard-demo-") and str(made.resolve()) in err
    assert (made / "alembic.ini").is_file() and (made / "migrations" / "script.py.mako").is_file()


def test_demo_refuses_a_directory_that_holds_something(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    assert main(["demo", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "not empty" in err and "Traceback" not in err
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]
    assert main(["demo", str(tmp_path / "keep.txt")]) == 2
    assert "not a directory" in capsys.readouterr().err


def test_demo_without_git_is_exit_3(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mergeguard", "demo", str(tmp_path / "demo")],
        env={**clean_env(), "PATH": str(tmp_path / "nothing-here")},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 3
    assert "git is not installed" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "demo").exists()


# --------------------------------------------------------------------------- real pre-commit


class TestPreCommit:
    """The real pre-commit, with the hook environment it installs itself."""

    def test_pre_commit_stage_checks_what_is_staged(
        self, pre_commit: PreCommit, repo: RepoBuilder
    ) -> None:
        repo.init_alembic()
        repo.migration("aaa1", None)
        repo.migration("bbb2", "aaa1")
        repo.commit()
        repo.migration("ddd4", "bbb2")
        repo.git("add", "-A")
        repo.migration("ccc3", "aaa1")  # untracked, and a second head: not being committed
        passed = pre_commit.hook(repo.root)
        assert passed.returncode == 0, passed.stdout
        assert re.search(r"mergeguard \(Alembic revision graph\)\.+Passed", passed.stdout)

        repo.git("add", "-A")
        failed = pre_commit.hook(repo.root)
        assert failed.returncode == 1 and "MG101" in failed.stdout
        assert "staged changes" in failed.stdout

        docs_only = RepoBuilder(repo.root.parent / "docs-only")
        linear(docs_only)
        docs_only.write("README.md", "no migrations here\n")
        docs_only.git("add", "README.md")
        skipped = pre_commit.hook(docs_only.root)
        assert skipped.returncode == 0 and "(no files to check)Skipped" in skipped.stdout

    def test_pre_push_stage_checks_the_pushed_range(
        self, pre_commit: PreCommit, repo: RepoBuilder
    ) -> None:
        history = diverged(repo)
        repo.checkout("feature")  # pre-commit only passes on files present in the work tree
        stage = ("--hook-stage", "pre-push")
        failed = pre_commit.hook(repo.root, *stage, "--from-ref", "main", "--to-ref", "feature")
        assert failed.returncode == 1 and "MG102" in failed.stdout
        manual = "pre-commit run --hook-stage manual mergeguard-fix-rebase"
        assert f"{manual} --from-ref main --to-ref feature" in failed.stdout
        # the pushed feature is judged against main, not from its old remote copy
        again = pre_commit.hook(
            repo.root, *stage, "--from-ref", history.base, "--to-ref", "feature"
        )
        assert again.returncode == 1 and "MG102" in again.stdout
        passed = pre_commit.hook(repo.root, *stage, "--from-ref", history.base, "--to-ref", "main")
        assert passed.returncode == 0, passed.stdout

    def test_post_merge_stage_and_installed_git_hooks(
        self, pre_commit: PreCommit, repo: RepoBuilder
    ) -> None:
        diverged(repo)
        installed = pre_commit.run(
            repo.root,
            "install",
            "--config",
            str(pre_commit.config),
            "-t",
            "pre-commit",
            "-t",
            "post-merge",
        )
        assert installed.returncode == 0, installed.stdout + installed.stderr

        # pre-commit stage through a real `git commit`: a second head is refused
        repo.migration("ddd4", "aaa1")
        repo.git("add", "-A")
        commit = run(["git", "commit", "-m", "second head"], repo.root, pre_commit.env)
        assert commit.returncode != 0 and "MG101" in commit.stdout + commit.stderr
        repo.git("reset", "--hard", "--quiet")
        repo.git("clean", "-fdq")

        # post-merge stage through a real `git merge`: made, and the way out is told
        merge = run(["git", "merge", "--no-edit", "feature"], repo.root, pre_commit.env)
        said = merge.stdout + merge.stderr
        assert merge.returncode == 0, said  # git ignores post-merge: the merge is made
        assert "mergeguard after merge" in said and "Failed" in said
        manual = "pre-commit run --hook-stage manual mergeguard-fix-merge"
        assert "MG101" in said and manual in said  # the hook's virtualenv holds mergeguard
        post = pre_commit.hook(repo.root, "--hook-stage", "post-merge")
        assert post.returncode == 1 and manual in post.stdout

    def test_hints_name_the_manual_stage_fixes_and_they_fix_the_history(
        self, pre_commit: PreCommit, repo: RepoBuilder
    ) -> None:
        diverged(repo)
        repo.checkout("feature")
        config = ("--config", str(pre_commit.manual_config), "--color", "never")
        stage = ("--hook-stage", "pre-push", "--from-ref", "main", "--to-ref", "feature")
        failed = pre_commit.run(repo.root, "run", *config, *stage)
        hint = (
            "pre-commit run --hook-stage manual mergeguard-fix-rebase "
            "--from-ref main --to-ref feature"
        )
        assert failed.returncode == 1 and "MG102" in failed.stdout and hint in failed.stdout
        assert "`mergeguard fix" not in failed.stdout  # not a command of the user's shell

        words = hint.split()  # the hint as printed, with this test's --config added
        assert words[:2] == ["pre-commit", "run"]
        fixed = pre_commit.run(repo.root, "run", *config, *words[2:])
        assert "mergeguard fix --rebase" in fixed.stdout, fixed.stdout + fixed.stderr
        moved = (repo.root / "migrations" / "versions" / "bbb2_migration.py").read_text()
        assert "down_revision = 'ccc3'" in moved and "Revises: ccc3" in moved
        repo.commit("re-pointed onto main")
        again = pre_commit.run(repo.root, "run", *config, *stage)
        assert again.returncode == 0, again.stdout
        assert run(["git", "merge", "--no-edit", "main"], repo.root, pre_commit.env).returncode == 0
        assert alembic_heads(repo.root) == ("bbb2",)

    def test_after_a_merge_the_manual_merge_fix_writes_the_merge_revision(
        self, pre_commit: PreCommit, repo: RepoBuilder
    ) -> None:
        import alembic

        diverged(repo)
        template = Path(alembic.__file__).parent / "templates" / "generic" / "script.py.mako"
        repo.write("migrations/script.py.mako", template.read_text())
        repo.commit("template")
        assert (
            run(["git", "merge", "--no-edit", "feature"], repo.root, pre_commit.env).returncode == 0
        )
        config = ("--config", str(pre_commit.manual_config), "--color", "never")
        failed = pre_commit.run(repo.root, "run", *config, "--all-files")
        hint = "pre-commit run --hook-stage manual mergeguard-fix-merge"
        assert failed.returncode == 1 and "MG101" in failed.stdout and hint in failed.stdout

        pre_commit.run(repo.root, "run", *config, *hint.split()[2:])
        written = [
            p
            for p in (repo.root / "migrations" / "versions").glob("*.py")
            if "Revises: bbb2, ccc3" in p.read_text() or "Revises: ccc3, bbb2" in p.read_text()
        ]
        assert len(written) == 1
        assert len(alembic_heads(repo.root)) == 1
        repo.commit("merge revision")
        assert pre_commit.run(repo.root, "run", *config, "--all-files").returncode == 0

    def test_commit_stage_hint_against_the_upstream_and_its_manual_fix(
        self, pre_commit: PreCommit, repo: RepoBuilder
    ) -> None:
        diverged(repo)
        repo.checkout("feature")
        repo.git("branch", "--set-upstream-to", "main")  # the base of a check without a range
        path = repo.root / "migrations" / "versions" / "bbb2_migration.py"
        path.write_text(path.read_text() + "# reviewed\n")
        repo.git("add", "-A")
        config = ("--config", str(pre_commit.manual_config), "--color", "never")
        failed = pre_commit.run(repo.root, "run", *config)
        hint = "`pre-commit run --hook-stage manual mergeguard-fix-rebase`"
        assert failed.returncode == 1 and "MG102" in failed.stdout and hint in failed.stdout

        pre_commit.run(repo.root, "run", *config, "--hook-stage", "manual", "mergeguard-fix-rebase")
        assert "down_revision = 'ccc3'" in path.read_text()
        repo.git("add", "-A")
        passed = pre_commit.run(repo.root, "run", *config)
        assert passed.returncode == 0, passed.stdout
