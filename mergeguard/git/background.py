"""Work started early, in a thread, and waited for where its result is needed.

A check lists up to three commits' trees, each with its own git process:
started together, git lists them side by side while mergeguard reads what
it already has, instead of one after another (a pre-commit run pays for every
git process it waits on).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar, cast

_T = TypeVar("_T")

# the work not yet waited for: a fork waits for it first (see _finish_running)
_running: set[Background[Any]] = set()


class Background(Generic[_T]):
    """``work()`` running in a daemon thread (the process may end without it)."""

    def __init__(self, work: Callable[[], _T]) -> None:
        self._result: _T | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(work,), daemon=True)
        _running.add(self)
        self._thread.start()

    def _run(self, work: Callable[[], _T]) -> None:
        try:
            self._result = work()
        except BaseException as error:  # noqa: BLE001 - not swallowed: raised in the waiting thread
            self._error = error

    def result(self) -> _T:
        """What ``work()`` returned, once it has; what it raised is raised here."""
        self._join()
        if self._error is not None:
            raise self._error
        return cast(_T, self._result)

    def _join(self) -> None:
        """Until the thread has ended; only then is the work no longer running
        (a thread that has set its result may still be alive)."""
        self._thread.join()
        _running.discard(self)


def _finish_running() -> None:
    """Before a fork (the cold read's children, parse/parallel.py): the work
    started here ends first, so no child is made while one of its threads
    runs (a child would inherit any lock it held; Python 3.12 warns of it)."""
    for work in list(_running):
        work._join()


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(before=_finish_running)
