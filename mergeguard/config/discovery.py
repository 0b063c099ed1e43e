"""Alembic's configuration at one snapshot, read the way Alembic reads it.

``discover`` turns the ``alembic.ini`` files, the ``[tool.alembic]`` table of
``pyproject.toml`` (Alembic >= 1.16) and mergeguard's own
``[tool.mergeguard]`` table of one ``Snapshot`` into a ``Config``: one
``Environment`` per Alembic environment, with repository-relative version
directories in Alembic's load order.  It is pure: files are read only through
the snapshot, because the configuration is read again at every git ref.

Alembic resolves relative paths against the working directory; mergeguard
assumes users run ``alembic`` next to the ini (then ``-C DIR``, then the
repository root, when that directory does not exist at the snapshot), and
pairs an ini with the ``pyproject.toml`` of the same directory.
``%(here)s`` expands to an absolute stand-in for the ini's directory so that
the result can be mapped back to a repository-relative path.
"""

from __future__ import annotations

import configparser
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import PurePosixPath

from mergeguard.config.alembic_ini import (
    DEFAULT_SECTION,
    INI_NAME,
    LEGACY_VERSIONS_SPLIT,
    PYPROJECT,
    PYPROJECT_NAME,
    ROOT,
    AlembicOptions,
    DiscoveryContext,
    locate,
    normalised,
    split_option,
    unique_paths,
)
from mergeguard.config.settings import load_settings as load_settings
from mergeguard.config.settings import parse_settings
from mergeguard.errors import MergeguardError
from mergeguard.git.snapshot import Snapshot, is_under
from mergeguard.model import Config, Environment, ToolSettings

_NOT_FOUND_HINT = (
    "mergeguard looks for alembic.ini files (each section with script_location is an "
    "environment), [tool.alembic] in the root pyproject.toml, and migrations/alembic.ini "
    "beside an env.py (Flask-Migrate); name the file with -c/--config (and the section "
    "with -n/--name), or the version directories with --versions DIR"
)


# ---------------------------------------------------------------- environments


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


def require_script_locations(config: Config, snapshot: Snapshot) -> None:
    """Raise when an environment's ``script_location`` names nothing at
    ``snapshot``: Alembic would stop ("Path doesn't exist"), so mergeguard
    must not report "no problems found" on an empty graph."""
    for environment in config.environments:
        found = environment.script_location
        if found is None or snapshot.is_dir(found):
            continue
        where = f"{environment.config_path} [{environment.section}]"
        module = _submodule_holding(found, snapshot)
        if module is not None:
            raise MergeguardError(
                f"script_location {found} ({where}) lies in the git submodule {module}, "
                f"whose history mergeguard does not read from {snapshot.origin}",
                hint=f"run mergeguard in the submodule: `mergeguard -C {module} check`",
            )
        raise MergeguardError(
            f"script_location {found} ({where}) names a directory that does not exist in "
            f"{snapshot.origin}",
            hint="point script_location at the directory holding env.py (`alembic init` "
            "makes one), or give the version directories with --versions DIR",
        )


def _submodule_holding(path: PurePosixPath, snapshot: Snapshot) -> str | None:
    """The ``path = ...`` of the .gitmodules entry that ``path`` lies in, if any."""
    data = snapshot.read(PurePosixPath(".gitmodules"))
    if not data or len(data) > 1_000_000:
        return None
    for line in data.decode("utf-8", errors="replace").splitlines():
        key, _, value = line.partition("=")
        module = value.strip().strip("/")
        inside = path == PurePosixPath(module) or is_under(path, PurePosixPath(module))
        if key.strip() == "path" and module and inside:
            return module
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


def _file_environments(context: DiscoveryContext, path: PurePosixPath) -> list[Environment]:
    """Every environment one configuration file defines."""
    if path.name == PYPROJECT_NAME:
        env = _toml_environment(context, path)
        return [] if env is None else [env]
    return _ini_environments(context, path)


def _missing_file(context: DiscoveryContext, path: PurePosixPath, source: str) -> MergeguardError:
    """The error for a configuration file named by the user but absent."""
    return MergeguardError(
        f"{path} does not exist in {context.snapshot.origin}",
        hint=f"{source} takes a path relative to the repository root; check that the file "
        "exists at this ref (git ls-tree -r --name-only REF)",
    )


def _missing_section(
    context: DiscoveryContext, where: object, section: str, existing: Sequence[str]
) -> MergeguardError:
    """The error for an ini section named by the user but absent from ``where``."""
    return MergeguardError(
        f"{where} in {context.snapshot.origin} has no [{section}] section "
        f"(sections: {', '.join(existing) or 'none'})",
        hint="choose the section with -n/--name, or write path:section in "
        "[tool.mergeguard] environments",
    )


