"""One Alembic environment from one configuration file or one section of it.

An ``alembic.ini`` section (with the ``[tool.alembic]`` table of the ini's
directory as its fallback, as Alembic >= 1.16 reads it), a ``[tool.alembic]``
table alone, or a Flask-Migrate ini (no ``script_location``, ``env.py``
beside it) becomes an ``Environment`` with repository-relative version
directories in Alembic's load order.  ``mergeguard.config.discovery`` decides
which files and sections to read; the errors for a file or section the user
named but that is not there are made here, naming the snapshot.
"""

from __future__ import annotations

import configparser
from collections.abc import Sequence
from pathlib import PurePosixPath

from mergeguard.config.alembic_ini import (
    DEFAULT_SECTION,
    INI_NAME,
    LEGACY_VERSIONS_SPLIT,
    PYPROJECT_NAME,
    AlembicOptions,
    DiscoveryContext,
    locate,
    split_option,
    unique_paths,
)
from mergeguard.errors import MergeguardError
from mergeguard.model import Environment


def _script_location(options: AlembicOptions, context: DiscoveryContext) -> PurePosixPath | None:
    """Where env.py lives: ``script_location``; for a Flask-Migrate ini (none
    set, env.py or versions/ beside it) the ini's directory; else None."""
    value = options.text("script_location")
    if value is not None:
        return locate(value, "script_location", options, context)
    if options.ini is None or options.section != DEFAULT_SECTION:
        return None
    directory = options.path.parent
    snapshot = context.snapshot
    if snapshot.read(directory / "env.py") is not None or snapshot.is_dir(directory / "versions"):
        return directory
    return None


def _version_locations(
    options: AlembicOptions, context: DiscoveryContext, script: PurePosixPath
) -> tuple[PurePosixPath, ...]:
    """``get_version_locations_list`` as repository directories in load order;
    ``<script_location>/versions`` when unset."""
    keys = ("path_separator", "version_path_separator")
    values = split_option(options, "version_locations", LEGACY_VERSIONS_SPLIT, keys)
    if not values:
        return (script / "versions",)
    return unique_paths(locate(value, "version_locations", options, context) for value in values)


def _environment(options: AlembicOptions, context: DiscoveryContext) -> Environment | None:
    """The environment ``options`` describe, None when there is no script location."""
    script = _script_location(options, context)
    if script is None:
        return None
    return Environment(
        name=options.section,
        version_locations=_version_locations(options, context, script),
        script_location=script,
        config_path=options.path,
        section=options.section,
        recursive=options.flag("recursive_version_locations"),
        file_template=options.text("file_template"),
        truncate_slug_length=options.integer("truncate_slug_length"),
        timezone=options.text("timezone"),
        output_encoding=options.text("output_encoding") or "utf-8",
    )


def _ini_options(context: DiscoveryContext, path: PurePosixPath, section: str) -> AlembicOptions:
    """One ini section paired with the ``[tool.alembic]`` of the ini's directory."""
    directory = path.parent
    return AlembicOptions(
        path, section, context.ini(path), context.alembic_table(directory), directory
    )


def _declares(parser: configparser.ConfigParser, section: str) -> bool:
    """True when ``section`` may be an environment: the main section, or one
    that sets script_location itself (not through [DEFAULT])."""
    if section == DEFAULT_SECTION:
        return True
    if not parser.has_option(section, "script_location"):
        return False
    inherited = parser.defaults().get("script_location")
    return inherited is None or parser.get(section, "script_location", raw=True) != inherited


def _ini_environments(context: DiscoveryContext, path: PurePosixPath) -> list[Environment]:
    """The environments of one ini, in section order; empty when it has none."""
    parser = context.ini(path)
    if parser is None:
        return []
    found = (
        _environment(_ini_options(context, path, section), context)
        for section in parser.sections()
        if _declares(parser, section)
    )
    return [env for env in found if env is not None]


def _toml_only(context: DiscoveryContext, path: PurePosixPath) -> Environment | None:
    """The environment of a ``[tool.alembic]`` table read without an ini."""
    options = AlembicOptions(
        path, DEFAULT_SECTION, None, context.alembic_table(path.parent), path.parent
    )
    return _environment(options, context) if "script_location" in options.toml else None


def _toml_environment(context: DiscoveryContext, path: PurePosixPath) -> Environment | None:
    """``[tool.alembic]`` on its own, unless an alembic.ini beside it has an
    [alembic] section (which then reads the table as its fallback)."""
    ini = context.ini(path.parent / INI_NAME)
    if ini is not None and ini.has_section(DEFAULT_SECTION):
        return None
    return _toml_only(context, path)


def file_environments(context: DiscoveryContext, path: PurePosixPath) -> list[Environment]:
    """Every environment one configuration file defines."""
    if path.name == PYPROJECT_NAME:
        env = _toml_environment(context, path)
        return [] if env is None else [env]
    return _ini_environments(context, path)


def missing_file(context: DiscoveryContext, path: PurePosixPath, source: str) -> MergeguardError:
    """The error for a configuration file named by the user but absent."""
    return MergeguardError(
        f"{path} does not exist in {context.snapshot.origin}",
        hint=f"{source} takes a path relative to the repository root; check that the file "
        "exists at this ref (git ls-tree -r --name-only REF)",
    )


def missing_section(
    context: DiscoveryContext, where: object, section: str, existing: Sequence[str]
) -> MergeguardError:
    """The error for an ini section named by the user but absent from ``where``."""
    return MergeguardError(
        f"{where} in {context.snapshot.origin} has no [{section}] section "
        f"(sections: {', '.join(existing) or 'none'})",
        hint="choose the section with -n/--name, or write path:section in "
        "[tool.mergeguard] environments",
    )


def no_script_location(
    context: DiscoveryContext, path: PurePosixPath, section: str | None
) -> MergeguardError:
    """The error for a named section (None: a whole file) without a script location."""
    what = f"[{section}] of {path} sets no" if section else f"no section of {path} sets"
    return MergeguardError(
        f"{what} script_location in {context.snapshot.origin}",
        hint="set script_location there, or give the version directories with --versions DIR",
    )


def _pyproject_environment(
    context: DiscoveryContext, path: PurePosixPath, section: str, source: str
) -> Environment:
    """``-c pyproject.toml`` as Alembic reads it: the alembic.ini beside it,
    with the table as its fallback, or the table alone."""
    if context.toml(path) is None:
        raise missing_file(context, path, source)
    if context.ini(path.parent / INI_NAME) is not None:
        return section_environment(context, path.parent / INI_NAME, section, source)
    env = _toml_only(context, path)
    if env is None:
        raise no_script_location(context, path, "tool.alembic")
    return env


def section_environment(
    context: DiscoveryContext, path: PurePosixPath, section: str, source: str
) -> Environment:
    """The environment of one named section (``-c``/``-n``, or ``path:section``)."""
    if path.name == PYPROJECT_NAME:
        return _pyproject_environment(context, path, section, source)
    parser = context.ini(path)
    if parser is None:
        raise missing_file(context, path, source)
    if not parser.has_section(section):
        fallback = _toml_only(context, path.parent / PYPROJECT_NAME)
        if section == DEFAULT_SECTION and fallback is not None:
            return fallback
        raise missing_section(context, path, section, parser.sections())
    env = _environment(_ini_options(context, path, section), context)
    if env is None:
        raise no_script_location(context, path, section)
    return env
