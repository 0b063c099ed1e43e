"""Reading a large batch in forked children, one per extra core (Linux only).

A batch of ``count`` sources is cut into chunks: this process keeps the
first, each child takes one of the rest.  A child loads its own chunk
(``load(start, stop)``: for a git snapshot one ``git cat-file --batch``) and
reads it, so the loads run side by side with the parsing, and only results
cross back, pickled through a pipe.  Forking (no pool, no task pickled)
lets a child call the caller's ``load`` as it is.

A child that fails in any way (killed, out of memory, an error loading its
chunk) exits without a result: its chunk is then loaded and read here, where
a real error is raised with its own message, as without children.  Nothing
waits on a child that cannot answer: its end of the pipe closes when it
exits.  Children not collected (an error here cut the read short) are
killed and reaped.
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

# Below this many files a second process costs more than it saves.
PARALLEL_THRESHOLD = 400
# The share of a batch this process reads itself, against one child's: it
# also forks the children and unpickles their results, so it takes less.
_OWN_SHARE = 0.95

_Result = TypeVar("_Result")
Load = Callable[[int, int], Sequence[bytes]]
Read = Callable[[list[bytes]], list[_Result]]


def in_parallel(read: Read[_Result], count: int, load: Load) -> list[_Result]:
    """``read`` of the sources ``load(0, count)`` gives, in order: in this
    process alone for a small batch, else in chunks shared with children."""
    children = usable_cores() - 1
    if count < PARALLEL_THRESHOLD or children < 1 or sys.platform != "linux":
        return read(list(load(0, count)))
    own = int(count * _OWN_SHARE / (children + 1))
    size = -(-(count - own) // children)
    spans = [(start, min(start + size, count)) for start in range(own, count, size)]
    sys.stdout.flush()  # a child must not print again what this process buffered
    sys.stderr.flush()
    forked = [_Child.start(read, load, span) for span in spans]
    try:
        found = read(list(load(0, own)))
        for span, child in zip(spans, forked, strict=True):
            result = child.result() if child is not None else None
            found += read(list(load(*span))) if result is None else result
    finally:
        for child in forked:
            if child is not None:
                child.stop()
    return found


class _Child:
    """One forked child reading one chunk, and the read end of its pipe."""

    def __init__(self, pid: int, pipe: int) -> None:
        self.pid: int | None = pid
        self.pipe = pipe

    @classmethod
    def start(cls, read: Read[_Result], load: Load, span: tuple[int, int]) -> _Child | None:
        """The child reading ``span``; None when none can start (out of
        processes or memory: the chunk is then read here)."""
        try:
            read_end, write_end = os.pipe()
        except OSError:
            return None
        try:
            pid = os.fork()
        except OSError:
            os.close(read_end)
            os.close(write_end)
            return None
        if pid == 0:
            os.close(read_end)
            _run_child(read, load, span, write_end)  # never returns
        os.close(write_end)
        return cls(pid, read_end)

    def result(self) -> list[Any] | None:
        """What the child sent, or None when it sent nothing whole (it failed)."""
        with open(self.pipe, "rb") as pipe:  # closes the pipe
            data = pipe.read()
        if self._reap() != 0:
            return None
        found: list[Any] = pickle.loads(data)  # from our own child, not outside input
        return found

    def stop(self) -> None:
        """Kill and reap the child if it was not collected; close the pipe."""
        if self.pid is None:
            return
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self._reap()
        try:
            os.close(self.pipe)
        except OSError:
            pass  # closed by result() already

    def _reap(self) -> int:
        assert self.pid is not None
        _, status = os.waitpid(self.pid, 0)
        self.pid = None
        return os.waitstatus_to_exitcode(status)


def _run_child(read: Read[_Result], load: Load, span: tuple[int, int], write_end: int) -> None:
    status = 1
    try:
        data = pickle.dumps(read(list(load(*span))), protocol=pickle.HIGHEST_PROTOCOL)
        with open(write_end, "wb") as pipe:
            pipe.write(data)
        status = 0
    finally:
        # whatever happened, end here: no traceback printed, no atexit handler
        # or buffered output of the parent run twice; when the status is not
        # 0 the parent reads the chunk itself and reports what fails there
        os._exit(status)


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1
