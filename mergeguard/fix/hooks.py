"""Running the project's post-write hooks on a written merge file (an edge).

As ``alembic.script.write_hooks`` (Alembic 1.20) runs them: ``console_scripts``
runs ``sys.executable -c "import MOD; MOD.ATTR()"`` for the entry point of
that name, ``exec`` runs the executable, ``module`` runs
``sys.executable -m MODULE``; each with ``options`` split by ``shlex`` and
``REVISION_SCRIPT_FILENAME`` replaced by the file's absolute path (put
first when the options do not name it), in the working directory below.  The entry
points are those of the Python environment mergeguard runs in, as
Alembic's are those of the one it runs in.

What differs, on purpose: a hook runs without a shell, with no standard
input, in its own process group and for a bounded time (killed after
``TIMEOUT_SECONDS``, or ``MERGEGUARD_HOOK_TIMEOUT``); its output is
captured (the last ``OUTPUT_LIMIT`` bytes kept) and shown when it fails;
a hook that exits non-zero stops the hooks after it and fails the fix
(Alembic ignores the exit status).  A hook runs in the directory of the
file that configures it (a relative ``cwd`` is taken from there), where
``alembic`` runs to find that file, whichever directory mergeguard runs in.
"""

from __future__ import annotations

import importlib.util
import os
import shlex
import signal
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import IO

from mergeguard.config.alembic_ini import in_work_tree
from mergeguard.config.write_hooks import WriteHook
from mergeguard.errors import MergeguardError
from mergeguard.git.plumbing import seconds_from
from mergeguard.model import frozen

REVISION_SCRIPT_TOKEN = "REVISION_SCRIPT_FILENAME"
TIMEOUT_SECONDS = 120.0
TIMEOUT_VARIABLE = "MERGEGUARD_HOOK_TIMEOUT"
OUTPUT_LIMIT = 8192  # bytes of a failing hook's output shown


@frozen
class HookCommand:
    """A hook ready to run: the command before the options, the options
    (with the token still in them) and the working directory."""

    hook: WriteHook
    command: tuple[str, ...]
    options: tuple[str, ...]
    cwd: Path

    def argv(self, path: Path) -> list[str]:
        """The whole command line for the file at ``path``."""
        return [*self.command, *(o.replace(REVISION_SCRIPT_TOKEN, str(path)) for o in self.options)]

    @property
    def label(self) -> str:
        return f"post-write hook {self.hook.name!r} ({self.hook.type} {self.hook.target})"


@frozen
class HookRun:
    """What one hook did: ``failure`` is None when it exited 0, else why it
    failed; ``output`` its captured output (the tail)."""

    command: HookCommand
    failure: str | None
    output: str


def prepare(hooks: Sequence[WriteHook], root: Path) -> list[HookCommand]:
    """The commands of ``hooks``, checked before anything is written.

    Raises MergeguardError, naming the hook's file and line, for an entry
    point or module that is not installed and options ``shlex`` cannot split.
    """
    return [_command(hook, root) for hook in hooks]


def _command(hook: WriteHook, root: Path) -> HookCommand:
    real = {key: in_work_tree(value, str(root)) for key, value in hook.options}
    target = in_work_tree(hook.target, str(root))
    if hook.type == "console_scripts":
        command: tuple[str, ...] = (sys.executable, "-c", _entry_point_script(hook, target))
    elif hook.type == "module":
        _require_module(hook, target)
        command = (sys.executable, "-m", target)
    else:
        command = (target,)
    cwd = real.get("cwd")
    home = root / hook.source.parent
    return HookCommand(hook, command, _options(hook, real.get("options", "")), _cwd(cwd, home))


