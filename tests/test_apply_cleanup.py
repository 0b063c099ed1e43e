"""``apply`` leaves nothing behind (issue 10, item 9): no temporary tree, no
worker process, no scratch database, whether it ends normally, on an error,
on a worker crash, a step stuck in C code, SIGTERM or SIGINT.

Every case runs ``python -m mergeguard apply`` as a real subprocess against a
real repository, with a private TMPDIR so that concurrent runs cannot
interfere with what is counted.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from bounded import bounded_mergeguard
from conftest import RepoBuilder, alembic_project, alembic_revision, server_url, set_upgrade
from sqlalchemy.pool import NullPool

from mergeguard.scratchdb import lifetime

LISTING = {
    "postgresql": "SELECT datname FROM pg_database",
    "mariadb": "SHOW DATABASES",
}


def databases(kind: str) -> set[str]:
    engine = sa.create_engine(server_url(kind), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return {str(n) for n in conn.exec_driver_sql(LISTING[kind]).scalars()}
    finally:
        engine.dispose()


def one_migration(repo: RepoBuilder, upgrade: str) -> None:
    """a1 creates users; b2 runs ``upgrade`` (committed on main)."""
    alembic_project(repo, users=True)
    set_upgrade(alembic_revision(repo, "b2", "hostile"), upgrade)
    repo.commit("hostile")


def private_tmp(tmp_path: Path) -> Path:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    return tmp


def trees(tmp: Path) -> list[str]:
    return sorted(p.name for p in tmp.glob(f"{lifetime.PREFIX}*"))


def gone(pid: int, seconds: float = 3) -> bool:
    """True when ``pid`` ends within ``seconds`` (SIGKILL takes a moment to land;
    a zombie waiting for its reaper counts as gone)."""
    deadline = time.monotonic() + seconds
    while not _ended(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _ended(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return True


def wait_for(path: Path, process: subprocess.Popen[str], seconds: float = 60) -> str:
    deadline = time.monotonic() + seconds
    while not path.exists() or not path.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            out, err = process.communicate(timeout=10) if process.poll() is not None else ("", "")
            pytest.fail(f"the migration never started ({process.returncode}): {out}{err}")
        time.sleep(0.05)
    return path.read_text()


# -- a step stuck in C code ----------------------------------------------------------

STUCK_IN_C = (
    "import signal, time\n"
    "# SIGALRM (the watchdog's nudge) and SIGINT can no longer reach this thread:\n"
    "signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM, signal.SIGINT})\n"
    "time.sleep(600)"
)


def test_timeout_ends_a_step_stuck_in_c_code(repo: RepoBuilder, tmp_path: Path) -> None:
    one_migration(repo, STUCK_IN_C)
    tmp = private_tmp(tmp_path)
    started = time.monotonic()
    result = bounded_mergeguard(
        repo.root, "apply", "--timeout", "2", "--format", "json",
        env={"TMPDIR": str(tmp)}, timeout=40,
    )  # fmt: skip
    # Two paths (b2 alone, the whole history), each stuck: 2 s, then 2 s of grace.
    assert time.monotonic() - started < 30, result.stderr
    assert result.returncode == 1, result.stderr
    findings = [f for f in json.loads(result.stdout)["findings"] if f["code"] == "MG301"]
    assert findings and all(f["revisions"][0] == "b2" for f in findings), findings
    assert "fails at revision b2 (b2 alone): timed out after 2 s" in findings[0]["message"]
    assert trees(tmp) == []


def test_the_runs_own_bound_kills_the_workers_whole_group(tmp_path: Path) -> None:
    child = tmp_path / "child.pid"
    script = (
        "import subprocess, sys, time\n"
        "p = subprocess.Popen(['sleep', '600'])\n"
        f"open({str(child)!r}, 'w').write(str(p.pid))\n"
        "time.sleep(600)\n"
    )
    started = time.monotonic()
    with pytest.raises(lifetime.WorkerTimedOut):
        lifetime.run_worker(
            [sys.executable, "-c", script], cwd=tmp_path, env=dict(os.environ), input="",
            files=tmp_path, timeout=3,
        )  # fmt: skip
    assert time.monotonic() - started < 10
    assert gone(int(child.read_text()))


# -- SIGTERM and SIGINT --------------------------------------------------------------

SLEEPER = (
    "import os, subprocess, time\n"
    "marks = {marks!r}\n"
    "open(marks + '/database', 'w').write(str(op.get_bind().engine.url.database))\n"
    "child = subprocess.Popen(['sleep', '600'])\n"
    "open(marks + '/pids', 'w').write(f'{{os.getpid()}} {{child.pid}}')\n"
    "time.sleep(600)"
)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql", "mariadb"])
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_leaves_no_tree_no_worker_and_no_database(
    repo: RepoBuilder, tmp_path: Path, backend: str, signum: int
) -> None:
    url = () if backend == "sqlite" else ("--url", server_url(backend))
    marks = tmp_path / "marks"
    marks.mkdir()
    one_migration(repo, SLEEPER.format(marks=str(marks)))
    tmp = private_tmp(tmp_path)
    process = subprocess.Popen(
        [sys.executable, "-m", "mergeguard", "apply", *url],
        cwd=repo.root, env={**os.environ, "TMPDIR": str(tmp)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        worker, grandchild = map(int, wait_for(marks / "pids", process).split())
        database = (marks / "database").read_text()
        assert trees(tmp) != [] and not _ended(worker)
        started = time.monotonic()
        process.send_signal(signum)
        _, err = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert time.monotonic() - started < 10
    expected = -signal.SIGTERM if signum == signal.SIGTERM else 130
    assert process.returncode == expected, err
    assert "Traceback" not in err and "internal error" not in err, err
    assert trees(tmp) == [], err
    assert gone(worker) and gone(grandchild)
    if backend == "sqlite":
        assert database.startswith(str(tmp)) and not Path(database).exists()
    else:
        assert database.startswith("mergeguard_") and database not in databases(backend)


# -- errors and crashes --------------------------------------------------------------


@pytest.mark.parametrize(
    ("upgrade", "code"),
    [
        ("import os\nos._exit(3)", 1),  # the worker dies: MG301, the rest in a new worker
        ("import not_installed_anywhere_xyz", 3),  # MergeguardError inside the tree's `with`
    ],
    ids=["crash", "error"],
)
def test_a_crash_or_an_error_leaves_no_tree(
    repo: RepoBuilder, tmp_path: Path, upgrade: str, code: int
) -> None:
    one_migration(repo, upgrade)
    tmp = private_tmp(tmp_path)
    result = bounded_mergeguard(repo.root, "apply", env={"TMPDIR": str(tmp)}, timeout=60)
    assert result.returncode == code, result.stderr
    assert trees(tmp) == []


def test_stale_trees_of_killed_runs_are_removed(repo: RepoBuilder, tmp_path: Path) -> None:
    one_migration(repo, "pass")
    tmp = private_tmp(tmp_path)
    stale, fresh, locked, other = (
        tmp / f"{lifetime.PREFIX}{name}" for name in ("stale", "fresh", "locked", "other")
    )
    for tree in (stale, fresh, locked):
        (tree / "tree").mkdir(parents=True)
        (tree / lifetime.LOCK).write_text("")
    other.write_text("a file, not a tree of ours")
    import fcntl

    with open(locked / lifetime.LOCK) as held_by_a_live_run:
        fcntl.flock(held_by_a_live_run, fcntl.LOCK_EX)
        two_hours_ago = time.time() - 7200
        for path in (stale, locked, other):
            os.utime(path, (two_hours_ago, two_hours_ago))
        result = bounded_mergeguard(repo.root, "apply", env={"TMPDIR": str(tmp)}, timeout=60)
    assert result.returncode == 0, result.stderr
    assert trees(tmp) == sorted(p.name for p in (fresh, locked, other))
