"""The ``[post_write_hooks]`` of an environment, read as Alembic reads them.

``alembic.config.Config.get_hooks_list`` (Alembic 1.20): the ini's
``[post_write_hooks]`` section when the ini has one -- ``hooks = a, b``
split on commas and spaces, each hook's options the keys ``a.*`` of the
section (interpolated, ``[DEFAULT]`` included) -- else the
``post_write_hooks`` list of tables of ``[tool.alembic]``, each with a
``name``.  Pure: the files come from a ``DiscoveryContext``; running the
hooks is the fix's edge (``mergeguard.fix.hooks``).

Alembic finds a hook's mistakes only while running it (after the file is
written, after the hooks before it ran); here every hook is checked first,
and an error names the file and line of the hook, so that a wrong
configuration writes nothing.
"""

from __future__ import annotations

import configparser
import re
from pathlib import PurePosixPath

from mergeguard.config.alembic_ini import (
    INI_NAME,
    PYPROJECT_NAME,
    DiscoveryContext,
    expand_here,
    here_stand_in,
)
from mergeguard.errors import MergeguardError
from mergeguard.model import Environment, frozen

SECTION = "post_write_hooks"
TOML_TABLE = "[[tool.alembic.post_write_hooks]]"
HOOK_TYPES = {"console_scripts": "entrypoint", "exec": "executable", "module": "module"}
_NAMES_SPLIT = re.compile(r", *|(?: +)")  # Config.get_hooks_list's _split_on_space_comma
_SECTION_HEADER = re.compile(r"^\s*\[([^\]]*)\]")


@frozen
class WriteHook:
    """One post-write hook: its ``name``, ``type`` and the other options
    (``entrypoint`` / ``executable`` / ``module``, ``options``, ``cwd``),
    and where it is configured (``source`` and, when found, ``line``)."""

    name: str
    type: str
    options: tuple[tuple[str, str], ...]
    source: PurePosixPath
    line: int | None = None

    def option(self, key: str) -> str | None:
        """One option of the hook, None when unset."""
        return dict(self.options).get(key)

    @property
    def where(self) -> str:
        """``file:line`` (or the file alone) for messages."""
        return f"{self.source}:{self.line}" if self.line else str(self.source)

    @property
    def target(self) -> str:
        """What the hook runs: its entrypoint, executable or module."""
        return self.option(HOOK_TYPES[self.type]) or ""


def hooks_of(context: DiscoveryContext, env: Environment) -> tuple[WriteHook, ...]:
    """The post-write hooks ``alembic merge`` runs for ``env``, in order.

    Empty for an environment without a configuration file (``--versions``).
    Raises MergeguardError, naming file and line, for a hook Alembic would
    fail on (no ``type``, an unknown type, no entrypoint / executable /
    module) or a value that cannot be read.
    """
    if env.config_path is None:
        return ()
    directory = env.config_path.parent
    ini_path = env.config_path if env.config_path.name != PYPROJECT_NAME else directory / INI_NAME
    parser = context.ini(ini_path)
    if parser is not None and parser.has_section(SECTION):
        text = _text(context, ini_path)
        return tuple(_checked(hook) for hook in _ini_hooks(parser, ini_path, text))
    toml_path = directory / PYPROJECT_NAME
    table = context.alembic_table(directory)
    if SECTION not in table:
        return ()
    text = _text(context, toml_path)
    hooks = _toml_hooks(table[SECTION], toml_path, text, here_stand_in(directory))
    return tuple(_checked(hook) for hook in hooks)


def _text(context: DiscoveryContext, path: PurePosixPath) -> str:
    """The file's text, for finding lines (it was parsed already: it is there)."""
    data = context.snapshot.read(path) or b""
    return data.decode("utf-8-sig", "replace")


# ---------------------------------------------------------------- the ini


def _ini_hooks(
    parser: configparser.ConfigParser, path: PurePosixPath, text: str
) -> list[WriteHook]:
    """The hooks of ``[post_write_hooks]``, as ``get_hooks_list`` builds them."""
    try:
        items = dict(parser.items(SECTION))
    except configparser.Error as error:
        key = getattr(error, "option", None)
        line = ini_line(text, SECTION, key) if isinstance(key, str) else None
        where = f"{path}:{line}" if line else str(path)
        raise MergeguardError(
            f"{where}: [{SECTION}] cannot be read: {error.message.splitlines()[0]}",
            hint="write a literal % as %%",
        ) from error
    hooks = []
    for name in _NAMES_SPLIT.split(items.get("hooks", "")):
        if not name:
            continue
        prefix = name + "."
        options = {
            key[len(prefix) :]: value for key, value in items.items() if key.startswith(prefix)
        }
        key = f"{name}.type" if "type" in options else "hooks"
        line = ini_line(text, SECTION, key)
        hook_type = options.pop("type", "")
        hooks.append(WriteHook(name, hook_type, tuple(options.items()), path, line))
    return hooks


