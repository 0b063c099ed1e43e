"""mergeguard as a bounded subprocess, for the hostile-input tests: a time
limit, an address-space limit (and optionally a file-size limit), and the
checks every hostile case shares: exit 0/1/3, no traceback, no internal error."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

TIME_LIMIT = 20  # seconds; a healthy run of these repositories takes well under one
MEMORY_LIMIT = 2 * 1024**3  # bytes of address space


def bounded_mergeguard(
    root: Path,
    *args: str,
    env: dict[str, str] | None = None,
    timeout: float = TIME_LIMIT,
    memory: int = MEMORY_LIMIT,
    file_size_limit: int = -1,
) -> subprocess.CompletedProcess[str]:
    """``python -m mergeguard ARGS`` in ``root``, bounded; fails the test on a
    hang, a traceback, an internal error or an exit code outside 0/1/3."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        if file_size_limit >= 0:  # Python ignores SIGXFSZ: a write past it is EFBIG
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))

    environment = {**os.environ, **(env or {})}
    try:
        result = subprocess.run(
            [sys.executable, "-m", "mergeguard", *args],
            cwd=root,
            env=environment,
            capture_output=True,
            text=True,
            timeout=timeout,
            preexec_fn=limit,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"mergeguard {' '.join(args)} ran longer than {timeout}s")
    output = result.stdout + result.stderr
    assert result.returncode in (0, 1, 3), output
    assert "Traceback" not in output and "internal error" not in output, output
    return result
