"""What to read: settings and ``--url`` values resolved into targets.

Pure but for the environment variables it is given: ``env:VARIABLE`` is
looked up in ``environ`` (an unset one makes a target that is unreachable,
naming the variable); the version table comes from the setting, else from a
literal keyword of env.py's ``context.configure`` call (read statically,
``parse.env_script``), else Alembic's default.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path, PurePosixPath

from mergeguard.config.settings import ENV_PREFIX
from mergeguard.dburls import mask
from mergeguard.errors import MergeguardError
from mergeguard.model import DatabaseReading, DatabaseSetting, Environment, field, frozen
from mergeguard.parse.env_script import version_table_options

DEFAULT_VERSION_TABLE = "alembic_version"
URL_NAME = "url{}"  # `status --url A --url B`: databases url1, url2

ReadFile = Callable[[PurePosixPath], bytes | None]


@frozen
class Target:
    """One database to read.  ``url`` is the resolved URL and may hold a
    password: it is never printed (``shown`` is the masked form, and the
    dataclass leaves ``url`` out of its repr).  ``problem``: why it cannot
    be read before connecting (an unset variable, an env.py that names its
    version table in code)."""

    name: str
    url: str = field(repr=False)
    shown: str
    environment: str
    version_table: str = DEFAULT_VERSION_TABLE
    version_table_schema: str | None = None
    problem: str | None = None
    base_dir: Path = Path(".")  # relative SQLite paths are relative to it (-C)

    def reading(
        self,
        current: tuple[str, ...] | None = None,
        error: str | None = None,
        note: str | None = None,
    ) -> DatabaseReading:
        """What was read: the version table's rows (None: no table), or the error."""
        return DatabaseReading(
            self.name,
            self.shown,
            self.environment,
            self.version_table,
            self.version_table_schema,
            current=current,
            error=error,
            note=note,
        )


def url_settings(urls: Sequence[str]) -> tuple[DatabaseSetting, ...]:
    """``--url`` values as settings, named ``url1``, ``url2``... in order."""
    return tuple(DatabaseSetting(URL_NAME.format(i), url) for i, url in enumerate(urls, 1))


def resolve_targets(
    settings: Sequence[DatabaseSetting],
    environments: Sequence[Environment],
    read_file: ReadFile,
    *,
    environ: Mapping[str, str] | None = None,
    base_dir: Path = Path("."),
) -> tuple[Target, ...]:
    """One Target per setting, in order.  Raises MergeguardError (exit 3) when
    a setting names no environment of several, or one that does not exist."""
    env = os.environ if environ is None else environ
    by_name = {e.name: e for e in environments}
    tables: dict[str, _EnvTable] = {}
    targets: list[Target] = []
    for setting in settings:
        environment = _environment_of(setting, by_name)
        if environment.name not in tables:
            tables[environment.name] = _env_py_table(environment, read_file)
        url, problem = _resolved_url(setting.url, env)
        found = tables[environment.name]
        given = {
            "version_table": setting.version_table,
            "version_table_schema": setting.version_table_schema,
        }
        unknown = [key for key in found.dynamic if given[key] is None]
        if unknown and problem is None:
            why = found.problem or (
                f"passes {' and '.join(unknown)} to context.configure as an expression"
            )
            problem = (
                f"{found.path}: {why}, and mergeguard does not run it: write "
                f"{' and '.join(unknown)} into [tool.mergeguard.databases] {setting.name}"
            )
        targets.append(
            Target(
                setting.name,
                url,
                mask(url) if url else setting.url,
                environment.name,
                setting.version_table or found.table,
                setting.version_table_schema or found.schema,
                problem,
                base_dir,
            )
        )
    return tuple(targets)


def _environment_of(setting: DatabaseSetting, by_name: Mapping[str, Environment]) -> Environment:
    where = f"database {setting.name!r}"
    if setting.environment is None:
        if len(by_name) == 1:
            return next(iter(by_name.values()))
        names = ", ".join(sorted(by_name))
        raise MergeguardError(
            f"{where}: the repository has several Alembic environments ({names}); "
            "which one does the database follow?",
            hint=f'add environment = "NAME" to [tool.mergeguard.databases] {setting.name} '
            "(or, with --url, choose one with -n SECTION)",
        )
    found = by_name.get(setting.environment)
    if found is None:
        names = ", ".join(sorted(by_name)) or "none"
        raise MergeguardError(
            f"{where}: environment {setting.environment!r} is not an Alembic environment "
            f"of this repository (there are: {names})",
            hint="set environment in [tool.mergeguard.databases] to one of those names "
            "(`mergeguard heads` lists them)",
        )
    return found


def _resolved_url(value: str, environ: Mapping[str, str]) -> tuple[str, str | None]:
    """The URL, and why it is unusable (an unset or empty variable)."""
    if not value.startswith(ENV_PREFIX):
        return value, None
    variable = value[len(ENV_PREFIX) :]
    found = environ.get(variable, "").strip()
    if not found:
        return "", f"environment variable {variable} is not set (the database URL is read from it)"
    return found, None


@frozen
class _EnvTable:
    """The version table env.py names (Alembic's default when it names none)."""

    table: str = DEFAULT_VERSION_TABLE
    schema: str | None = None
    dynamic: tuple[str, ...] = ()  # keywords env.py computes: only a setting can say
    path: PurePosixPath | None = None
    problem: str | None = None  # why env.py could not be read at all


def _env_py_table(environment: Environment, read_file: ReadFile) -> _EnvTable:
    if environment.script_location is None:
        return _EnvTable()
    path = environment.script_location / "env.py"
    data = read_file(path)
    if data is None:
        return _EnvTable()
    options = version_table_options(data)
    return _EnvTable(
        options.value("version_table") or DEFAULT_VERSION_TABLE,
        options.value("version_table_schema"),
        options.dynamic,
        path,
        options.problem,
    )