def _entry_point_script(hook: WriteHook, name: str) -> str:
    """``console_scripts``' ``import MOD; MOD.ATTR()`` for the entry point ``name``."""
    for entry in metadata.entry_points(group="console_scripts"):
        if entry.name == name:
            return f"import {entry.module}; {entry.module}.{entry.attr}()"
    raise MergeguardError(
        f"{hook.where}: post-write hook {hook.name!r}: could not find entrypoint "
        f"console_scripts.{name} in the Python environment mergeguard runs in ({sys.prefix})",
        hint=f"install the package that provides {name} beside mergeguard (under pre-commit: "
        f"additional_dependencies: [{name}]), use type = exec with its executable, or pass "
        "--no-hooks",
    )


def _require_module(hook: WriteHook, name: str) -> None:
    """``module``'s check that the module exists: its top-level package only,
    since finding ``a.b`` would import (run) ``a``."""
    top = name.split(".", 1)[0]
    try:
        found = bool(top) and importlib.util.find_spec(top) is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise MergeguardError(
            f"{hook.where}: post-write hook {hook.name!r}: could not find module {name}",
            hint=f"install {top} beside mergeguard (under pre-commit: additional_dependencies), "
            "use type = exec with its executable, or pass --no-hooks",
        )


def hook_timeout(env: Mapping[str, str]) -> float:
    """Seconds one hook may run: ``MERGEGUARD_HOOK_TIMEOUT``, else the default."""
    return seconds_from(env, TIMEOUT_VARIABLE, TIMEOUT_SECONDS)


def _options(hook: WriteHook, text: str) -> tuple[str, ...]:
    """``_parse_cmdline_options``, without the path: the token is put first
    when the options do not name it."""
    if REVISION_SCRIPT_TOKEN not in text:
        text = f"{REVISION_SCRIPT_TOKEN} {text}"
    try:
        return tuple(shlex.split(text, posix=os.name == "posix"))
    except ValueError as error:
        raise MergeguardError(
            f"{hook.where}: post-write hook {hook.name!r}: options cannot be split ({error})",
            hint="close the quotes in the hook's options",
        ) from error


def _cwd(value: str | None, home: Path) -> Path:
    """Where the hook runs: its ``cwd``, a relative one (and none) taken from
    ``home``, the directory of the file that configures it.  ``alembic``
    runs from there (it finds ``alembic.ini`` in its working directory), so
    a hook's relative paths mean what they mean to ``alembic merge`` even
    when mergeguard runs from the repository's top (pre-commit) for an
    environment in a sub-directory."""
    return home / value if value else home


def run(
    commands: Sequence[HookCommand], path: Path, timeout: float = TIMEOUT_SECONDS
) -> list[HookRun]:
    """Run the hooks on ``path`` in order, stopping after the first that fails."""
    runs = []
    for command in commands:
        result = _run_one(command, path, timeout)
        runs.append(result)
        if result.failure is not None:
            break
    return runs


def _run_one(command: HookCommand, path: Path, timeout: float) -> HookRun:
    argv = command.argv(path)
    with tempfile.TemporaryFile() as output:
        try:
            process = subprocess.Popen(  # no shell: the hook's argv as configured
                argv,
                cwd=command.cwd,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stopped whole on timeout
            )
        except OSError as error:
            return HookRun(command, f"cannot be started: {error.strerror or error}", "")
        failure = _wait(process, timeout)
        return HookRun(command, failure, _tail(output))


def _wait(process: subprocess.Popen[bytes], timeout: float) -> str | None:
    """None when the hook exited 0, else why it failed; a hook still running
    after ``timeout`` seconds is killed with its process group."""
    try:
        status = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(process)
        process.wait()
        return f"did not finish within {timeout:g} s and was stopped"
    if status == 0:
        return None
    if status < 0:
        return f"was killed by signal {-status}"
    return f"exited with status {status}"


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError, AttributeError):
        process.kill()  # no process groups (Windows), or the group is already gone


def _tail(output: IO[bytes]) -> str:
    """The last ``OUTPUT_LIMIT`` bytes the hook printed, as text."""
    size = output.seek(0, os.SEEK_END)
    output.seek(max(0, size - OUTPUT_LIMIT))
    data: bytes = output.read()
    return data.decode("utf-8", "replace")
