"""Time limits of the worker's steps: StepTimeout, raised in the main thread.

A step may block in a statement, a sleep or C code; the watchdog thread
cancels the running statement and signals the main thread until it is back.
"""

from __future__ import annotations

import _thread
import contextlib
import signal
import threading
import time
from collections.abc import Callable, Iterator
from types import FrameType

SIGNAL: signal.Signals = getattr(signal, "SIGALRM", signal.SIGINT)


class StepTimeout(BaseException):
    """A step outlived its limit (not an Exception: ``except Exception`` cannot swallow it)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"timed out after {seconds:g} s")
        self.seconds = seconds


def interrupt_main(ident: int) -> None:
    if hasattr(signal, "pthread_kill"):
        signal.pthread_kill(ident, SIGNAL)  # wakes a blocking sleep or socket read
    else:  # pragma: no cover - Windows
        _thread.interrupt_main(SIGNAL)


class Watchdog:
    """Interrupts the main thread when a step outlives its limit.

    A daemon thread waits for the deadline, then cancels the running statement
    (``Connections.cancel``) and signals the main thread every ``NUDGE``
    seconds; the handler raises StepTimeout there. When the main thread is
    still not back ``grace`` seconds later (stuck in C code), ``on_stuck`` runs
    in the thread (it ends the process) and the main thread is parked for good.
    """

    NUDGE = 0.25

    def __init__(self, cancel: Callable[[], None], on_stuck: Callable[[float], None]) -> None:
        self._cancel = cancel
        self._on_stuck = on_stuck
        self._cond = threading.Condition()
        self._deadline: float | None = None
        self._stuck_at = 0.0
        self._seconds = 0.0
        self._expired = False
        self._abandoned = False
        self._main = threading.main_thread().ident or 0
        signal.signal(SIGNAL, self._on_signal)
        threading.Thread(target=self._watch, name="mergeguard-watchdog", daemon=True).start()

    @contextlib.contextmanager
    def limit(self, seconds: float) -> Iterator[None]:
        """Run the body under a time limit; StepTimeout when it is exceeded."""
        with self._cond:
            self._seconds = seconds
            self._deadline = time.monotonic() + seconds
            self._stuck_at = self._deadline + min(5.0, max(1.0, seconds))
            self._expired = False
            self._cond.notify()
        try:
            yield
        except BaseException as exc:
            if self._disarm() and not isinstance(exc, StepTimeout):
                raise StepTimeout(seconds) from exc
            raise
        if self._disarm():
            raise StepTimeout(seconds)

    def _disarm(self) -> bool:
        """Stop watching; True when the deadline passed (safe against a late signal)."""
        fired = False
        while True:
            try:
                with self._cond:
                    fired = fired or self._expired
                    self._expired = False
                    self._deadline = None
                    abandoned = self._abandoned
                break
            except StepTimeout:
                fired = True
        while abandoned:  # on_stuck owns the process now: never touch the database again
            with contextlib.suppress(StepTimeout):
                threading.Event().wait()
        return fired

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self._expired:
            raise StepTimeout(self._seconds)
        if signum == signal.SIGINT:
            signal.default_int_handler(signum, frame)

    def _watch(self) -> None:
        while True:
            with self._cond:
                now = time.monotonic()
                if self._deadline is None or now < self._deadline:
                    self._cond.wait(None if self._deadline is None else self._deadline - now)
                    continue
                self._expired = True
                self._deadline = now + self.NUDGE
                self._abandoned = now >= self._stuck_at
                seconds = self._seconds
            self._cancel()
            if self._abandoned:
                self._on_stuck(seconds)
                return
            interrupt_main(self._main)
