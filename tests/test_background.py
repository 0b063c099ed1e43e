"""Work in the background (git/background.py): its result, its error, and
no fork while it runs."""

from __future__ import annotations

import os
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
    """A child is never made while a background thread runs: the fork waits
    for it (without the hook, the work would still be asleep here)."""
    done: list[bool] = []

    def slow() -> None:
        time.sleep(0.3)
        done.append(True)

    Background(slow)
    pid = os.fork()
    if pid == 0:  # the child leaves at once
        os._exit(0)
    finished = list(done)
    os.waitpid(pid, 0)
    assert finished == [True]
