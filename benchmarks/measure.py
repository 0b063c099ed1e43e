"""Timing and peak-memory measurement of one command, as a fresh subprocess.

Used by ``run.py``.  Wall clock is ``time.perf_counter`` around
``subprocess.run`` of the bare command (no wrapper in the timed runs).  Peak
memory comes from one extra probe run under GNU ``/usr/bin/time -f %M`` or,
where that is missing, under a small Python wrapper that runs the command as
its only child and reads ``ru_maxrss`` of ``RUSAGE_CHILDREN``.  Either way the
figure is the largest resident set of any one process in the tree (the
command, or a child it waited for), not a sum over processes running at once.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

GNU_TIME = "/usr/bin/time"
WRAPPER = (
    "import resource, subprocess, sys\n"
    "code = subprocess.run(sys.argv[2:]).returncode\n"
    "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "open(sys.argv[1], 'w').write(f'{peak}\\n')\n"
    "sys.exit(code)\n"
)
TRACEBACK = "Traceback (most recent call last)"


@dataclass(frozen=True)
class Outcome:
    """One run: wall seconds, exit code, the head of stdout and the tail of stderr."""

    seconds: float
    code: int
    stderr: str
    stdout: str = ""

    def failed(self, ok_codes: Sequence[int]) -> bool:
        """True when the command could not do its job (crash, usage error, missing)."""
        return self.code not in ok_codes or TRACEBACK in self.stderr

    def reason(self) -> str:
        lines = [line for line in self.stderr.strip().splitlines() if line.strip()]
        last = lines[-1].strip() if lines else "no stderr"
        return f"exit {self.code}: {last[:120]}"


@dataclass
class Series:
    """Repeated runs of one command; ``error`` is set when it is not available."""

    times: list[float] = field(default_factory=list)
    code: int | None = None
    peak_kib: int | None = None
    error: str | None = None
    stdout: str = ""


def run_once(cmd: Sequence[str], cwd: Path, env: dict[str, str], timeout: float) -> Outcome:
    """Run ``cmd`` once, timed; a timeout or a missing executable is an exit code too."""
    started = time.perf_counter()
    try:
        done = subprocess.run(
            list(cmd), cwd=cwd, env=env, capture_output=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return Outcome(time.perf_counter() - started, -1, f"timed out after {timeout:.0f} s")
    except OSError as error:
        return Outcome(0.0, 127, f"cannot start: {error}")
    seconds = time.perf_counter() - started
    return Outcome(
        seconds,
        done.returncode,
        done.stderr.decode(errors="replace")[-4000:],
        done.stdout.decode(errors="replace")[:65536],
    )


class MemoryProbe:
    """Measures the peak RSS of one run, with GNU time or the Python wrapper."""

    def __init__(self) -> None:
        self.gnu = self._gnu_time_works()
        self.method = (
            "GNU /usr/bin/time -f %M (max RSS of the process tree's largest process)"
            if self.gnu
            else "python wrapper: ru_maxrss of RUSAGE_CHILDREN after one child run"
        )

    @staticmethod
    def _gnu_time_works() -> bool:
        if not os.access(GNU_TIME, os.X_OK):
            return False
        done = subprocess.run(
            [GNU_TIME, "-f", "%M", "true"], capture_output=True, text=True, check=False
        )
        words = done.stderr.split()
        return done.returncode == 0 and bool(words) and words[-1].isdigit()

    def peak_kib(
        self, cmd: Sequence[str], cwd: Path, env: dict[str, str], timeout: float
    ) -> int | None:
        """Peak resident set in KiB of one run of ``cmd``, or None when unreadable."""
        with tempfile.TemporaryDirectory() as scratch:
            out = Path(scratch) / "peak"
            if self.gnu:
                wrapped = [GNU_TIME, "-f", "%M", "-o", str(out), *cmd]
            else:
                wrapped = [sys.executable, "-c", WRAPPER, str(out), *cmd]
            run_once(wrapped, cwd, env, timeout)
            lines = out.read_text().split() if out.exists() else []
        return int(lines[-1]) if lines and lines[-1].isdigit() else None


def measure(
    cmd: Sequence[str],
    cwd: Path,
    env: dict[str, str],
    *,
    repeat: int,
    prepare: Callable[[], None],
    ok_codes: Sequence[int],
    probe: MemoryProbe,
    timeout: float,
) -> Series:
    """One untimed warm-up, ``repeat`` timed runs, one memory probe; each after ``prepare``.

    The warm-up fills the interpreter's bytecode caches and, for warm
    scenarios, mergeguard's parse cache.  The first failing run ends the
    series with ``error`` set, so a missing command costs one run, not many.
    """
    series = Series()
    for index in range(repeat + 1):
        prepare()
        outcome = run_once(cmd, cwd, env, timeout)
        series.code, series.stdout = outcome.code, outcome.stdout
        if outcome.failed(ok_codes):
            series.error = outcome.reason()
            return series
        if index:
            series.times.append(outcome.seconds)
    prepare()
    series.peak_kib = probe.peak_kib(cmd, cwd, env, timeout)
    return series
