"""The environment the migrations run in: the project's env.py or the built-in one.

``Environments`` builds (once each) the Alembic Config of either, and
``capture_progress`` swaps Alembic's migration logger so that the worker sees
which revisions ran whatever logging configuration env.py installs.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import alembic.runtime.migration as migration
from alembic.config import Config

from mergeguard.scratchdb.protocol import Plan
from mergeguard.scratchdb.worker.builtin_env import ENV_PY, VERSION_TABLE_ATTRIBUTE

_RUNNING = re.compile(r"Running (upgrade|downgrade) (.*?) -> (.*?)(?:, .*)?$", re.DOTALL)


class NothingRan(RuntimeError):
    """env.py returned without configuring Alembic: no migration can have run."""


class Progress(logging.Handler):
    """Alembic's "Running upgrade a1 -> b2" records, as the revisions of one step."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.on_running: Callable[[str], None] | None = None  # told of each revision it starts
        self.begin()

    def begin(self) -> None:
        self.configured = False  # a MigrationContext was made: env.py got to configure()
        self.completed: list[str] = []
        self.running: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if record.msg == "Running %s":
            if self.running is not None:
                self.completed.append(self.running)
            self.running = revision_of(record)
            if self.on_running is not None:
                self.on_running(self.running)
        elif str(record.msg).startswith("Context impl"):
            self.configured = True

    def finish(self) -> list[str]:
        """The revisions of a step that succeeded (the last one running has finished)."""
        if self.running is not None:
            self.completed.append(self.running)
            self.running = None
        return list(self.completed)


def revision_of(record: logging.LogRecord) -> str:
    """The revision a "Running ..." record starts (the one downgraded, for a downgrade)."""
    step = record.args[0] if isinstance(record.args, tuple) and record.args else None
    revision = getattr(getattr(step, "revision", None), "revision", None)
    if isinstance(revision, str):
        return revision
    match = _RUNNING.match(record.getMessage())
    if match is None:
        return record.getMessage()
    return match.group(3 if match.group(1) == "upgrade" else 2).strip()


class _Forward(logging.Handler):
    def __init__(self, target: logging.Logger) -> None:
        super().__init__(logging.DEBUG)
        self.target = target

    def emit(self, record: logging.LogRecord) -> None:
        if self.target.isEnabledFor(record.levelno):
            self.target.handle(record)


def capture_progress(progress: Progress) -> None:
    """Send ``alembic.runtime.migration``'s records to ``progress``, whatever env.py does.

    A project's env.py usually calls ``logging.config.fileConfig()``, which
    clears the handlers of existing loggers (or disables them). So the module's
    logger is swapped for a private one that no logging configuration reaches;
    it forwards every record to the real logger, whose configuration decides
    what is shown (on stderr).
    """
    private = logging.Logger(migration.__name__, logging.DEBUG)
    private.propagate = False
    private.addHandler(progress)
    private.addHandler(_Forward(logging.getLogger(migration.__name__)))
    migration.log = private


class Environments:
    """The Alembic Config of each environment ("project" or "builtin"), made once."""

    def __init__(self, plan: Plan, roots: Sequence[str]) -> None:
        self.plan = plan
        self.roots = list(roots)
        self._configs: dict[str, Config] = {}
        self._builtin_dir: str | None = None

    def config(self, env: str) -> Config:
        if env not in self._configs:
            builtin = env == "builtin"
            directory = self._builtin_directory() if builtin else self.plan.script_location
            self._configs[env] = self._make_config(directory, builtin)
        return self._configs[env]

    def _make_config(self, script_location: str, builtin: bool) -> Config:
        plan = self.plan
        config = Config(
            file_=plan.config_file,
            toml_file=plan.toml_file,
            ini_section=plan.section,
            stdout=sys.stderr,
        )
        sys_paths = config.get_prepend_sys_paths_list()  # split by the project's own separator
        versions = list(plan.version_locations) or (self.roots if builtin else [])

        def set_option(name: str, value: str) -> None:
            config.set_main_option(name, value.replace("%", "%%"))

        set_option("script_location", script_location)
        set_option("path_separator", "os")
        set_option("sqlalchemy.url", plan.url)
        if versions:
            set_option("version_locations", os.pathsep.join(versions))
        else:
            config.file_config.remove_option(plan.section, "version_locations")
        if plan.recursive:
            set_option("recursive_version_locations", "true")
        if sys_paths:
            set_option("prepend_sys_path", os.pathsep.join(sys_paths))
        config.attributes[VERSION_TABLE_ATTRIBUTE] = plan.version_table
        return config

    def _builtin_directory(self) -> str:
        """A temporary script directory whose env.py is the built-in one."""
        if self._builtin_dir is None:
            self._builtin_dir = tempfile.mkdtemp(prefix="mergeguard-env-")
            Path(self._builtin_dir, "env.py").write_text(ENV_PY, encoding="utf-8")
        return self._builtin_dir

    def cleanup(self) -> None:
        """Remove the built-in environment's temporary directory, if one was made."""
        if self._builtin_dir is not None:
            shutil.rmtree(self._builtin_dir, ignore_errors=True)
