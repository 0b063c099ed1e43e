"""The console script ends with ``os._exit`` once its output is out (issue 12):
what it must not lose.

Real processes on a real git repository holding a project made by ``alembic
init``.  A probe object whose ``__del__`` writes to stderr tells the two exits
apart: the interpreter's own exit tears the modules down and runs it, the
fast exit does not.  So each test also shows which exit it went through.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import RepoBuilder, diverged_alembic_project

from mergeguard.app.cli import main
from mergeguard.graph.cache import default_cache_path, parse_document
from mergeguard.graph.environments import CACHE_NAMESPACE

TORN_DOWN = "probe torn down"
# ``mergeguard ARGS`` through the console script's entry, with a probe that
# reports the interpreter's teardown; PRELUDE may import or start something.
# The probe hangs from a module of its own in ``sys.modules``: the teardown
# frees that module by reference counting, so ``gc.freeze`` does not keep it.
SCRIPT = """\
import os, sys, types
class Probe:
    def __del__(self, write=os.write):
        write(2, {torn!r}.encode())
holder = types.ModuleType("exit_probe")
holder.probe = Probe()
sys.modules["exit_probe"] = holder
del holder
{prelude}
sys.argv = ["mergeguard", *{args!r}]
from mergeguard.app.cli import run
run()
"""
# Variables that would change the scenario or the terminal a run sees, or
# unbuffer its streams (then nothing waits in a buffer to be lost).
OUTSIDE = (
    "PRE_COMMIT",
    "GITHUB_",
    "MERGEGUARD_",
    "FORCE_COLOR",
    "TTY_COMPATIBLE",
    "PYTHONUNBUFFERED",
)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RepoBuilder]:
    """main and feature each add a revision on a1 (MG102); feature checked out."""
    repo = RepoBuilder(tmp_path_factory.mktemp("exit") / "repo")
    yield diverged_alembic_project(repo)


def run(
    repo: RepoBuilder, *args: str, prelude: str = "", stdout: int | object = subprocess.PIPE
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(OUTSIDE)}
    script = SCRIPT.format(torn=TORN_DOWN, prelude=prelude, args=list(args))
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=repo.root,
        env=env,
        stdout=stdout,  # type: ignore[arg-type]
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
        check=False,
    )


def in_process(
    repo: RepoBuilder, *args: str, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    code = main(["-C", str(repo.root), *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["check", "main..feature"], 1),
        (["check", "main..feature", "--format", "json"], 1),
        (["heads", "--format", "json"], 0),
        (["graph", "main..feature", "--format", "mermaid"], 0),
        (["graph", "main..feature"], 0),  # the tree: printed by rich
        (["rules", "--markdown"], 0),
        (["check", "--format", "nope"], 2),
        (["check", "nosuch..feature"], 3),
    ],
)
def test_a_pipe_gets_all_the_output_and_the_exit_code(
    project: RepoBuilder, args: list[str], code: int, capsys: pytest.CaptureFixture[str]
) -> None:
    """The fast exit is taken, and the pipes hold byte for byte what ``main``
    prints on stdout and stderr in this process (the catalogue's Markdown is a
    few times the stream's 8 KiB buffer); the exit code is ``main``'s."""
    done = run(project, *args)
    assert TORN_DOWN not in done.stderr  # the fast exit
    assert (done.returncode, done.stdout, done.stderr) == in_process(project, *args, capsys=capsys)
    assert done.returncode == code
    if code == 1:
        assert "MG102" in done.stdout
    if code != 0 and "--format" not in args:
        assert done.stderr  # the summary, or the error


def test_a_file_gets_all_the_output(project: RepoBuilder, tmp_path: Path) -> None:
    """stdout redirected to a file (block-buffered, as in ``> report.json``)."""
    path = tmp_path / "out.txt"
    with path.open("w") as handle:
        done = run(project, "rules", "--markdown", stdout=handle)
    assert TORN_DOWN not in done.stderr and done.returncode == 0
    from mergeguard.rules import docs

    assert path.read_text() == docs.markdown()


def test_the_summary_file_is_written_before_the_fast_exit(
    project: RepoBuilder, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``check --summary FILE`` (GitHub's job summary) holds the whole report."""
    by_script, in_here = tmp_path / "script.md", tmp_path / "here.md"
    done = run(project, "check", "main..feature", "--summary", str(by_script))
    assert TORN_DOWN not in done.stderr and done.returncode == 1
    assert main(["-C", str(project.root), "check", "main..feature", "--summary", str(in_here)])
    capsys.readouterr()
    assert by_script.read_text() == in_here.read_text() != ""
    assert "MG102" in by_script.read_text()


def test_the_cache_is_written_before_the_fast_exit(project: RepoBuilder) -> None:
    """A run from an empty cache leaves a whole cache file (its digest holds)
    and records; the next run, which reads them, prints the same report."""
    cache = default_cache_path(Path(project.git("rev-parse", "--git-common-dir").strip()))
    cache = cache if cache.is_absolute() else project.root / cache
    if cache.parent.exists():
        for path in sorted(cache.parent.rglob("*"), reverse=True):
            path.rmdir() if path.is_dir() else path.unlink()
    cold = run(project, "check", "main..feature", "--format", "json")
    assert TORN_DOWN not in cold.stderr and cold.returncode == 1
    entries, problem = parse_document(cache.read_bytes(), CACHE_NAMESPACE)
    assert problem is None and entries
    assert list((cache.parent / "records").glob("*.json"))
    warm = run(project, "check", "main..feature", "--format", "json")
    assert (warm.returncode, warm.stdout) == (cold.returncode, cold.stdout)


@pytest.mark.parametrize(
    "prelude",
    [
        "import atexit; atexit.register(lambda: sys.stderr.write('atexit ran'))",
        "import logging",
        "import concurrent.futures",
    ],
)
def test_exit_work_takes_the_ordinary_exit(project: RepoBuilder, prelude: str) -> None:
    """Where something may be left for the interpreter's exit (an atexit
    callback, logging's flush, a pool's shut-down), the exit is the
    interpreter's: the probe is torn down and atexit callbacks run."""
    done = run(project, "heads", "--format", "json", prelude=prelude)
    assert done.returncode == 0 and json.loads(done.stdout)
    assert TORN_DOWN in done.stderr
    if "atexit.register" in prelude:
        assert "atexit ran" in done.stderr


def test_a_live_thread_takes_the_ordinary_exit(project: RepoBuilder) -> None:
    """A non-daemon thread still running is waited for, as the interpreter does."""
    prelude = (
        "import threading, time\n"
        "threading.Thread(target=lambda: (time.sleep(0.5), sys.stderr.write('thread done')))"
        ".start()"
    )
    done = run(project, "heads", "--format", "json", prelude=prelude)
    assert done.returncode == 0 and "thread done" in done.stderr
    assert TORN_DOWN in done.stderr


def test_a_profiler_takes_the_ordinary_exit(project: RepoBuilder, tmp_path: Path) -> None:
    """``python -m cProfile -o FILE -m mergeguard`` (benchmarks/budget.py) still
    writes its profile: the profiler saves it after the command returns."""
    profile = tmp_path / "check.prof"
    env = {k: v for k, v in os.environ.items() if not k.startswith(OUTSIDE)}
    command = [sys.executable, "-m", "cProfile", "-o", str(profile), "-m", "mergeguard"]
    done = subprocess.run(
        [*command, "check", "main..feature"],
        cwd=project.root,
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert b"MG102" in done.stdout
    assert profile.stat().st_size > 0


@pytest.mark.parametrize("stdout", ["pipe", "file"])
def test_what_no_one_flushed_is_flushed(tmp_path: Path, stdout: str) -> None:
    """Text still in the streams' buffers when the command returns (echo
    flushes after each write; another writer may not) is written out first."""
    script = (
        "import sys\n"
        "from mergeguard.app.cli import exit_now\n"
        "sys.stdout.write('out, not flushed')\n"
        "sys.stderr.write('err, not flushed')\n"
        "exit_now(4)\n"
    )
    path = tmp_path / "out.txt"
    env = {k: v for k, v in os.environ.items() if not k.startswith(OUTSIDE)}
    with path.open("w") as handle:
        done = subprocess.run(
            [sys.executable, "-c", script],
            env=env,
            stdout=handle if stdout == "file" else subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            check=False,
        )
    out = path.read_text() if stdout == "file" else done.stdout
    assert (done.returncode, out, done.stderr) == (4, "out, not flushed", "err, not flushed")
