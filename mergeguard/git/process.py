"""A child process run to completion in bounded time and memory.

``subprocess.run(capture_output=True, timeout=...)`` bounds the time but not
what it holds: a child that prints without end fills memory long before the
timeout.  Here stdout and stderr are read by threads into buffers with a
limit; past it, or past the deadline, the child is killed.  Input is written
by a thread too, so a child that never reads its stdin cannot block us.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

from mergeguard.model import frozen

_CHUNK = 1 << 16
_POLL_SECONDS = 0.02
_DRAIN_SECONDS = 1.0  # after the kill: a grandchild may keep the pipes open


@frozen
class Finished:
    """A child process that ran to its end: its exit code and what it printed."""

    returncode: int
    stdout: bytes
    stderr: bytes


class TimedOut(Exception):
    """The child ran past its deadline and was killed."""


class TooMuchOutput(Exception):
    """The child printed more than the limit and was killed."""


def _drain(stream: IO[bytes], sink: bytearray, limit: int, over: threading.Event) -> None:
    try:
        while chunk := stream.read1(_CHUNK):  # type: ignore[attr-defined]
            if len(sink) + len(chunk) > limit:
                over.set()
                return
            sink += chunk
    except (OSError, ValueError):  # closed under us: a grandchild kept the pipe open
        return


def _feed(stream: IO[bytes], data: bytes) -> None:
    try:
        stream.write(data)
        stream.close()
    except (BrokenPipeError, OSError):  # the child exited without reading it all
        pass


def run(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    input: bytes | None,
    timeout: float,
    limit: int,
) -> Finished:
    """Run ``argv``; raises OSError (cannot start), TimedOut or TooMuchOutput."""
    stdin = subprocess.PIPE if input is not None else subprocess.DEVNULL
    proc = subprocess.Popen(
        argv, cwd=cwd, env=dict(env), stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout is not None and proc.stderr is not None  # both are pipes
    out, err, over = bytearray(), bytearray(), threading.Event()
    threads = [
        threading.Thread(target=_drain, args=(proc.stdout, out, limit, over), daemon=True),
        threading.Thread(target=_drain, args=(proc.stderr, err, limit, over), daemon=True),
    ]
    if input is not None and proc.stdin is not None:
        threads.append(threading.Thread(target=_feed, args=(proc.stdin, input), daemon=True))
    for thread in threads:
        thread.start()
    try:
        _wait(proc, time.monotonic() + timeout, over, threads[0])
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for thread in threads[:2]:
            thread.join(_DRAIN_SECONDS)
        for stream in (proc.stdout, proc.stderr):
            stream.close()
    if over.is_set():
        raise TooMuchOutput
    return Finished(proc.returncode, bytes(out), bytes(err))


def _wait(
    proc: subprocess.Popen[bytes], deadline: float, over: threading.Event, reader: threading.Thread
) -> None:
    """Until the child exits (and its output is read); TimedOut past the deadline.

    First until its stdout ends (``reader`` done), which a join sees at once:
    ``Popen.wait`` with a timeout polls with sleeps, a few milliseconds lost
    per git call.  Then until the process exits."""
    while reader.is_alive() and proc.poll() is None:
        if over.is_set():
            return
        if time.monotonic() >= deadline:
            raise TimedOut
        reader.join(_POLL_SECONDS)
    while proc.poll() is None:
        if over.is_set():
            return
        if time.monotonic() >= deadline:
            raise TimedOut
        try:
            proc.wait(_POLL_SECONDS)
        except subprocess.TimeoutExpired:
            continue
