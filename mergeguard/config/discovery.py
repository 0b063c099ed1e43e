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
the result can be mapped back to a repository-relative path.  Which files and
sections are read is decided here; one file or section becomes an
``Environment`` in ``mergeguard.config.sections``.
"""

from __future__ import annotations

import configparser
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import PurePosixPath

from mergeguard.config.alembic_ini import (
    DEFAULT_SECTION,
    INI_NAME,
    PYPROJECT,
    PYPROJECT_NAME,
    ROOT,
    DiscoveryContext,
    normalised,
    unique_paths,
)
from mergeguard.config.sections import (
    file_environments,
    missing_file,
    missing_section,
    no_script_location,
    section_environment,
)
from mergeguard.config.settings import parse_settings
from mergeguard.errors import MergeguardError
from mergeguard.git.snapshot import Snapshot, is_under
from mergeguard.model import Config, Environment, ToolSettings, replace

_NOT_FOUND_HINT = (
    "mergeguard looks for alembic.ini files (each section with script_location is an "
    "environment), [tool.alembic] in the root pyproject.toml, and migrations/alembic.ini "
    "beside an env.py (Flask-Migrate); name the file with -c/--config (and the section "
    "with -n/--name), or the version directories with --versions DIR"
)


# ---------------------------------------------------------------- script locations


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
    found = _first_group(context, files, lambda path: file_environments(context, path))
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
        return [env for env in file_environments(context, path) if env.section == section]
    parser = context.ini(path)
    if parser is None or not parser.has_section(section):
        return []
    return [section_environment(context, path, section, "-n/--name")]


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
    raise missing_section(context, where, section, sorted(set(existing)))


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
            found.append(section_environment(context, path, section, source))
            continue
        if context.snapshot.read(path) is None:
            raise missing_file(context, path, source)
        in_file = file_environments(context, path)
        if not in_file:
            raise no_script_location(context, path, None)
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
        raise missing_section(context, where, section, sorted({env.section for env in envs}))
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
        found = [section_environment(context, path, section or DEFAULT_SECTION, "-c/--config")]
    elif settings.environments:
        found = _select(context, _configured(context, settings.environments), section)
    elif section is not None:
        found = _named_section(context, section)
    elif required:
        found = _discovered(context)
    else:
        files = _candidates(context)
        found = _first_group(context, files, lambda path: file_environments(context, path))
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


def read_settings(snapshot: Snapshot) -> ToolSettings:
    """``[tool.mergeguard]`` of ``snapshot``'s root pyproject.toml alone
    (defaults when there is none): what a command needs of a tree it does
    not read migrations from, without discovering its environments."""
    context = DiscoveryContext(snapshot, ROOT)
    return parse_settings(context.toml(PYPROJECT), snapshot.origin)


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