def _no_script_location(
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
        raise _missing_file(context, path, source)
    if context.ini(path.parent / INI_NAME) is not None:
        return _section_environment(context, path.parent / INI_NAME, section, source)
    env = _toml_only(context, path)
    if env is None:
        raise _no_script_location(context, path, "tool.alembic")
    return env


def _section_environment(
    context: DiscoveryContext, path: PurePosixPath, section: str, source: str
) -> Environment:
    """The environment of one named section (``-c``/``-n``, or ``path:section``)."""
    if path.name == PYPROJECT_NAME:
        return _pyproject_environment(context, path, section, source)
    parser = context.ini(path)
    if parser is None:
        raise _missing_file(context, path, source)
    if not parser.has_section(section):
        fallback = _toml_only(context, path.parent / PYPROJECT_NAME)
        if section == DEFAULT_SECTION and fallback is not None:
            return fallback
        raise _missing_section(context, path, section, parser.sections())
    env = _environment(_ini_options(context, path, section), context)
    if env is None:
        raise _no_script_location(context, path, section)
    return env


# ---------------------------------------------------------------- discovery


def _candidates(context: DiscoveryContext) -> list[PurePosixPath]:
    """Every alembic.ini of the snapshot, and the root pyproject.toml if any."""
    files = list(context.snapshot.find(INI_NAME))
    return files + [PYPROJECT] if context.toml(PYPROJECT) is not None else files


def _groups(files: Sequence[PurePosixPath], start_dir: PurePosixPath) -> list[list[PurePosixPath]]:
    """``files`` at or below ``start_dir`` first, then the others."""
    near = [path for path in files if is_under(path, start_dir)]
    return [near, [path for path in files if path not in near]]


def _first_group(
    context: DiscoveryContext,
    files: Sequence[PurePosixPath],
    read: Callable[[PurePosixPath], list[Environment]],
) -> list[Environment]:
    """The environments ``read`` finds in the nearest group of ``files`` that has any."""
    for group in _groups(files, context.start_dir):
        found = [env for path in group for env in read(path)]
        if found:
            return found
    return []


def _discovered(context: DiscoveryContext) -> list[Environment]:
    """Every environment found without being told where to look."""
    files = _candidates(context)
    found = _first_group(context, files, lambda path: _file_environments(context, path))
    if found:
        return found
    inis = ", ".join(str(path) for path in files if path.name == INI_NAME)
    prefix = f"no section of {inis} sets script_location; " if inis else ""
    raise MergeguardError(
        f"no Alembic configuration found in {context.snapshot.origin}",
        hint=prefix + _NOT_FOUND_HINT,
    )


def _with_section(
    context: DiscoveryContext, path: PurePosixPath, section: str
) -> list[Environment]:
    """The environment of ``section`` in one file (``-n`` alone), empty when it lacks one."""
    if path.name == PYPROJECT_NAME:
        return [env for env in _file_environments(context, path) if env.section == section]
    parser = context.ini(path)
    if parser is None or not parser.has_section(section):
        return []
    return [_section_environment(context, path, section, "-n/--name")]


def _named_section(context: DiscoveryContext, section: str) -> list[Environment]:
    """``-n NAME`` without ``-c``: that section of the nearest ini files having it."""
    files = _candidates(context)
    found = _first_group(context, files, lambda path: _with_section(context, path, section))
    if found:
        return found
    existing = [
        name
        for path in files
        if path.name == INI_NAME
        for name in (context.ini(path) or configparser.ConfigParser()).sections()
    ]
    where = ", ".join(str(path) for path in files) or "no configuration file"
    raise _missing_section(context, where, section, sorted(set(existing)))


def _entry(entry: str) -> tuple[PurePosixPath, str | None]:
    """``path/to/alembic.ini[:section]`` of ``[tool.mergeguard] environments``."""
    path, colon, section = entry.rpartition(":")
    if not colon or not path or "/" in section:
        path, section = entry, ""
    return normalised(PurePosixPath(path), "[tool.mergeguard] environments"), section or None


def _configured(context: DiscoveryContext, entries: Sequence[str]) -> list[Environment]:
    """The environments ``[tool.mergeguard] environments`` lists: a whole file
    (every environment it defines) or one ``file:section``."""
    source = "[tool.mergeguard] environments"
    found: list[Environment] = []
    for entry in entries:
        path, section = _entry(entry)
        if section is not None:
            found.append(_section_environment(context, path, section, source))
            continue
        if context.snapshot.read(path) is None:
            raise _missing_file(context, path, source)
        in_file = _file_environments(context, path)
        if not in_file:
            raise _no_script_location(context, path, None)
        found.extend(in_file)
    return found


def _select(
    context: DiscoveryContext, envs: list[Environment], section: str | None
) -> list[Environment]:
    """The environments of ``section`` (``-n``) among configured ones; all when None."""
    if section is None:
        return envs
    chosen = [env for env in envs if env.section == section]
    if not chosen:
        where = "[tool.mergeguard] environments"
        raise _missing_section(context, where, section, sorted({env.section for env in envs}))
    return chosen


def _rank(context: DiscoveryContext, env: Environment) -> tuple[PurePosixPath, int]:
    """Sort key: the configuration file, then the section's place in it."""
    path = env.config_path or ROOT
    parser = context.inis.get(path)
    sections = parser.sections() if parser is not None else []
    return path, sections.index(env.section) if env.section in sections else 0


def _ordered(context: DiscoveryContext, found: Iterable[Environment]) -> list[Environment]:
    """``found`` without repeats, sorted by file and section order."""
    unique: dict[tuple[PurePosixPath | None, str], Environment] = {}
    for env in found:
        unique.setdefault((env.config_path, env.section), env)
    return sorted(unique.values(), key=lambda env: _rank(context, env))


def _named(envs: Sequence[Environment]) -> tuple[Environment, ...]:
    """``envs`` with unique, stable names: the section name where that is
    unique, else ``<ini directory>:<section>``."""
    counts = Counter(env.section for env in envs)
    names = [
        env.section
        if counts[env.section] == 1
        else f"{(env.config_path or ROOT).parent}:{env.section}"
        for env in envs
    ]
    if len(set(names)) < len(names):
        names = [f"{env.config_path}:{env.section}" for env in envs]
    return tuple(replace(env, name=name) for env, name in zip(envs, names, strict=True))


def _versions_environment(versions: Sequence[PurePosixPath]) -> Environment:
    """The one environment ``--versions DIR ...`` describes (no configuration file)."""
    directories = unique_paths(normalised(path, "--versions") for path in versions)
    return Environment(name=DEFAULT_SECTION, version_locations=directories)


def _found(
    context: DiscoveryContext,
    settings: ToolSettings,
    config_path: PurePosixPath | None,
    section: str | None,
    *,
    required: bool,
) -> tuple[Environment, ...]:
    """The environments the options select, named and ordered; when not
    ``required``, plain discovery may find none."""
    if config_path is not None:
        path = normalised(config_path, "-c/--config")
        found = [_section_environment(context, path, section or DEFAULT_SECTION, "-c/--config")]
    elif settings.environments:
        found = _select(context, _configured(context, settings.environments), section)
    elif section is not None:
        found = _named_section(context, section)
    elif required:
        found = _discovered(context)
    else:
        files = _candidates(context)
        found = _first_group(context, files, lambda path: _file_environments(context, path))
    return _named(_ordered(context, found))


def _with_configured_versions(
    context: DiscoveryContext, found: Sequence[Environment], settings: ToolSettings
) -> Environment:
    """``[tool.mergeguard] versions``: the version directories of the one
    environment found (its script location, template and options kept, for
    ``fix --merge`` and ``apply``), or of a bare one when there is no ini."""
    if len(found) > 1:
        names = ", ".join(env.name for env in found)
        raise MergeguardError(
            f"pyproject.toml in {context.snapshot.origin}: [tool.mergeguard] versions names "
            f"the version directories of one environment, but {len(found)} were found "
            f"({names})",
            hint='choose the environment with [tool.mergeguard] environments = ["path:section"] '
            "or -n/--name",
        )
    if not found:
        return Environment(name=DEFAULT_SECTION, version_locations=settings.versions)
    return replace(found[0], version_locations=settings.versions)


def _environments(
    context: DiscoveryContext,
    settings: ToolSettings,
    config_path: PurePosixPath | None,
    section: str | None,
    versions: Sequence[PurePosixPath],
) -> tuple[Environment, ...]:
    """The environments the options select, named and ordered: ``--versions``
    first, then ``[tool.mergeguard] versions`` over what is configured."""
    if versions:
        return (_versions_environment(versions),)
    found = _found(context, settings, config_path, section, required=not settings.versions)
    if settings.versions:
        return (_with_configured_versions(context, found, settings),)
    return found


def _recursive(environments: tuple[Environment, ...]) -> tuple[Environment, ...]:
    """``--recursive`` / ``recursive_versions = true``: sub-directories too, as
    Alembic's ``recursive_version_locations = true`` reads them."""
    return tuple(replace(env, recursive=True) for env in environments)


# ---------------------------------------------------------------- API


def discover(
    snapshot: Snapshot,
    *,
    config_path: PurePosixPath | None = None,
    section: str | None = None,
    versions: tuple[PurePosixPath, ...] = (),
    recursive: bool = False,
    start_dir: PurePosixPath = ROOT,
) -> Config:
    """Returns every Alembic environment of ``snapshot`` with mergeguard's settings.

    ``versions`` (``--versions``) bypasses discovery, and ``recursive``
    (``--recursive``) reads every version directory recursively; ``config_path``
    (``-c``) reads one ini and its ``section`` (``-n``, default "alembic");
    otherwise ``[tool.mergeguard] environments`` when set, else every
    alembic.ini (those at or below ``start_dir`` first) and the root
    ``[tool.alembic]``.  Raises ``MergeguardError`` when nothing is found or a
    file cannot be read.
    """
    context = DiscoveryContext(snapshot, normalised(start_dir, "-C"))
    settings = parse_settings(context.toml(PYPROJECT), snapshot.origin)
    environments = _environments(context, settings, config_path, section, versions)
    if recursive or settings.recursive_versions:
        environments = _recursive(environments)
    return Config(environments, settings)
