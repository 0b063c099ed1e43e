"""Work in the background (git/background.py): its result, its error, and
no fork while it runs."""

from __future__ import annotations

import os
import sys
import threading
import time

import pytest

from mergeguard.git.background import Background


def test_the_result_and_the_error_come_to_the_thread_that_waits() -> None:
    assert Background(lambda: 41 + 1).result() == 42

    def fails() -> int:
        raise LookupError("from the thread")

    with pytest.raises(LookupError, match="from the thread"):
        Background(fails).result()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_a_fork_waits_for_the_work_still_running() -> None:
    """A child is never made while a background thread runs: it ends first."""
    done: list[bool] = []

    def slow() -> None:
        time.sleep(0.3)
        done.append(True)

    Background(slow)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report how many threads it sees, and leave
        os.write(write, str(threading.active_count()).encode())
        os._exit(0)
    os.close(write)
    seen = os.read(read, 16)
    os.waitpid(pid, 0)
    os.close(read)
    assert done == [True]  # the parent's work ended before the fork
    assert seen == b"1", sys.platform
