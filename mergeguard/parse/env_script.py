"""The version table an environment's env.py names, read statically.

Alembic keeps its version table where ``context.configure(version_table=...,
version_table_schema=...)`` says (``alembic_version`` in the connection's
default schema otherwise).  mergeguard never imports env.py: it reads the
literal keywords of the ``configure`` calls with ``ast``, under the limits of
``parse.bounds``, so that ``status`` reads the table Alembic writes.
"""

from __future__ import annotations

import ast

from mergeguard.model import frozen
from mergeguard.parse.bounds import check_nesting, check_size
from mergeguard.parse.source import UnreadableSource, decode

KEYWORDS = ("version_table", "version_table_schema")
# online mode is the one that writes the table: its call wins over offline's
_ONLINE = "run_migrations_online"


@frozen
class VersionTableOptions:
    """What env.py passes for each keyword of ``KEYWORDS``: ``values`` the
    literal strings (``None`` written as None), ``dynamic`` the keywords
    whose value is not a literal (only running env.py could say), and
    ``problem`` why the file could not be read at all."""

    values: tuple[tuple[str, str | None], ...] = ()
    dynamic: tuple[str, ...] = ()
    problem: str | None = None

    def value(self, keyword: str) -> str | None:
        return dict(self.values).get(keyword)


def version_table_options(data: bytes) -> VersionTableOptions:
    """The version table keywords of env.py's online ``configure`` call
    (``data`` its bytes): the calls given ``connection=`` (online mode, the
    one that writes the table), else those in ``run_migrations_online``,
    else every call, the first literal of each keyword winning.  A
    module-level string constant counts as a literal; a ``**options`` in a
    call leaves every keyword it does not name to the setting (dynamic)."""
    try:
        check_size(data)
        text = decode(data)
        check_nesting(text)
        tree = ast.parse(text)
    except UnreadableSource as error:
        return VersionTableOptions(dynamic=KEYWORDS, problem=error.message)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as error:
        problem = f"not Python source ({type(error).__name__})"
        return VersionTableOptions(dynamic=KEYWORDS, problem=problem)
    constants = _module_constants(tree)
    values: dict[str, str | None] = {}
    dynamic: list[str] = []
    for call in _online_calls(_configure_calls(tree)):
        named = {keyword.arg for keyword in call.keywords}
        for keyword in call.keywords:
            if keyword.arg not in KEYWORDS or keyword.arg in values or keyword.arg in dynamic:
                continue
            found = _literal(keyword.value, constants)
            if found is _DYNAMIC:
                dynamic.append(keyword.arg)
            else:
                values[keyword.arg] = found if isinstance(found, str) else None
        if None in named:  # **options: what it holds only running env.py could say
            dynamic.extend(k for k in KEYWORDS if k not in named and k not in dynamic)
    return VersionTableOptions(tuple(values.items()), tuple(dynamic))


def _online_calls(calls: list[ast.Call]) -> list[ast.Call]:
    """The calls of online mode: those given ``connection=`` (offline mode
    passes ``url=`` and never writes a version table), else all of them."""
    online = [c for c in calls if any(k.arg == "connection" for k in c.keywords)]
    return online or calls


_DYNAMIC = object()


def _literal(node: ast.expr, constants: dict[str, str | None]) -> object:
    if isinstance(node, ast.Constant) and (node.value is None or isinstance(node.value, str)):
        return node.value
    if isinstance(node, ast.Name) and node.id in constants:
        return constants[node.id]
    return _DYNAMIC


def _module_constants(tree: ast.Module) -> dict[str, str | None]:
    """``NAME = "text"`` (or None) at module level, assigned once."""
    found: dict[str, str | None] = {}
    seen: set[str] = set()
    for statement in tree.body:
        targets: list[ast.expr] = []
        value: ast.expr | None = None
        if isinstance(statement, ast.Assign):
            targets, value = statement.targets, statement.value
        elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
            targets, value = [statement.target], statement.value
        literal = _literal(value, {}) if value is not None else _DYNAMIC
        for target in targets:
            if not isinstance(target, ast.Name):
                continue
            if target.id in seen or literal is _DYNAMIC:
                found.pop(target.id, None)  # reassigned, or not a literal: unknown
            else:
                found[target.id] = literal if isinstance(literal, str) else None
            seen.add(target.id)
    return found


def _configure_calls(tree: ast.Module) -> list[ast.Call]:
    """Every ``<something>.configure(...)`` call, the online function's first."""
    online: list[ast.Call] = []
    other: list[ast.Call] = []
    for function in [tree, *(n for n in tree.body if isinstance(n, ast.FunctionDef))]:
        bucket = online if getattr(function, "name", None) == _ONLINE else other
        nodes = function.body if function is tree else [function]
        for statement in nodes:
            if function is tree and isinstance(statement, ast.FunctionDef):
                continue  # walked as a function of its own
            for node in ast.walk(statement):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "configure"
                ):
                    bucket.append(node)
    return online + other
