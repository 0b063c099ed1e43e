"""The literal SQL of ``op.execute("...")`` read into Operations, with sqlglot.

Migrations often run DDL as text.  This module parses that text (generic SQL
first, then the PostgreSQL and MySQL dialects) and maps each schema statement
to the ``Operation`` values the equivalent ``op.*`` calls give.  Statements that
read or move data, or set up the session, change no schema and give nothing;
SQL that no dialect reads completely gives one opaque operation, never a guess.

sqlglot is imported on first use (it is heavy, and most migrations never
execute literal SQL).  Its trees are read through the small ``Node`` protocol
and dispatched on each node's ``key`` (the lower-case class name), so this
module needs no sqlglot import at load time, not even for typing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from mergeguard.model import Operation, Span
from mergeguard.parse.sql_alter import alter_table
from mergeguard.parse.sql_tree import (
    Change,
    Node,
    Unreadable,
    child,
    children,
    column_constraints,
    constraint_change,
    dropped,
    element_name,
    if_not_exists,
    name_of,
    optional_name,
    string_arg,
    table_of,
)

# Tried in order; the first that reads every statement wins.
_DIALECTS: tuple[str | None, ...] = (None, "postgres", "mysql")

# Statements that read or move data, or set up the session.
_NOT_SCHEMA = frozenset(
    {
        "select",
        "union",
        "intersect",
        "except",
        "insert",
        "update",
        "delete",
        "merge",
        "truncatetable",
        "set",
        "transaction",
        "commit",
        "rollback",
        "analyze",
    }
)
# The same, as the leading keyword of a statement sqlglot keeps as raw text (a
# "command"); any other command is unread in that dialect.
_NOT_SCHEMA_COMMANDS = frozenset(
    {
        "SELECT",
        "INSERT",
        "UPDATE",
        "DELETE",
        "SET",
        "RESET",
        "BEGIN",
        "START",
        "COMMIT",
        "ROLLBACK",
        "END",
        "SAVEPOINT",
        "RELEASE",
        "ANALYZE",
        "VACUUM",
    }
)


def sql_operations(sql: str, span: Span, function: str = "upgrade") -> tuple[Operation, ...]:
    """The schema changes ``sql`` makes, in statement order, each at ``span`` in
    ``function``: () when it only touches data or the session, one opaque
    operation (with the SQL's start as the reason) when it cannot be read.
    Never raises."""
    for dialect in _DIALECTS:
        changes = _read(sql, dialect)
        if changes is not None:
            return tuple(change.operation(span, function) for change in changes)
    return (_opaque(sql, span, function),)


def _opaque(sql: str, span: Span, function: str) -> Operation:
    """The one opaque Operation standing for unreadable ``sql``."""
    start = " ".join(sql.split())[:60]
    reason = f"SQL mergeguard cannot read: {start}"
    return Operation("opaque", None, None, None, span, True, reason=reason, function=function)


def _read(sql: str, dialect: str | None) -> list[Change] | None:
    """The changes of every statement of ``sql`` parsed as ``dialect``; None
    when the dialect cannot parse it or leaves any statement unmapped."""
    import sqlglot  # heavy: loaded only when a migration executes literal SQL
    from sqlglot.errors import SqlglotError  # ParseError, TokenError, UnsupportedError ...

    try:
        with _quiet():
            statements: list[Node | None] = list(sqlglot.parse(sql, read=dialect))
            return [
                change for node in statements if node is not None for change in _statement(node)
            ]
    # sqlglot's own errors; a statement or tree shape not mapped here; SQL
    # nested deeper than sqlglot's recursive parser goes.
    except (SqlglotError, Unreadable, RecursionError):
        return None


def _mute(record: logging.LogRecord) -> bool:
    """A logging filter that drops every record (returns False)."""
    return False


@contextmanager
def _quiet() -> Iterator[None]:
    """Silences sqlglot's logger (it warns for each statement it keeps as a raw
    command); yields nothing."""
    logger = logging.getLogger("sqlglot")
    logger.addFilter(_mute)
    try:
        yield
    finally:
        logger.removeFilter(_mute)


# -- statements --------------------------------------------------------------------


def _statement(node: Node) -> list[Change]:
    """The changes one parsed statement makes; raises Unreadable when unmapped."""
    if node.key in _NOT_SCHEMA:
        return []
    if node.key == "command":  # a statement sqlglot kept as raw text
        if string_arg(node, "this").upper() in _NOT_SCHEMA_COMMANDS:
            return []
        raise Unreadable(string_arg(node, "this"))
    if any(child.key == "command" for child in node.walk()):
        raise Unreadable("part of the statement was left unparsed")
    reader = _STATEMENTS.get(node.key)
    if reader is None:
        raise Unreadable(node.key)
    return reader(node)


def _create(node: Node) -> list[Change]:
    """CREATE TABLE (with a column list) and CREATE INDEX."""
    kind = string_arg(node, "kind").upper()
    target = child(node, "this")
    if kind == "TABLE" and target is not None and target.key == "schema":
        return if_not_exists(node, _create_table(target))
    if kind == "INDEX":
        return if_not_exists(node, [_create_index(target, bool(node.args.get("unique")))])
    if kind == "TYPE":
        return [_create_enum(node)]
    raise Unreadable(f"CREATE {kind}")


def _create_table(definition: Node) -> list[Change]:
    """create_table with its columns, then the named inline constraints, the
    inline indexes and every foreign key."""
    table, schema = table_of(child(definition, "this"))
    columns: list[str] = []
    extra: list[Change] = []
    for item in children(definition, "expressions"):
        if item.key == "columndef":
            columns.append(name_of(item))
            extra += column_constraints(item, table, schema)
        else:
            change = constraint_change(item, table, schema)
            if change.name is not None or change.kind in ("create_foreign_key", "create_index"):
                extra.append(change)
    return [Change("create_table", table, table, schema, tuple(columns)), *extra]


def _create_index(index: Node | None, unique: bool) -> Change:
    """create_index; expression elements count by their SQL text."""
    table, schema = table_of(child(index, "table"))
    params = child(index, "params")  # sqlglot < 26 kept the columns on the index
    elements = children(params if params is not None else index, "columns")
    detail = (("unique", "True"),) if unique else ()
    columns = tuple(element_name(e) for e in elements)
    return Change(
        "create_index", table, optional_name(child(index, "this")), schema, columns, detail
    )


def _create_enum(node: Node) -> Change:
    """CREATE TYPE [schema.]name AS ENUM (...) (PostgreSQL): create_enum; raises
    for other types (composite, range ...)."""
    body = child(node, "expression")
    if body is None or body.key != "datatype" or _type_name(body) != "ENUM":
        raise Unreadable("CREATE TYPE other than AS ENUM")
    name, schema = table_of(child(node, "this"))
    return Change("create_enum", None, name, schema)


def _type_name(datatype: Node) -> str:
    """The name of a DataType's type member (``ENUM``, ``INT`` ...)."""
    return str(getattr(datatype.args.get("this"), "name", ""))


