"""What ``apply`` leaves behind: nothing, however it ends.

- ``ended_by_signals``: SIGTERM raises ``Terminated`` (and SIGINT
  KeyboardInterrupt) in the main thread, so every ``with`` and ``finally``
  unwinds as for any error: the worker's process group is killed, the
  temporary tree removed and the scratch databases dropped; then the process
  dies of SIGTERM as if it had never caught it.  A second signal while that
  clean-up runs is ignored, so it cannot cut the clean-up short.
- ``held``: a signal arriving inside it is raised when it ends, so a
  resource is never made without the code that removes it (a process started,
  a directory made) being in place.
- ``temporary_tree``: the run's directory, locked while the run lives; a
  SIGKILLed run's tree (unlocked, older than ``STALE_AFTER_SECONDS``) is
  removed by the next run.
- ``run_worker``: the worker in a session of its own, its whole process group
  killed when it ends, times out or the run is interrupted (a process a
  migration started cannot outlive the run).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from mergeguard.model import frozen

PREFIX = "mergeguard-apply-"
LOCK = "lock"
STALE_AFTER_SECONDS = 3600.0
HANDLED = (signal.SIGTERM, signal.SIGINT)


class Terminated(BaseException):
    """SIGTERM arrived (not an Exception: nothing may swallow it on the way out)."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"terminated by signal {signum}")
        self.signum = signum


@dataclass
class _State:
    signum: int | None = None  # the first signal received: the run is ending
    holding: int = 0
    pending: bool = False  # received inside ``held``: to raise when it ends


_STATE = _State()


def _raise_for(signum: int) -> None:
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise Terminated(signum)


def _on_signal(signum: int, frame: FrameType | None) -> None:
    if _STATE.signum is not None:
        return  # already ending: let the clean-up finish
    _STATE.signum = signum
    if _STATE.holding:
        _STATE.pending = True
        return
    _raise_for(signum)


@contextlib.contextmanager
def held() -> Iterator[None]:
    """Defer a signal received inside the body to its end."""
    _STATE.holding += 1
    try:
        yield
    finally:
        _STATE.holding -= 1
        if not _STATE.holding and _STATE.pending and _STATE.signum is not None:
            _STATE.pending = False
            _raise_for(_STATE.signum)


@contextlib.contextmanager
def ended_by_signals() -> Iterator[None]:
    """Run the body so that SIGTERM and SIGINT unwind it (see the module docstring).

    Outside the main thread signals cannot be handled: the body runs as it is."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.getsignal(signum) for signum in HANDLED}
    _STATE.signum, _STATE.holding, _STATE.pending = None, 0, False
    for signum in HANDLED:
        signal.signal(signum, _on_signal)
    try:
        yield
        if _STATE.signum is not None:  # raised in the body and swallowed there
            _raise_for(_STATE.signum)
    except Terminated as ended:
        _die_of(ended.signum)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _die_of(signum: int) -> None:
    """Drop what is still live, then end as killed by ``signum`` (143 if that fails)."""
    from mergeguard.scratchdb.database import drop_live

    drop_live()
    print("mergeguard: terminated", file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)
    raise SystemExit(128 + signum)  # pragma: no cover - the signal ends the process first


# -- the temporary tree ------------------------------------------------------------


@contextlib.contextmanager
def temporary_tree() -> Iterator[Path]:
    """A new directory under the temporary directory, removed at the end; an
    exclusive lock on its ``lock`` file tells other runs it is in use."""
    remove_stale_trees(Path(tempfile.gettempdir()))
    made: str | None = None
    lock: int | None = None
    try:
        with held():
            made = tempfile.mkdtemp(prefix=PREFIX)
            lock = os.open(os.path.join(made, LOCK), os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW)
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield Path(made)
    finally:
        with held():
            if made is not None:
                shutil.rmtree(made, ignore_errors=True)
            if lock is not None:
                os.close(lock)


def remove_stale_trees(directory: Path, *, now: float | None = None) -> list[Path]:
    """Remove the trees of runs that were killed (SIGKILL cannot be caught): ours
    (this user's directories named ``PREFIX*``), older than ``STALE_AFTER_SECONDS``
    and not locked by a live run; return what was removed."""
    moment = time.time() if now is None else now
    removed: list[Path] = []
    try:
        entries = [e for e in os.scandir(directory) if e.name.startswith(PREFIX)]
    except OSError:
        return removed
    for entry in entries:
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if (
            stat.S_ISDIR(info.st_mode)
            and info.st_uid == os.getuid()
            and moment - info.st_mtime > STALE_AFTER_SECONDS
            and not _in_use(entry.path)
        ):
            shutil.rmtree(entry.path, ignore_errors=True)
            removed.append(Path(entry.path))
    return removed


def _in_use(tree: str) -> bool:
    """True when a live run holds the tree's lock (a dead one's lock is released)."""
    try:
        fd = os.open(os.path.join(tree, LOCK), os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as error:
        return error.errno not in (errno.ENOENT, errno.ELOOP)  # unreadable: not ours to judge
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)
    return False


# -- the worker process --------------------------------------------------------------


@frozen
class Ended:
    returncode: int
    stdout: str
    stderr: str


class WorkerTimedOut(Exception):
    """The worker outlived the run's own bound; its process group was killed."""


def run_worker(
    argv: Sequence[str], *, cwd: Path, env: dict[str, str], input: str, files: Path, timeout: float
) -> Ended:
    """Run ``argv`` in a new session with ``input`` on stdin; stdin, stdout and
    stderr are files under ``files`` (no pipe a grandchild could hold open).
    Whatever happens, the process group is killed and the worker reaped."""
    stdin, stdout, stderr = (files / f"worker-{name}" for name in ("in", "out", "err"))
    stdin.write_text(input, "utf-8")
    process: subprocess.Popen[bytes] | None = None
    try:
        with open(stdin, "rb") as given, open(stdout, "wb") as out, open(stderr, "wb") as err:
            with held():
                process = subprocess.Popen(
                    argv, cwd=cwd, env=env, stdin=given, stdout=out, stderr=err,
                    start_new_session=True,
                )  # fmt: skip
        try:
            returncode = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise WorkerTimedOut(f"the worker ran longer than {timeout:g} s") from None
    finally:
        if process is not None:
            with held():
                _kill_group(process)
    return Ended(returncode, _text(stdout), _text(stderr, STDERR_TAIL))


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the worker's session (it leads its own group), then reap the worker."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


STDERR_TAIL = 1 << 16  # bytes: only the last lines of stderr are ever shown


def _text(path: Path, tail: int | None = None) -> str:
    """The file's text (its last ``tail`` bytes: a migration may print without end)."""
    try:
        with open(path, "rb") as stream:
            if tail is not None and stream.seek(0, os.SEEK_END) > tail:
                stream.seek(-tail, os.SEEK_END)
            else:
                stream.seek(0)
            return stream.read().decode("utf-8", "replace")
    except OSError:
        return ""
