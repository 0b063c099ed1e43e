"""Opening a repository: the one containing a directory, found the way git finds it.

A normal checkout, a linked worktree and a bare repository all open; not a
repository, a directory git refuses (``safe.directory``) or no git installed
is a MergeguardError naming the directory.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from mergeguard.errors import MergeguardError
from mergeguard.git.plumbing import absolute_directory, base_env, garbled, one_line, run_git
from mergeguard.git.repository import GitRepository


def open_repository(start: Path) -> GitRepository:
    """The repository containing ``start`` (searching parent directories).

    Works for a normal checkout, a linked worktree and a bare repository
    (``start`` = ``path/to/repo.git``).  Not a repository, or no git
    installed, is a MergeguardError naming the directory.
    """
    directory = _start_directory(start)
    env = base_env()
    # the work tree's top level in the same process; git refuses it (and the
    # whole call) outside a work tree: a bare repository, inside .git
    proc = run_git([*_DISCOVER, "--show-toplevel"], cwd=directory, env=env, check=False)
    with_top = proc.returncode == 0
    if not with_top:
        proc = run_git(_DISCOVER, cwd=directory, env=env, check=False)
    if proc.returncode != 0:
        raise _not_a_repository(directory, proc.stderr)
    lines = os.fsdecode(proc.stdout).splitlines()
    if len(lines) < 3 or lines[2] not in ("true", "false"):
        raise garbled("rev-parse", proc.stdout)
    git_dir = absolute_directory("rev-parse", proc.stdout, lines[0])
    common_dir = absolute_directory("rev-parse", proc.stdout, lines[1])
    if lines[2] == "true":
        work_tree = None
    elif with_top and len(lines) == 4 and lines[3]:
        work_tree = absolute_directory("rev-parse", proc.stdout, lines[3])
    else:
        work_tree = _work_tree(directory, env, git_dir)
    return GitRepository(work_tree, git_dir, common_dir)


_DISCOVER = [
    "rev-parse",
    "--path-format=absolute",
    "--git-dir",
    "--git-common-dir",
    "--is-bare-repository",
]


def _start_directory(start: Path) -> Path:
    """The absolute directory to search from (a file's parent); missing is an error."""
    directory = Path(os.path.abspath(start))
    if directory.is_file():
        directory = directory.parent
    if not directory.is_dir():
        raise MergeguardError(
            f"{directory} does not exist", hint="pass an existing directory with -C DIR"
        )
    return directory


def _not_a_repository(directory: Path, stderr: bytes) -> MergeguardError:
    """The error for a failed discovery: plain "not a repository", or git's reason."""
    message = one_line(stderr)
    if "not a git repository" in message:
        return MergeguardError(
            f"{directory} is not in a git repository",
            hint="run mergeguard inside a git work tree, or point -C DIR at one",
        )
    hint = "see git's message above"
    if "safe.directory" in message:
        hint = "mark the repository as safe with `git config --global --add safe.directory DIR`"
    return MergeguardError(f"cannot open the git repository at {directory}: {message}", hint)


def _work_tree(directory: Path, env: Mapping[str, str], git_dir: Path) -> Path:
    """The work tree root of a non-bare repository seen from ``directory``.

    From inside a main ``.git`` directory git has no top level to show; its
    parent is then the work tree.
    """
    proc = run_git(["rev-parse", "--show-toplevel"], cwd=directory, env=env, check=False)
    top = os.fsdecode(proc.stdout).strip()
    if proc.returncode == 0 and top:
        return absolute_directory("rev-parse", proc.stdout, top)
    if git_dir.name == ".git":
        return git_dir.parent
    raise MergeguardError(
        f"{directory} is inside the git directory {git_dir}, not in a work tree",
        hint="run mergeguard from the work tree, or pass -C DIR",
    )
