"""Alembic's options at one snapshot: files read, values interpolated and split
the way Alembic does it, and locations resolved to repository-relative paths.

Files are read only through the ``Snapshot`` (``DiscoveryContext`` caches
each parsed ini and TOML file for one discovery run).  ``%(here)s`` expands
to an absolute stand-in for the file's directory so that the result can be
mapped back to a repository-relative path.
"""

from __future__ import annotations

import configparser
import posixpath
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import PurePosixPath

from mergeguard.errors import MergeguardError
from mergeguard.git.snapshot import Snapshot
from mergeguard.model import field, frozen

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
LEGACY_VERSIONS_SPLIT = re.compile(r", *|(?: +)")
_LEGACY_SYS_PATH_SPLIT = re.compile(r", *|(?: +)|\:")
_SEPARATOR_HINT = "use path_separator = os, space, newline, ':' or ';'"


# ---------------------------------------------------------------- paths


# ``%(here)s`` and ``%%``: all a TOML value may use.  Python's ``%`` would take
# any spec (``%(here)900000000s`` builds a string of that width); Alembic's
# values use these two, and the ini's own interpolation knows no others.
_TOML_PERCENT = re.compile(r"%(?:\(here\)s|%)?")


def expand_here(value: str, here: str) -> str:
    """``value % {"here": here}`` for the two forms Alembic's TOML values use;
    ValueError (naming the offending spec, not the value) for any other."""

    def substitute(found: re.Match[str]) -> str:
        if found.group() == "%(here)s":
            return here
        if found.group() == "%%":
            return "%"
        spec = value[found.start() : found.start() + 12]
        raise ValueError(f"unsupported % spec {spec!r}: only %(here)s and %% are read")

    return _TOML_PERCENT.sub(substitute, value)


def _here(directory: PurePosixPath) -> str:
    """The absolute stand-in for ``directory`` that ``%(here)s`` expands to."""
    return _REPO if directory == ROOT else f"{_REPO}/{directory}"


def here_stand_in(directory: PurePosixPath) -> str:
    """What ``%(here)s`` of a file in ``directory`` expands to here (see ``in_work_tree``)."""
    return _here(directory)


def in_work_tree(value: str, root: str) -> str:
    """``value`` with the stand-in for the repository replaced by ``root``, the
    working tree's real path: a hook's ``%(here)s/.venv/bin/ruff`` runs there."""
    return value.replace(_REPO, root)


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


def normalised(path: PurePosixPath, what: str) -> PurePosixPath:
    """A path given by the caller, normalised and checked to stay in the repository."""
    return _repo_path(str(path), ROOT, what)


def unique_paths(items: Iterable[PurePosixPath]) -> tuple[PurePosixPath, ...]:
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


# Inis parsed in this run, by path and bytes: the snapshots of a check mostly
# hold the same files (a monorepo's twenty inis, four times over).  Only what
# parsed is kept (an error names its snapshot); nothing changes a parser once
# made: discovery only reads it.
_PARSED_INIS: dict[tuple[PurePosixPath, bytes], configparser.ConfigParser] = {}


def _parsed_ini(snapshot: Snapshot, path: PurePosixPath, data: bytes) -> configparser.ConfigParser:
    """``_parse_ini``, once per path and bytes in a run."""
    parser = _PARSED_INIS.get((path, data))
    if parser is None:
        parser = _PARSED_INIS[path, data] = _parse_ini(snapshot, path, data)
    return parser


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
    # imported here: a repository without a pyproject.toml never pays for it
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

    try:
        document: dict[str, object] = tomllib.loads(_decoded(snapshot, path, data))
    except tomllib.TOMLDecodeError as error:
        raise MergeguardError(
            f"cannot read {path} in {snapshot.origin}: {error}",
            hint=f"fix the TOML syntax of {path}",
        ) from error
    except RecursionError as error:  # tomllib recurses once per nested array or table
        raise MergeguardError(
            f"cannot read {path} in {snapshot.origin}: arrays or inline tables nested "
            "too deeply for Python's TOML reader",
            hint=f"flatten the nested values in {path}",
        ) from error
    return document


def toml_table(
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


@frozen
class DiscoveryContext:
    """One discovery run: the snapshot, ``-C``, and the files read so far."""

    snapshot: Snapshot
    start_dir: PurePosixPath = ROOT
    inis: dict[PurePosixPath, configparser.ConfigParser | None] = field(default_factory=dict)
    tomls: dict[PurePosixPath, dict[str, object] | None] = field(default_factory=dict)

    def ini(self, path: PurePosixPath) -> configparser.ConfigParser | None:
        """The parsed ini at ``path``, None when the snapshot has no such file."""
        if path not in self.inis:
            data = self.snapshot.read(path)
            self.inis[path] = None if data is None else _parsed_ini(self.snapshot, path, data)
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
        return {} if document is None else toml_table(document, ("tool", "alembic"), path)


# ---------------------------------------------------------------- Alembic's options


@frozen
class AlembicOptions:
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
            return expand_here(value, _here(self.toml_dir))
        except ValueError as error:
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


def _separator(options: AlembicOptions, keys: Sequence[str]) -> str | None:
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


def split_option(
    options: AlembicOptions, key: str, legacy: re.Pattern[str], keys: Sequence[str]
) -> list[str]:
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


def _relative_bases(
    options: AlembicOptions, context: DiscoveryContext
) -> tuple[PurePosixPath, ...]:
    """Where a relative path may start: the config's directory, ``-C``, the root."""
    return unique_paths((options.path.parent, context.start_dir, ROOT))


def locate(
    value: str, key: str, options: AlembicOptions, context: DiscoveryContext
) -> PurePosixPath:
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


def _resource_roots(
    options: AlembicOptions, context: DiscoveryContext
) -> tuple[PurePosixPath, ...]:
    """Where a package may live: ``prepend_sys_path`` (entries inside the
    repository), the relative bases, and ``src/`` below each of those."""
    entries = split_option(options, "prepend_sys_path", _LEGACY_SYS_PATH_SPLIT, ("path_separator",))
    inside = (_inside(entry, options.path.parent) for entry in entries)
    roots = [*(path for path in inside if path is not None), *_relative_bases(options, context)]
    return unique_paths([*roots, *(root / "src" for root in roots)])


def _resource(
    value: str, key: str, options: AlembicOptions, context: DiscoveryContext
) -> PurePosixPath:
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
