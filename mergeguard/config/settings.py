"""mergeguard's own settings: the ``[tool.mergeguard]`` table of the root
pyproject.toml at one snapshot."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import PurePosixPath

from mergeguard.config.alembic_ini import PYPROJECT, DiscoveryContext, normalised, toml_table
from mergeguard.errors import MergeguardError
from mergeguard.git.snapshot import Snapshot
from mergeguard.model import ToolSettings

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
    )


# ---------------------------------------------------------------- API


def load_settings(snapshot: Snapshot) -> ToolSettings:
    """Returns ``[tool.mergeguard]`` of the root pyproject.toml of ``snapshot``
    (defaults when there is none); raises ``MergeguardError`` naming the file
    or the key when it is malformed."""
    return parse_settings(DiscoveryContext(snapshot).toml(PYPROJECT), snapshot.origin)
