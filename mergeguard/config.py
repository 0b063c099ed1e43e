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
import posixpath
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import PurePosixPath

from mergeguard.errors import MergeguardError
from mergeguard.model import Config, Environment, ToolSettings
from mergeguard.snapshot import Snapshot, is_under

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

ROOT = PurePosixPath(".")
INI_NAME = "alembic.ini"
PYPROJECT_NAME = "pyproject.toml"
PYPROJECT = PurePosixPath(PYPROJECT_NAME)
DEFAULT_SECTION = "alembic"

# What ``%(here)s`` stands for: an absolute path that names the repository root.
_REPO = "/@mergeguard-repository@"
_SEPARATORS = {
    "os": ":",  # os.pathsep on POSIX, where mergeguard's paths live
    "space": " ",
    "newline": "\n",
    ":": ":",
    ";": ";",
    # Not Alembic's spellings, accepted as synonyms.
    "colon": ":",
    "semicolon": ";",
    "comma": ",",
    ",": ",",
}
_LEGACY_VERSIONS_SPLIT = re.compile(r", *|(?: +)")
_LEGACY_SYS_PATH_SPLIT = re.compile(r", *|(?: +)|\:")
_NOT_FOUND_HINT = (
    "mergeguard looks for alembic.ini files (each section with script_location is an "
    "environment), [tool.alembic] in the root pyproject.toml, and migrations/alembic.ini "
    "beside an env.py (Flask-Migrate); name the file with -c/--config (and the section "
    "with -n/--name), or the version directories with --versions DIR"
)
_SEPARATOR_HINT = "use path_separator = os, space, newline, ':' or ';'"


# ---------------------------------------------------------------- paths


def _here(directory: PurePosixPath) -> str:
    """The absolute stand-in for ``directory`` that ``%(here)s`` expands to."""
    return _REPO if directory == ROOT else f"{_REPO}/{directory}"


def _inside(value: str, base: PurePosixPath) -> PurePosixPath | None:
    """``value`` (relative to ``base``, or built from ``%(here)s``) as a
    normalised repository-relative path; None when it leaves the repository."""
    joined = posixpath.normpath(posixpath.join(_here(base), value))
    if joined == _REPO:
        return ROOT
    if joined.startswith(_REPO + "/"):
        return PurePosixPath(joined[len(_REPO) + 1 :])
    return None


def _repo_path(value: str, base: PurePosixPath, what: str) -> PurePosixPath:
    """``_inside(value, base)``; raises naming ``what`` when it leaves the repository."""
    path = _inside(value, base)
    if path is not None:
        return path
    shown = value.replace(_REPO, "<repository>")
    raise MergeguardError(
        f"{what}: {shown!r} lies outside the repository",
        hint="mergeguard reads paths inside the repository only; use a relative path "
        "or %(here)s, or give the version directories with --versions DIR",
    )


def _normalised(path: PurePosixPath, what: str) -> PurePosixPath:
    """A path given by the caller, normalised and checked to stay in the repository."""
    return _repo_path(str(path), ROOT, what)


def _unique(items: Iterable[PurePosixPath]) -> tuple[PurePosixPath, ...]:
    """``items`` without repeats, first occurrence kept (Alembic loads a file once)."""
    return tuple(dict.fromkeys(items))


# ---------------------------------------------------------------- reading files


