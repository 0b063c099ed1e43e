"""mergeguard's own settings: the ``[tool.mergeguard]`` table of the root
pyproject.toml at one snapshot."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import PurePosixPath

from mergeguard.config.alembic_ini import PYPROJECT, DiscoveryContext, normalised, toml_table
from mergeguard.errors import MergeguardError
from mergeguard.git.snapshot import Snapshot
from mergeguard.model import DatabaseSetting, ToolSettings

# ---------------------------------------------------------------- [tool.mergeguard]


def _setting_error(origin: str, key: str, expected: str, example: str) -> MergeguardError:
    """The error for a ``[tool.mergeguard]`` value of the wrong type."""
    return MergeguardError(
        f"pyproject.toml in {origin}: [tool.mergeguard] {key} must be {expected}",
        hint=f"write {key} = {example}",
    )


def _setting_text(table: Mapping[str, object], key: str, origin: str) -> str | None:
    """A string setting, None when unset."""
    value = table.get(key)
    if value is None or isinstance(value, str):
        return value
    raise _setting_error(origin, key, "a string", '"origin/main"')


def _setting_list(table: Mapping[str, object], key: str, origin: str) -> tuple[str, ...]:
    """A list-of-strings setting, empty when unset."""
    value = table.get(key, [])
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(str(item) for item in value)
    raise _setting_error(origin, key, "a list of strings", '["..."]')


def _setting_flag(table: Mapping[str, object], key: str, origin: str) -> bool:
    """A boolean setting, False when unset."""
    value = table.get(key, False)
    if isinstance(value, bool):
        return value
    raise _setting_error(origin, key, "true or false", "true")


def _setting_directories(table: Mapping[str, object], origin: str) -> tuple[PurePosixPath, ...]:
    """``versions``: directories relative to the repository root, none outside it."""
    found: list[PurePosixPath] = []
    where = f"pyproject.toml in {origin}: [tool.mergeguard] versions"
    hint = (
        "paths in [tool.mergeguard] versions are relative to the repository root and stay "
        'inside it, e.g. versions = ["app/db/migrations/versions"]'
    )
    for entry in _setting_list(table, "versions", origin):
        path = PurePosixPath(entry)
        if path.is_absolute():
            raise MergeguardError(f"{where}: {entry!r} is an absolute path", hint=hint)
        try:
            found.append(normalised(path, where))
        except MergeguardError as error:  # ../ out of the repository
            raise MergeguardError(error.message, hint=hint) from error
    return tuple(dict.fromkeys(found))


def _setting_constants(
    table: Mapping[str, object], origin: str
) -> tuple[tuple[str, str | None], ...]:
    """``constants``: name -> revision id, ``false`` standing for None; sorted by name."""
    value = table.get("constants", {})
    if not isinstance(value, dict):
        raise _setting_error(origin, "constants", "a table", '{ "cli.EXPAND" = "abc123" }')
    pairs: list[tuple[str, str | None]] = []
    for name, item in value.items():
        if isinstance(item, str):
            pairs.append((name, item))
        elif item is False:
            pairs.append((name, None))
        else:
            key = f"constants.{name}"
            raise _setting_error(origin, key, "a revision id or false (None)", '"abc123"')
    return tuple(sorted(pairs))


# ---------------------------------------------------------------- [tool.mergeguard.databases]

MAX_DATABASES = 64  # a hostile pyproject must not make a run connect to thousands
ENV_PREFIX = "env:"
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DATABASE_KEYS = ("url", "environment", "version_table", "version_table_schema")
_DATABASE_EXAMPLE = (
    'staging = "env:STAGING_DATABASE_URL" (or a table: staging = { url = '
    '"env:STAGING_DATABASE_URL", environment = "alembic", version_table = "alembic_version" })'
)


def _database_error(origin: str, key: str, problem: str) -> MergeguardError:
    """The error for one malformed ``[tool.mergeguard.databases]`` entry."""
    where = f"[tool.mergeguard.databases] {key}".rstrip()
    return MergeguardError(
        f"pyproject.toml in {origin}: {where} {problem}",
        hint=f"write [tool.mergeguard.databases] {_DATABASE_EXAMPLE}",
    )


def _database_url(value: object, origin: str, key: str) -> str:
    """A URL or ``env:VARIABLE``; never echoed back (it may hold a password)."""
    if not isinstance(value, str) or not value.strip():
        raise _database_error(origin, key, 'must be a database URL or "env:VARIABLE"')
    if value.startswith(ENV_PREFIX) and not _ENV_NAME.fullmatch(value[len(ENV_PREFIX) :]):
        raise _database_error(
            origin, key, "must name an environment variable after env: (letters, digits, _)"
        )
    return value


def _database_option(entry: Mapping[str, object], option: str, origin: str, key: str) -> str | None:
    value = entry.get(option)
    if value is None or (isinstance(value, str) and value.strip()):
        return value
    raise _database_error(origin, f"{key}.{option}", "must be a non-empty string")


def _database_setting(name: str, value: object, origin: str) -> DatabaseSetting:
    """One entry: ``name = "URL"`` / ``"env:VAR"``, or a table with ``url``."""
    if not name.strip():
        raise _database_error(origin, repr(name), "is not a usable name")
    if not isinstance(value, dict):
        return DatabaseSetting(name, _database_url(value, origin, name))
    unknown = sorted(set(value) - set(_DATABASE_KEYS))
    if unknown:  # a typo (versions_table) must not silently read the default table
        raise _database_error(
            origin,
            name,
            f"has unknown key(s) {', '.join(unknown)} (known: {', '.join(_DATABASE_KEYS)})",
        )
    if "url" not in value:
        raise _database_error(origin, name, "has no url")
    return DatabaseSetting(
        name,
        _database_url(value["url"], origin, f"{name}.url"),
        environment=_database_option(value, "environment", origin, name),
        version_table=_database_option(value, "version_table", origin, name),
        version_table_schema=_database_option(value, "version_table_schema", origin, name),
    )


def _setting_databases(table: Mapping[str, object], origin: str) -> tuple[DatabaseSetting, ...]:
    """``[tool.mergeguard.databases]``: name -> URL / ``env:VAR`` / table, in file order."""
    value = table.get("databases", {})
    if not isinstance(value, dict):
        raise _database_error(origin, "", "must be a table of name = URL entries")
    if len(value) > MAX_DATABASES:
        raise _database_error(
            origin, "", f"has {len(value):,} entries; at most {MAX_DATABASES} are read"
        )
    return tuple(_database_setting(str(name), item, origin) for name, item in value.items())


def parse_settings(document: Mapping[str, object] | None, origin: str) -> ToolSettings:
    """``[tool.mergeguard]`` of a parsed pyproject.toml (defaults when absent)."""
    if document is None:
        return ToolSettings()
    table = toml_table(document, ("tool", "mergeguard"), PYPROJECT)
    return ToolSettings(
        base=_setting_text(table, "base", origin),
        environments=_setting_list(table, "environments", origin),
        select=_setting_list(table, "select", origin),
        ignore=_setting_list(table, "ignore", origin),
        constants=_setting_constants(table, origin),
        published=_setting_list(table, "published", origin),
        versions=_setting_directories(table, origin),
        recursive_versions=_setting_flag(table, "recursive_versions", origin),
        databases=_setting_databases(table, origin),
    )


# ---------------------------------------------------------------- API


def load_settings(snapshot: Snapshot) -> ToolSettings:
    """Returns ``[tool.mergeguard]`` of the root pyproject.toml of ``snapshot``
    (defaults when there is none); raises ``MergeguardError`` naming the file
    or the key when it is malformed."""
    return parse_settings(DiscoveryContext(snapshot).toml(PYPROJECT), snapshot.origin)