def ini_line(text: str, section: str, key: str | None) -> int | None:
    """The line of ``key`` in ``[section]`` of an ini text (of the section
    header when ``key`` is None or not found); None without the section.
    Keys compare as configparser compares them (lower-cased)."""
    current: str | None = None
    header: int | None = None
    wanted = key.lower() if key else None
    for number, line in enumerate(text.splitlines(), 1):
        found = _SECTION_HEADER.match(line)
        if found:
            current = found.group(1).strip()
            if current == section and header is None:
                header = number
            continue
        if current != section or wanted is None or line[:1].isspace():
            continue
        name = re.split(r"[=:]", line, maxsplit=1)[0].strip().lower()
        if name == wanted:
            return number
    return header


# ---------------------------------------------------------------- [tool.alembic]


def _toml_hooks(value: object, path: PurePosixPath, text: str, here: str) -> list[WriteHook]:
    """``post_write_hooks = [{name = ..., type = ...}, ...]`` of ``[tool.alembic]``."""
    lines = _toml_hook_lines(text)
    if not isinstance(value, list):
        raise MergeguardError(
            f"{_at(path, lines, 0)}: post_write_hooks in [tool.alembic] must be a list of tables",
            hint=f"write each hook as a {TOML_TABLE} table with name, type and options",
        )
    hooks = []
    for index, table in enumerate(value):
        where = _at(path, lines, index)
        if not isinstance(table, dict):
            raise MergeguardError(
                f"{where}: post_write_hooks entry {index + 1} in [tool.alembic] is not a table",
                hint=f"write each hook as a {TOML_TABLE} table with name, type and options",
            )
        options = {key: _toml_string(key, item, where, here) for key, item in table.items()}
        name = options.pop("name", None)
        if not name:
            raise MergeguardError(
                f"{where}: post_write_hooks entry {index + 1} in [tool.alembic] has no name",
                hint='give every hook a name = "..."',
            )
        hook_type = options.pop("type", "")
        line = lines[index] if index < len(lines) else (lines[0] if lines else None)
        hooks.append(WriteHook(name, hook_type, tuple(options.items()), path, line))
    return hooks


def _toml_string(key: str, value: object, where: str, here: str) -> str:
    """A hook option: a string, ``%(here)s`` substituted (``_get_toml_config_value``)."""
    if not isinstance(value, str):
        raise MergeguardError(
            f"{where}: post_write_hooks option {key} must be a string",
            hint=f'write {key} = "..."',
        )
    try:
        return expand_here(value, here)
    except ValueError as error:
        raise MergeguardError(
            f"{where}: post_write_hooks option {key} cannot be interpolated ({error})",
            hint="write a literal % as %%",
        ) from error


def _toml_hook_lines(text: str) -> list[int]:
    """The line of each ``[[tool.alembic.post_write_hooks]]`` header, in
    order; else the line of an inline ``post_write_hooks = [...]``."""
    lines = text.splitlines()
    headers = [n for n, line in enumerate(lines, 1) if line.strip().startswith(TOML_TABLE)]
    if headers:
        return headers
    return [n for n, line in enumerate(lines, 1) if line.strip().startswith(SECTION)][:1]


def _at(path: PurePosixPath, lines: list[int], index: int) -> str:
    line = lines[index] if index < len(lines) else (lines[0] if lines else None)
    return f"{path}:{line}" if line else str(path)


# ---------------------------------------------------------------- what Alembic requires


def _checked(hook: WriteHook) -> WriteHook:
    """``hook``, or the error Alembic raises for it (``_run_hooks``,
    ``_invoke``, ``_get_required_option``), naming where it is configured."""
    if not hook.type:
        raise MergeguardError(
            f"{hook.where}: post-write hook {hook.name!r} has no type "
            f"(key {hook.name}.type, or type in [tool.alembic])",
            hint=f"set {hook.name}.type = console_scripts, exec or module",
        )
    required = HOOK_TYPES.get(hook.type)
    if required is None:
        raise MergeguardError(
            f"{hook.where}: post-write hook {hook.name!r} has type {hook.type!r}: "
            f"no formatter with that name is registered",
            hint="use type console_scripts, exec or module (mergeguard cannot run hooks "
            "registered in Python with alembic.script.write_hooks.register)",
        )
    if not hook.option(required):
        raise MergeguardError(
            f"{hook.where}: post-write hook {hook.name!r} ({hook.type}) needs "
            f"{hook.name}.{required}",
            hint=f"set {hook.name}.{required} in [{SECTION}] (or {required} in [tool.alembic])",
        )
    return hook
