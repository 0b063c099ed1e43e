"""Helpers shared by the hook and workflow tests: a clean environment for real
``git``/``pre-commit`` processes, and a committed snapshot of this checkout
that pre-commit can install as a hook repository.

pre-commit installs hooks from a commit, and ``try-repo`` would miss files
that are not committed yet (it snapshots tracked changes only, into a new
store each time), so the session fixture (``pre_commit`` in conftest.py)
commits a snapshot of this checkout (tracked and untracked, not ignored
files) to a scratch repository and installs its hook environment once, in a
``PRE_COMMIT_HOME`` shared by the session.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from conftest import GIT_ENV, RepoBuilder

ROOT = Path(__file__).resolve().parents[1]


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The test's environment without pre-commit's, GitHub's or git's location
    variables, with the pinned git identity and wide uncoloured output."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PRE_COMMIT", "GIT_", "GITHUB_"))
        and k not in ("NO_COLOR", "FORCE_COLOR")
    }
    env.update(GIT_ENV)
    env.update({"NO_COLOR": "1", "COLUMNS": "400"})
    env.update(extra or {})
    return env


def run(
    argv: list[str], cwd: Path, env: Mapping[str, str], stdin: str = "", timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv,
        cwd=cwd,
        env=dict(env),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@dataclass(frozen=True)
class PreCommit:
    """A ``.pre-commit-config.yaml`` naming a committed snapshot of this
    checkout, with its hook environment installed in ``env``'s PRE_COMMIT_HOME."""

    config: Path
    env: dict[str, str]
    manual_config: Path  # the same hooks plus the manual-stage fixes

    def run(self, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "pre_commit", *args]
        return run(argv, cwd, self.env, timeout=600)

    def hook(self, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run(cwd, "run", "--config", str(self.config), "--color", "never", *args)

    def install(self, cwd: Path, *stages: str) -> None:
        """``pre-commit install -t STAGE...`` into the repository at ``cwd``."""
        types = [arg for stage in stages for arg in ("-t", stage)]
        done = self.run(cwd, "install", "--config", str(self.config), *types)
        assert done.returncode == 0, done.stdout + done.stderr


def snapshot_of_this_checkout(target: Path) -> str:
    """Commit this checkout's files (tracked and untracked, not ignored, as
    they are on disk) to a new repository at ``target``; its HEAD sha."""
    listing = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    for name in sorted(set(os.fsdecode(listing).split("\0")) - {""}):
        source = ROOT / name
        if source.is_file():  # not deleted, not a submodule
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    snapshot = RepoBuilder(target)
    return snapshot.commit("snapshot of the mergeguard checkout under test")