def _drop(node: Node) -> list[Change]:
    """DROP TABLE / DROP INDEX (MySQL's ``ON table`` kept) / DROP TYPE, one
    change per name."""
    kind = string_arg(node, "kind").upper()
    targets = [table_of(t) for t in dropped(node)]
    if not targets:
        raise Unreadable("DROP without a name")
    if kind == "TABLE":
        return [Change("drop_table", name, name, schema) for name, schema in targets]
    if kind == "TYPE":
        return [Change("drop_enum", None, name, schema) for name, schema in targets]
    if kind != "INDEX":
        raise Unreadable(f"DROP {kind}")
    on = child(node, "cluster")
    owner = table_of(child(on, "this")) if on is not None and on.key == "onproperty" else None
    table, table_schema = owner if owner is not None else (None, None)
    return [Change("drop_index", table, name, schema or table_schema) for name, schema in targets]


def _comment(node: Node) -> list[Change]:
    """COMMENT ON TABLE (create_table_comment) and ON COLUMN (alter_column)."""
    kind = string_arg(node, "kind").upper()
    target = child(node, "this")
    if kind == "TABLE":
        table, schema = table_of(target)
        return [Change("create_table_comment", table, table, schema)]
    if kind != "COLUMN":
        raise Unreadable(f"COMMENT ON {kind}")
    table, schema = name_of(child(target, "table")), optional_name(child(target, "db"))
    text = child(node, "expression")
    detail = (("comment", text.name if text is not None else ""),)
    return [Change("alter_column", table, name_of(target), schema, (), detail)]


_STATEMENTS: dict[str, Callable[[Node], list[Change]]] = {
    "create": _create,
    "drop": _drop,
    "alter": alter_table,
    "altertable": alter_table,  # sqlglot < 26
    "comment": _comment,
}
