"""Reading a large batch in forked children, one per extra core (Linux only).

A batch of ``count`` sources is cut into chunks: this process keeps the
first, each child takes one of the rest.  A child loads its own chunk
(``load(start, stop)``: for a git snapshot one ``git cat-file --batch``) and
reads it, so the loads run side by side with the parsing; only results cross
back, pickled through a pipe, in pieces of ``_PIECE`` sources: the caller
takes each piece as it comes (``in_pieces`` is a generator), so its own
work on the results overlaps the children's parsing instead of following it.
Forking (no pool, no task pickled) lets a child call the caller's ``load``
as it is.

A child that fails in any way (killed, out of memory, an error loading its
chunk) stops sending: what it did not send whole is loaded and read here,
where a real error is raised with its own message, as without children.
Nothing waits on a child that cannot answer: its end of the pipe closes when
it exits.  Children not collected (an error cut the read short) are killed
and reaped.
"""

from __future__ import annotations

import gc
import os
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

# Below this many files a second process costs more than it saves.
PARALLEL_THRESHOLD = 400
# The share of a batch this process reads itself, against one child's: it
# also forks the children, unpickles their results and works on them (a few
# hundredths of a second at 5,000 files), while a child, whose inherited
# heap is frozen (see ``in_pieces``), reads a file in about 0.93 of the time
# this process takes (process times of both, six runs, 5,000 files).
_OWN_SHARE = 0.95
# Sources per piece a child sends: small enough that the last one leaves
# little to do after it, large enough that the pieces cost nothing.
_PIECE = 250
# A pipe as large as Linux allows by default: a child's pieces fit in it, so
# it never waits for this process to read them.
_PIPE_BYTES = 1 << 20
_SIZE_BYTES = 8
# A child that sends nothing for this long is taken as failed (killed, its
# rest read here): a child reads under the same bounds as this process, so
# only a stuck process goes this long, and nothing may wait on it forever.
_SILENCE_SECONDS = 60.0

_Result = TypeVar("_Result")
Load = Callable[[int, int], Sequence[bytes]]
Read = Callable[[list[bytes]], list[_Result]]


def in_pieces(read: Read[_Result], count: int, load: Load) -> Iterator[list[_Result]]:
    """``read`` of the sources ``load(0, count)`` gives, in order, in
    consecutive pieces: one for a small batch (read here alone), else this
    process's chunk, then the children's pieces as they come."""
    children = usable_cores() - 1
    if count < PARALLEL_THRESHOLD or children < 1 or sys.platform != "linux":
        yield read(list(load(0, count)))
        return
    own = int(count * _OWN_SHARE / (children + 1))
    size = -(-(count - own) // children)
    spans = [(start, min(start + size, count)) for start in range(own, count, size)]
    sys.stdout.flush()  # a child must not print again what this process buffered
    sys.stderr.flush()
    # A child's collections then leave alone what it inherited: walking it
    # would write to every object's header and copy the whole heap, page by
    # page (what the gc module's documentation advises before a fork).
    thaw = gc.get_freeze_count() == 0  # (a caller's own freeze is left as it was)
    gc.freeze()
    try:
        forked = [_Child.start(read, load, span) for span in spans]
    finally:
        if thaw:
            gc.unfreeze()
    try:
        yield read(list(load(0, own)))
        for (start, stop), child in zip(spans, forked, strict=True):
            done = start
            for piece in child.pieces() if child is not None else ():
                done += len(piece)
                yield piece
            if done < stop:  # the child failed: the rest is read here
                yield read(list(load(done, stop)))
    finally:
        for child in forked:
            if child is not None:
                child.stop()


def in_parallel(read: Read[_Result], count: int, load: Load) -> list[_Result]:
    """``in_pieces`` joined in one list."""
    return [result for piece in in_pieces(read, count, load) for result in piece]


class _Child:
    """One forked child reading one chunk, and the read end of its pipe."""

    def __init__(self, pid: int, pipe: int) -> None:
        self.pid: int | None = pid
        self.pipe: int | None = pipe

    @classmethod
    def start(cls, read: Read[_Result], load: Load, span: tuple[int, int]) -> _Child | None:
        """The child reading ``span``; None when none can start (out of
        processes or memory: the chunk is then read here)."""
        try:
            read_end, write_end = os.pipe()
        except OSError:
            return None
        try:
            with warnings.catch_warnings():
                # 3.12+ warns when another thread is alive (a git call's
                # drain thread a moment longer); under -W error the warning
                # would raise here after the child exists, leaving it unreaped
                warnings.simplefilter("ignore", DeprecationWarning)
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

    def pieces(self) -> Iterator[list[Any]]:
        """Each piece the child sent whole, in order, until it stopped (or
        sent nothing for ``_SILENCE_SECONDS``: it is then taken as failed)."""
        import pickle  # (here: a warm run reads no batch and skips the import)

        assert self.pipe is not None
        pipe, self.pipe = self.pipe, None
        try:
            while (header := _read_exactly(pipe, _SIZE_BYTES)) is not None:
                data = _read_exactly(pipe, int.from_bytes(header, "big"))
                if data is None:
                    break  # cut short: the child died (or went silent) while writing it
                piece: list[Any] = pickle.loads(data)  # our own child's, not outside input
                yield piece
        finally:
            os.close(pipe)
        self.stop()

    def stop(self) -> None:
        """Kill and reap the child if it was not reaped; close its pipe."""
        if self.pipe is not None:
            os.close(self.pipe)
            self.pipe = None
        if self.pid is not None:
            import signal

            try:
                os.kill(self.pid, signal.SIGKILL)  # done already, in the usual case
            except ProcessLookupError:
                pass
            os.waitpid(self.pid, 0)
            self.pid = None


def _read_exactly(fd: int, size: int) -> bytes | None:
    """``size`` bytes from the pipe ``fd``; None when it ends first or stays
    silent for ``_SILENCE_SECONDS``."""
    import select

    parts: list[bytes] = []
    left = size
    while left:
        ready, _, _ = select.select([fd], [], [], _SILENCE_SECONDS)
        part = os.read(fd, min(left, _PIPE_BYTES)) if ready else b""
        if not part:
            return None
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


def _run_child(read: Read[_Result], load: Load, span: tuple[int, int], write_end: int) -> None:
    status = 1
    try:
        import pickle

        _grow_pipe(write_end)
        sources = list(load(*span))
        with open(write_end, "wb") as stream:
            for at in range(0, len(sources), _PIECE):
                data = pickle.dumps(read(sources[at : at + _PIECE]), pickle.HIGHEST_PROTOCOL)
                stream.write(len(data).to_bytes(_SIZE_BYTES, "big"))
                stream.write(data)
                stream.flush()
        status = 0
    finally:
        # whatever happened, end here: no traceback printed, no atexit handler
        # or buffered output of the parent run twice; the parent reads what
        # was not sent itself and reports what fails there
        os._exit(status)


def _grow_pipe(fd: int) -> None:
    import fcntl

    try:
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, _PIPE_BYTES)
    except OSError:
        pass  # over the system's limit: the child then waits for the reads


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1