def _decoded(snapshot: Snapshot, path: PurePosixPath, data: bytes) -> str:
    """``data`` as text; raises naming the file when it is not UTF-8."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise MergeguardError(
            f"cannot read {path} in {snapshot.origin}: not UTF-8 text (byte {error.start})",
            hint=f"save {path} as UTF-8",
        ) from error


def _ini_error_line(error: configparser.Error) -> int | None:
    """The line configparser blames, when it names one."""
    line = getattr(error, "lineno", None)
    if isinstance(line, int):
        return line
    errors = getattr(error, "errors", None)
    return errors[0][0] if isinstance(errors, list) and errors else None


def _parse_ini(snapshot: Snapshot, path: PurePosixPath, data: bytes) -> configparser.ConfigParser:
    """The ini ``data`` parsed as Alembic does (``%(here)s`` = the ini's directory)."""
    parser = configparser.ConfigParser({"here": _here(path.parent)})
    try:
        parser.read_string(_decoded(snapshot, path, data), source=str(path))
    except configparser.Error as error:
        line = _ini_error_line(error)
        where = f"{path}:{line}" if line else str(path)
        summary = error.message.splitlines()[0]
        raise MergeguardError(
            f"cannot read {where} in {snapshot.origin}: {summary}",
            hint=f"fix the ini syntax of {path}",
        ) from error
    return parser


def _parse_toml(snapshot: Snapshot, path: PurePosixPath, data: bytes) -> dict[str, object]:
    """The TOML document ``data``; raises naming the file when it is malformed."""
    try:
        document: dict[str, object] = tomllib.loads(_decoded(snapshot, path, data))
    except tomllib.TOMLDecodeError as error:
        raise MergeguardError(
            f"cannot read {path} in {snapshot.origin}: {error}",
            hint=f"fix the TOML syntax of {path}",
        ) from error
    return document


def _table(
    document: Mapping[str, object], keys: Sequence[str], path: PurePosixPath
) -> dict[str, object]:
    """The table at ``keys`` (``tool.alembic``), empty when absent; raises when
    something other than a table sits there."""
    table: Mapping[str, object] = document
    for depth, key in enumerate(keys):
        value = table.get(key, {})
        if not isinstance(value, dict):
            dotted = ".".join(keys[: depth + 1])
            raise MergeguardError(
                f"{path}: {dotted} must be a table", hint=f"write it as [{dotted}]"
            )
        table = value
    return dict(table)


@dataclass(frozen=True, slots=True)
class _Context:
    """One discovery run: the snapshot, ``-C``, and the files read so far."""

    snapshot: Snapshot
    start_dir: PurePosixPath = ROOT
    inis: dict[PurePosixPath, configparser.ConfigParser | None] = field(default_factory=dict)
    tomls: dict[PurePosixPath, dict[str, object] | None] = field(default_factory=dict)

    def ini(self, path: PurePosixPath) -> configparser.ConfigParser | None:
        """The parsed ini at ``path``, None when the snapshot has no such file."""
        if path not in self.inis:
            data = self.snapshot.read(path)
            self.inis[path] = None if data is None else _parse_ini(self.snapshot, path, data)
        return self.inis[path]

    def toml(self, path: PurePosixPath) -> dict[str, object] | None:
        """The TOML document at ``path``, None when the snapshot has no such file."""
        if path not in self.tomls:
            data = self.snapshot.read(path)
            self.tomls[path] = None if data is None else _parse_toml(self.snapshot, path, data)
        return self.tomls[path]

    def alembic_table(self, directory: PurePosixPath) -> dict[str, object]:
        """``[tool.alembic]`` of ``directory/pyproject.toml``; empty when there is none."""
        path = directory / PYPROJECT_NAME
        document = self.toml(path)
        return {} if document is None else _table(document, ("tool", "alembic"), path)


# ---------------------------------------------------------------- Alembic's options


@dataclass(frozen=True, slots=True)
class _Options:
    """Alembic's ``Config`` for one ini section plus one ``[tool.alembic]`` table.

    ``path`` is the file the environment is named after: the ini, or the
    pyproject.toml when there is no ini section.
    """

    path: PurePosixPath
    section: str
    ini: configparser.ConfigParser | None
    toml: Mapping[str, object]
    toml_dir: PurePosixPath = ROOT

    def error(self, key: str, problem: str, hint: str) -> MergeguardError:
        """A "cannot run" error that names the ini, section and key."""
        return MergeguardError(f"{self.path}: {key} in [{self.section}] {problem}", hint=hint)

    def toml_error(self, key: str, problem: str, hint: str) -> MergeguardError:
        """A "cannot run" error that names the pyproject.toml and key."""
        path = self.toml_dir / PYPROJECT_NAME
        return MergeguardError(f"{path}: {key} in [tool.alembic] {problem}", hint=hint)

    def main_option(self, key: str) -> str | None:
        """``get_main_option``: the interpolated ini value, None when unset."""
        if self.ini is None or not self.ini.has_option(self.section, key):
            return None
        try:
            return self.ini.get(self.section, key)
        except configparser.Error as error:
            problem = "cannot be interpolated: " + error.message.splitlines()[0]
            raise self.error(key, problem, "write a literal % as %%") from error

    def _expand(self, key: str, value: object) -> str:
        """A TOML string with ``%(here)s`` substituted, as Alembic does."""
        if not isinstance(value, str):
            raise self.toml_error(key, "must be a string", f"write {key} as a quoted string")
        try:
            return value % {"here": _here(self.toml_dir)}
        except (KeyError, ValueError, TypeError) as error:
            problem = f"cannot be interpolated ({error})"
            raise self.toml_error(key, problem, "write % as %%") from error

    def text(self, key: str) -> str | None:
        """``get_alembic_option`` for a string: the ini section first, then TOML."""
        value = self.main_option(key)
        if value is not None or key not in self.toml:
            return value
        return self._expand(key, self.toml[key])

    def toml_list(self, key: str) -> list[str]:
        """A TOML list of strings with ``%(here)s`` substituted; empty when unset."""
        value = self.toml.get(key, [])
        if not isinstance(value, list):
            raise self.toml_error(key, "must be a list of strings", f'write {key} = ["..."]')
        return [self._expand(key, item) for item in value]

    def flag(self, key: str) -> bool:
        """``get_alembic_boolean_option``: ini value ``"true"``, or a TOML boolean."""
        value = self.main_option(key)
        if value is not None:
            return value == "true"
        toml_value = self.toml.get(key, False)
        if not isinstance(toml_value, bool):
            raise self.toml_error(key, "must be a boolean", f"write {key} = true or false")
        return toml_value

    def integer(self, key: str) -> int | None:
        """An integer option (``truncate_slug_length``), None when unset."""
        text = self.main_option(key)
        value = self.toml.get(key) if text is None else text
        if value is None or (isinstance(value, int) and not isinstance(value, bool)):
            return value
        try:
            return int(str(value))
        except ValueError as error:
            report = self.error if text is not None else self.toml_error
            raise report(key, f"must be an integer, not {value!r}", f"write {key} = 40") from error


def _separator(options: _Options, keys: Sequence[str]) -> str | None:
    """``_get_file_separator_char``: the split character named by the first of
    ``keys`` set in the ini, None when none is (legacy splitting)."""
    for key in keys:
        value = options.main_option(key)
        if value is None:
            continue
        if value not in _SEPARATORS:
            raise options.error(key, f"has an invalid value {value!r}", _SEPARATOR_HINT)
        return _SEPARATORS[value]
    return None


def _split(options: _Options, key: str, legacy: re.Pattern[str], keys: Sequence[str]) -> list[str]:
    """A path-list option as Alembic splits it (ini text, else the TOML list).

    Empty entries are dropped (Alembic would read them as the working directory).
    """
    text = options.main_option(key)
    if not text:
        return options.toml_list(key)
    separator = _separator(options, keys)
    if separator is None:
        return [item for item in legacy.split(text) if item]
    return [item.strip() for item in text.split(separator) if item.strip()]


# ---------------------------------------------------------------- locations


def _relative_bases(options: _Options, context: _Context) -> tuple[PurePosixPath, ...]:
    """Where a relative path may start: the config's directory, ``-C``, the root."""
    return _unique((options.path.parent, context.start_dir, ROOT))


def _locate(value: str, key: str, options: _Options, context: _Context) -> PurePosixPath:
    """The repository-relative directory a location option names.

    A ``package:resource`` value is found in the snapshot; a relative path is
    taken from the first base where it exists (the config's directory if none).
    """
    if not posixpath.isabs(value) and ":" in value:
        return _resource(value, key, options, context)
    what = f"{options.path}: {key}"
    first, *others = _relative_bases(options, context)
    primary = _repo_path(value, first, what)
    if posixpath.isabs(value) or context.snapshot.is_dir(primary):
        return primary
    for base in others:
        candidate = _inside(value, base)
        if candidate is not None and context.snapshot.is_dir(candidate):
            return candidate
    return primary


def _resource_roots(options: _Options, context: _Context) -> tuple[PurePosixPath, ...]:
    """Where a package may live: ``prepend_sys_path`` (entries inside the
    repository), the relative bases, and ``src/`` below each of those."""
    entries = _split(options, "prepend_sys_path", _LEGACY_SYS_PATH_SPLIT, ("path_separator",))
    inside = (_inside(entry, options.path.parent) for entry in entries)
    roots = [*(path for path in inside if path is not None), *_relative_bases(options, context)]
    return _unique([*roots, *(root / "src" for root in roots)])


def _resource(value: str, key: str, options: _Options, context: _Context) -> PurePosixPath:
    """``package:resource`` (``coerce_resource_to_filename``) as a directory of the snapshot."""
    package, *parts = value.split(":")
    if package:
        package_dir = PurePosixPath(*package.split("."))
        for root in _resource_roots(options, context):
            if context.snapshot.is_dir(root / package_dir):
                what = f"{options.path}: {key}"
                return _repo_path(posixpath.join(*parts), root / package_dir, what)
    raise MergeguardError(
        f"{options.path}: cannot find package {package!r} of {key} = {value} "
        f"in {context.snapshot.origin}",
        hint="mergeguard looks for the package beside the ini, in prepend_sys_path, at the "
        "repository root and under src/; or give the version directories with --versions DIR",
    )


# ---------------------------------------------------------------- environments


def _script_location(options: _Options, context: _Context) -> PurePosixPath | None:
    """Where env.py lives: ``script_location``; for a Flask-Migrate ini (none
    set, env.py or versions/ beside it) the ini's directory; else None."""
    value = options.text("script_location")
    if value is not None:
        return _locate(value, "script_location", options, context)
    if options.ini is None or options.section != DEFAULT_SECTION:
        return None
    directory = options.path.parent
    snapshot = context.snapshot
    if snapshot.read(directory / "env.py") is not None or snapshot.is_dir(directory / "versions"):
        return directory
    return None


def _version_locations(
    options: _Options, context: _Context, script: PurePosixPath
) -> tuple[PurePosixPath, ...]:
    """``get_version_locations_list`` as repository directories in load order;
    ``<script_location>/versions`` when unset."""
    keys = ("path_separator", "version_path_separator")
    values = _split(options, "version_locations", _LEGACY_VERSIONS_SPLIT, keys)
    if not values:
        return (script / "versions",)
    return _unique(_locate(value, "version_locations", options, context) for value in values)


def _environment(options: _Options, context: _Context) -> Environment | None:
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


def _ini_options(context: _Context, path: PurePosixPath, section: str) -> _Options:
    """One ini section paired with the ``[tool.alembic]`` of the ini's directory."""
    directory = path.parent
    return _Options(path, section, context.ini(path), context.alembic_table(directory), directory)


def _declares(parser: configparser.ConfigParser, section: str) -> bool:
    """True when ``section`` may be an environment: the main section, or one
    that sets script_location itself (not through [DEFAULT])."""
    if section == DEFAULT_SECTION:
        return True
    if not parser.has_option(section, "script_location"):
        return False
    inherited = parser.defaults().get("script_location")
    return inherited is None or parser.get(section, "script_location", raw=True) != inherited


def _ini_environments(context: _Context, path: PurePosixPath) -> list[Environment]:
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


def _toml_only(context: _Context, path: PurePosixPath) -> Environment | None:
    """The environment of a ``[tool.alembic]`` table read without an ini."""
    options = _Options(path, DEFAULT_SECTION, None, context.alembic_table(path.parent), path.parent)
    return _environment(options, context) if "script_location" in options.toml else None


def _toml_environment(context: _Context, path: PurePosixPath) -> Environment | None:
    """``[tool.alembic]`` on its own, unless an alembic.ini beside it has an
    [alembic] section (which then reads the table as its fallback)."""
    ini = context.ini(path.parent / INI_NAME)
    if ini is not None and ini.has_section(DEFAULT_SECTION):
        return None
    return _toml_only(context, path)


def _file_environments(context: _Context, path: PurePosixPath) -> list[Environment]:
    """Every environment one configuration file defines."""
    if path.name == PYPROJECT_NAME:
        env = _toml_environment(context, path)
        return [] if env is None else [env]
    return _ini_environments(context, path)


def _missing_file(context: _Context, path: PurePosixPath, source: str) -> MergeguardError:
    """The error for a configuration file named by the user but absent."""
    return MergeguardError(
        f"{path} does not exist in {context.snapshot.origin}",
        hint=f"{source} takes a path relative to the repository root; check that the file "
        "exists at this ref (git ls-tree -r --name-only REF)",
    )


def _missing_section(
    context: _Context, where: object, section: str, existing: Sequence[str]
) -> MergeguardError:
    """The error for an ini section named by the user but absent from ``where``."""
    return MergeguardError(
        f"{where} in {context.snapshot.origin} has no [{section}] section "
        f"(sections: {', '.join(existing) or 'none'})",
        hint="choose the section with -n/--name, or write path:section in "
        "[tool.mergeguard] environments",
    )


def _no_script_location(
    context: _Context, path: PurePosixPath, section: str | None
) -> MergeguardError:
    """The error for a named section (None: a whole file) without a script location."""
    what = f"[{section}] of {path} sets no" if section else f"no section of {path} sets"
    return MergeguardError(
        f"{what} script_location in {context.snapshot.origin}",
        hint="set script_location there, or give the version directories with --versions DIR",
    )


def _pyproject_environment(
    context: _Context, path: PurePosixPath, section: str, source: str
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
    context: _Context, path: PurePosixPath, section: str, source: str
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


def _candidates(context: _Context) -> list[PurePosixPath]:
    """Every alembic.ini of the snapshot, and the root pyproject.toml if any."""
    files = list(context.snapshot.find(INI_NAME))
    return files + [PYPROJECT] if context.toml(PYPROJECT) is not None else files


def _groups(files: Sequence[PurePosixPath], start_dir: PurePosixPath) -> list[list[PurePosixPath]]:
    """``files`` at or below ``start_dir`` first, then the others."""
    near = [path for path in files if is_under(path, start_dir)]
    return [near, [path for path in files if path not in near]]


def _first_group(
    context: _Context,
    files: Sequence[PurePosixPath],
    read: Callable[[PurePosixPath], list[Environment]],
) -> list[Environment]:
    """The environments ``read`` finds in the nearest group of ``files`` that has any."""
    for group in _groups(files, context.start_dir):
        found = [env for path in group for env in read(path)]
        if found:
            return found
    return []


def _discovered(context: _Context) -> list[Environment]:
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


def _with_section(context: _Context, path: PurePosixPath, section: str) -> list[Environment]:
    """The environment of ``section`` in one file (``-n`` alone), empty when it lacks one."""
    if path.name == PYPROJECT_NAME:
        return [env for env in _file_environments(context, path) if env.section == section]
    parser = context.ini(path)
    if parser is None or not parser.has_section(section):
        return []
    return [_section_environment(context, path, section, "-n/--name")]


def _named_section(context: _Context, section: str) -> list[Environment]:
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
    return _normalised(PurePosixPath(path), "[tool.mergeguard] environments"), section or None


def _configured(context: _Context, entries: Sequence[str]) -> list[Environment]:
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


def _select(context: _Context, envs: list[Environment], section: str | None) -> list[Environment]:
    """The environments of ``section`` (``-n``) among configured ones; all when None."""
    if section is None:
        return envs
    chosen = [env for env in envs if env.section == section]
    if not chosen:
        where = "[tool.mergeguard] environments"
        raise _missing_section(context, where, section, sorted({env.section for env in envs}))
    return chosen


def _rank(context: _Context, env: Environment) -> tuple[PurePosixPath, int]:
    """Sort key: the configuration file, then the section's place in it."""
    path = env.config_path or ROOT
    parser = context.inis.get(path)
    sections = parser.sections() if parser is not None else []
    return path, sections.index(env.section) if env.section in sections else 0


def _ordered(context: _Context, found: Iterable[Environment]) -> list[Environment]:
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
    directories = _unique(_normalised(path, "--versions") for path in versions)
    return Environment(name=DEFAULT_SECTION, version_locations=directories)


def _environments(
    context: _Context,
    settings: ToolSettings,
    config_path: PurePosixPath | None,
    section: str | None,
    versions: Sequence[PurePosixPath],
) -> tuple[Environment, ...]:
    """The environments the options select, named and ordered."""
    if versions:
        return (_versions_environment(versions),)
    if config_path is not None:
        path = _normalised(config_path, "-c/--config")
        found = [_section_environment(context, path, section or DEFAULT_SECTION, "-c/--config")]
    elif settings.environments:
        found = _select(context, _configured(context, settings.environments), section)
    elif section is not None:
        found = _named_section(context, section)
    else:
        found = _discovered(context)
    return _named(_ordered(context, found))


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


def _settings(document: Mapping[str, object] | None, origin: str) -> ToolSettings:
    """``[tool.mergeguard]`` of a parsed pyproject.toml (defaults when absent)."""
    if document is None:
        return ToolSettings()
    table = _table(document, ("tool", "mergeguard"), PYPROJECT)
    return ToolSettings(
        base=_setting_text(table, "base", origin),
        environments=_setting_list(table, "environments", origin),
        select=_setting_list(table, "select", origin),
        ignore=_setting_list(table, "ignore", origin),
        constants=_setting_constants(table, origin),
    )


# ---------------------------------------------------------------- API


def load_settings(snapshot: Snapshot) -> ToolSettings:
    """Returns ``[tool.mergeguard]`` of the root pyproject.toml of ``snapshot``
    (defaults when there is none); raises ``MergeguardError`` naming the file
    or the key when it is malformed."""
    return _settings(_Context(snapshot).toml(PYPROJECT), snapshot.origin)


def discover(
    snapshot: Snapshot,
    *,
    config_path: PurePosixPath | None = None,
    section: str | None = None,
    versions: tuple[PurePosixPath, ...] = (),
    start_dir: PurePosixPath = ROOT,
) -> Config:
    """Returns every Alembic environment of ``snapshot`` with mergeguard's settings.

    ``versions`` (``--versions``) bypasses discovery; ``config_path``
    (``-c``) reads one ini and its ``section`` (``-n``, default "alembic");
    otherwise ``[tool.mergeguard] environments`` when set, else every
    alembic.ini (those at or below ``start_dir`` first) and the root
    ``[tool.alembic]``.  Raises ``MergeguardError`` when nothing is found or a
    file cannot be read.
    """
    context = _Context(snapshot, _normalised(start_dir, "-C"))
    settings = _settings(context.toml(PYPROJECT), snapshot.origin)
    environments = _environments(context, settings, config_path, section, versions)
    return Config(environments, settings)
