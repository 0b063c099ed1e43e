"""The literal SQL of ``op.execute("...")`` read into Operations, with sqlglot.

Migrations often run DDL as text.  This module parses that text (generic SQL
first, then the PostgreSQL and MySQL dialects) and maps each schema statement
to the ``Operation`` values the equivalent ``op.*`` calls give.  Statements that
read or move data, or set up the session, change no schema and give nothing;
SQL that no dialect reads completely gives one opaque operation, never a guess.

sqlglot is imported on first use (it is heavy, and most migrations never
execute literal SQL).  Its trees are read through the small ``_Node`` protocol
and dispatched on each node's ``key`` (the lower-case class name), so this
module needs no sqlglot import at load time, not even for typing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any, Protocol

from mergeguard.model import Operation, Span

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
# Table-level constraint nodes (and MySQL's inline KEY / INDEX) -> the op creating them.
_CONSTRAINT_KINDS = {
    "uniquecolumnconstraint": "create_unique_constraint",
    "foreignkey": "create_foreign_key",
    "checkcolumnconstraint": "create_check_constraint",
    "primarykey": "create_primary_key",
    "indexcolumnconstraint": "create_index",
}
# Column-level constraint nodes -> the op creating them.
_COLUMN_KINDS = {
    "reference": "create_foreign_key",
    "uniquecolumnconstraint": "create_unique_constraint",
    "checkcolumnconstraint": "create_check_constraint",
    "primarykeycolumnconstraint": "create_primary_key",
}
# ALTER TABLE ... DROP <kind> name -> (op, drop_constraint type_).
_DROPPED = {
    "COLUMN": ("drop_column", ""),
    "CONSTRAINT": ("drop_constraint", ""),
    "FOREIGN KEY": ("drop_constraint", "foreignkey"),
    "CHECK": ("drop_constraint", "check"),
    "INDEX": ("drop_index", ""),
    "KEY": ("drop_index", ""),
}
# AlterColumn arguments read here, or only qualifying one (COLLATE / USING of a TYPE).
_ALTER_KEYS = frozenset(
    {
        "this",
        "exists",
        "dtype",
        "collate",
        "using",
        "default",
        "drop",
        "allow_null",
        "comment",
        "rename_to",
    }
)

Detail = tuple[tuple[str, str], ...]


class _Node(Protocol):
    """The part of a sqlglot expression this module reads."""

    @property
    def key(self) -> str: ...

    @property
    def args(self) -> dict[str, Any]: ...

    @property
    def name(self) -> str: ...

    def sql(self) -> str: ...

    def walk(self) -> Iterator[_Node]: ...


class _Unreadable(Exception):
    """A statement (or part of one) that mergeguard does not map."""


@dataclass(frozen=True, slots=True)
class _Change:
    """An Operation before it is placed at the ``op.execute`` call."""

    kind: str
    table: str | None
    name: str | None
    schema: str | None = None
    columns: tuple[str, ...] = ()
    detail: Detail = ()

    def operation(self, span: Span, function: str) -> Operation:
        """This change as an Operation at ``span`` in ``function`` (detail sorted)."""
        return Operation(
            self.kind,
            self.table,
            self.name,
            self.schema,
            span,
            columns=self.columns,
            detail=tuple(sorted(self.detail)),
            function=function,
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


def _read(sql: str, dialect: str | None) -> list[_Change] | None:
    """The changes of every statement of ``sql`` parsed as ``dialect``; None
    when the dialect cannot parse it or leaves any statement unmapped."""
    import sqlglot  # heavy: loaded only when a migration executes literal SQL

    try:
        with _quiet():
            statements: list[_Node | None] = list(sqlglot.parse(sql, read=dialect))
            return [
                change for node in statements if node is not None for change in _statement(node)
            ]
    except Exception:  # sqlglot's errors, and any tree shape not mapped here
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


# -- tree access -------------------------------------------------------------------


def _is_node(value: object) -> bool:
    """True when ``value`` is an expression (not a str, bool, list or None)."""
    return hasattr(value, "args") and hasattr(value, "key")


def _arg(node: _Node | None, key: str) -> _Node | None:
    """The child expression ``key`` of ``node`` (None when absent)."""
    value = node.args.get(key) if node is not None else None
    child: _Node | None = value if _is_node(value) else None
    return child


def _args(node: _Node | None, key: str) -> list[_Node]:
    """The child expressions listed under ``key`` of ``node`` ([] when absent)."""
    values = node.args.get(key) if node is not None else None
    children: list[_Node] = [v for v in values if _is_node(v)] if isinstance(values, list) else []
    return children


def _string(node: _Node, key: str) -> str:
    """The plain string argument ``key`` of ``node`` ("" when absent or not a string)."""
    value = node.args.get(key)
    return value if isinstance(value, str) else ""


def _name(node: _Node | None) -> str:
    """The identifier ``node`` names, as written without quotes; raises when empty."""
    if node is None or not node.name:
        raise _Unreadable("a name was expected")
    return node.name


def _label(node: _Node | None) -> str | None:
    """The name of an optional identifier (None when there is none)."""
    return _name(node) if node is not None else None


def _table(node: _Node | None) -> tuple[str, str | None]:
    """(name, schema) of a possibly schema-qualified table name."""
    return _name(node), _label(_arg(node, "db"))


def _column_name(node: _Node) -> str:
    """An index or key element: its column name, or an expression's SQL text."""
    inner = _arg(node, "this")
    if node.key == "ordered" and inner is not None:
        return _column_name(inner)
    return _name(node) if node.key in ("identifier", "column") else node.sql()


# -- statements --------------------------------------------------------------------


def _statement(node: _Node) -> list[_Change]:
    """The changes one parsed statement makes; raises _Unreadable when unmapped."""
    if node.key in _NOT_SCHEMA:
        return []
    if node.key == "command":  # a statement sqlglot kept as raw text
        if _string(node, "this").upper() in _NOT_SCHEMA_COMMANDS:
            return []
        raise _Unreadable(_string(node, "this"))
    if any(child.key == "command" for child in node.walk()):
        raise _Unreadable("part of the statement was left unparsed")
    reader = _STATEMENTS.get(node.key)
    if reader is None:
        raise _Unreadable(node.key)
    return reader(node)


def _create(node: _Node) -> list[_Change]:
    """CREATE TABLE (with a column list) and CREATE INDEX."""
    kind = _string(node, "kind").upper()
    target = _arg(node, "this")
    if kind == "TABLE" and target is not None and target.key == "schema":
        return _if_not_exists(node, _create_table(target))
    if kind == "INDEX":
        return _if_not_exists(node, [_create_index(target, bool(node.args.get("unique")))])
    if kind == "TYPE":
        return [_create_enum(node)]
    raise _Unreadable(f"CREATE {kind}")


def _if_not_exists(node: _Node, changes: list[_Change]) -> list[_Change]:
    """``CREATE ... IF NOT EXISTS`` / ``ADD COLUMN IF NOT EXISTS``: the first
    change cannot fail as a duplicate (``if_not_exists`` in its detail)."""
    if not node.args.get("exists") or not changes:
        return changes
    first = changes[0]
    return [replace(first, detail=(*first.detail, ("if_not_exists", "True"))), *changes[1:]]


def _create_table(definition: _Node) -> list[_Change]:
    """create_table with its columns, then the named inline constraints, the
    inline indexes and every foreign key."""
    table, schema = _table(_arg(definition, "this"))
    columns: list[str] = []
    extra: list[_Change] = []
    for item in _args(definition, "expressions"):
        if item.key == "columndef":
            columns.append(_name(item))
            extra += _column_constraints(item, table, schema)
        else:
            change = _constraint(item, table, schema)
            if change.name is not None or change.kind in ("create_foreign_key", "create_index"):
                extra.append(change)
    return [_Change("create_table", table, table, schema, tuple(columns)), *extra]


def _create_index(index: _Node | None, unique: bool) -> _Change:
    """create_index; expression elements count by their SQL text."""
    table, schema = _table(_arg(index, "table"))
    params = _arg(index, "params")  # sqlglot < 26 kept the columns on the index
    elements = _args(params if params is not None else index, "columns")
    detail = (("unique", "True"),) if unique else ()
    columns = tuple(_column_name(e) for e in elements)
    return _Change("create_index", table, _label(_arg(index, "this")), schema, columns, detail)


def _create_enum(node: _Node) -> _Change:
    """CREATE TYPE [schema.]name AS ENUM (...) (PostgreSQL): create_enum; raises
    for other types (composite, range ...)."""
    body = _arg(node, "expression")
    if body is None or body.key != "datatype" or _type_name(body) != "ENUM":
        raise _Unreadable("CREATE TYPE other than AS ENUM")
    name, schema = _table(_arg(node, "this"))
    return _Change("create_enum", None, name, schema)


def _type_name(datatype: _Node) -> str:
    """The name of a DataType's type member (``ENUM``, ``INT`` ...)."""
    return str(getattr(datatype.args.get("this"), "name", ""))


def _drop(node: _Node) -> list[_Change]:
    """DROP TABLE / DROP INDEX (MySQL's ``ON table`` kept) / DROP TYPE, one
    change per name."""
    kind = _string(node, "kind").upper()
    targets = [_table(t) for t in _dropped(node)]
    if not targets:
        raise _Unreadable("DROP without a name")
    if kind == "TABLE":
        return [_Change("drop_table", name, name, schema) for name, schema in targets]
    if kind == "TYPE":
        return [_Change("drop_enum", None, name, schema) for name, schema in targets]
    if kind != "INDEX":
        raise _Unreadable(f"DROP {kind}")
    on = _arg(node, "cluster")
    owner = _table(_arg(on, "this")) if on is not None and on.key == "onproperty" else None
    table, table_schema = owner if owner is not None else (None, None)
    return [_Change("drop_index", table, name, schema or table_schema) for name, schema in targets]


def _dropped(node: _Node) -> list[_Node]:
    """The names a DROP lists (sqlglot < 26 kept a single one as ``this``)."""
    single = _arg(node, "this")
    return _args(node, "tables") or ([single] if single is not None else [])


def _comment(node: _Node) -> list[_Change]:
    """COMMENT ON TABLE (create_table_comment) and ON COLUMN (alter_column)."""
    kind = _string(node, "kind").upper()
    target = _arg(node, "this")
    if kind == "TABLE":
        table, schema = _table(target)
        return [_Change("create_table_comment", table, table, schema)]
    if kind != "COLUMN":
        raise _Unreadable(f"COMMENT ON {kind}")
    table, schema = _name(_arg(target, "table")), _label(_arg(target, "db"))
    text = _arg(node, "expression")
    detail = (("comment", text.name if text is not None else ""),)
    return [_Change("alter_column", table, _name(target), schema, (), detail)]


def _alter(node: _Node) -> list[_Change]:
    """ALTER TABLE: the changes of each of its actions, in order."""
    if node.key == "alter" and _string(node, "kind").upper() != "TABLE":
        raise _Unreadable(f"ALTER {_string(node, 'kind')}")
    table, schema = _table(_arg(node, "this"))
    actions = _args(node, "actions")
    if not actions:
        raise _Unreadable("ALTER TABLE without an action")
    return [change for action in actions for change in _action(action, table, schema)]


_STATEMENTS: dict[str, Callable[[_Node], list[_Change]]] = {
    "create": _create,
    "drop": _drop,
    "alter": _alter,
    "altertable": _alter,  # sqlglot < 26
    "comment": _comment,
}


# -- constraints -------------------------------------------------------------------


def _constraint(item: _Node, table: str, schema: str | None) -> _Change:
    """A table-level constraint (``CONSTRAINT n ...`` or bare) or MySQL
    ``KEY``/``INDEX`` as the change creating it (name None when unnamed)."""
    if item.key == "constraint":
        bodies = [b for b in _args(item, "expressions") if b.key in _CONSTRAINT_KINDS]
        if len(bodies) != 1:
            raise _Unreadable("a constraint of an unknown kind")
        return replace(_constraint(bodies[0], table, schema), name=_name(item))
    kind = _CONSTRAINT_KINDS.get(item.key)
    if kind is None:
        raise _Unreadable(item.key)
    detail = _referent(_arg(item, "reference")) if item.key == "foreignkey" else ()
    return _Change(kind, table, _inline_name(item), schema, _key_columns(item), detail)


def _inline_name(item: _Node) -> str | None:
    """The name MySQL writes inside the constraint: ``KEY ix (a)``, ``UNIQUE KEY uq (a)``."""
    inner = _arg(item, "this")
    if item.key == "indexcolumnconstraint":
        return _label(inner)
    if item.key == "uniquecolumnconstraint":
        return _label(_arg(inner, "this"))
    return None


def _key_columns(item: _Node) -> tuple[str, ...]:
    """The columns a table-level constraint covers (() for CHECK)."""
    if item.key == "uniquecolumnconstraint":
        elements = _args(_arg(item, "this"), "expressions")
    elif item.key == "checkcolumnconstraint":
        elements = []
    else:
        elements = _args(item, "expressions")
    return tuple(_column_name(e) for e in elements)


def _referent(reference: _Node | None) -> Detail:
    """``referent`` (and ``referent_schema`` when qualified) of ``REFERENCES``."""
    target = _arg(reference, "this")
    if target is not None and target.key == "schema":
        target = _arg(target, "this")
    table, schema = _table(target)
    return (("referent", table),) + ((("referent_schema", schema),) if schema else ())


def _column_constraints(column: _Node, table: str, schema: str | None) -> list[_Change]:
    """What a column definition declares besides itself: each named constraint,
    and every foreign key (``REFERENCES``), named or not."""
    found: list[_Change] = []
    for constraint in _args(column, "constraints"):
        body = _arg(constraint, "kind")
        kind = _COLUMN_KINDS.get(body.key) if body is not None else None
        name = _label(_arg(constraint, "this"))
        if body is None or kind is None or (name is None and kind != "create_foreign_key"):
            continue
        detail = _referent(body) if kind == "create_foreign_key" else ()
        columns = () if kind == "create_check_constraint" else (_name(column),)
        found.append(_Change(kind, table, name, schema, columns, detail))
    return found


def _nullable(column: _Node) -> Detail:
    """``nullable`` when the definition says NOT NULL ("False") or NULL ("True")."""
    for constraint in _args(column, "constraints"):
        body = _arg(constraint, "kind")
        if body is not None and body.key == "notnullcolumnconstraint":
            return (("nullable", str(bool(body.args.get("allow_null")))),)
    return ()


def _column_type(column: _Node) -> Detail:
    """``type`` of a column definition (generic SQL), when it has one."""
    kind = _arg(column, "kind")
    return (("type", kind.sql()),) if kind is not None else ()


# -- ALTER TABLE actions -----------------------------------------------------------


def _action(action: _Node, table: str, schema: str | None) -> list[_Change]:
    """The changes one ALTER TABLE action makes; raises _Unreadable when unmapped."""
    reader = _ACTIONS.get(action.key)
    if reader is None:
        raise _Unreadable(action.key)
    return reader(action, table, schema)


def _add_column(column: _Node, table: str, schema: str | None) -> list[_Change]:
    """ADD [COLUMN]: add_column (type, nullable) plus its constraints."""
    detail = _column_type(column) + _nullable(column)
    added = _Change("add_column", table, _name(column), schema, (), detail)
    return _if_not_exists(column, [added, *_column_constraints(column, table, schema)])


def _drop_action(action: _Node, table: str, schema: str | None) -> list[_Change]:
    """DROP COLUMN / CONSTRAINT / FOREIGN KEY / CHECK / INDEX inside ALTER TABLE."""
    kind = _string(action, "kind").upper()
    if kind not in _DROPPED:
        raise _Unreadable(f"DROP {kind}")
    op, constraint_type = _DROPPED[kind]
    detail = (("type", constraint_type),) if constraint_type else ()
    names = [_name(t) for t in _dropped(action)]
    if not names:
        raise _Unreadable("DROP without a name")
    return [_Change(op, table, name, schema, (), detail) for name in names]


def _drop_primary_key(action: _Node, table: str, schema: str | None) -> list[_Change]:
    """MySQL's DROP PRIMARY KEY: an unnamed drop_constraint of type primary."""
    return [_Change("drop_constraint", table, None, schema, (), (("type", "primary"),))]


def _rename_column(action: _Node, table: str, schema: str | None) -> list[_Change]:
    """RENAME COLUMN a TO b: alter_column a with new_column_name b."""
    detail = (("new_column_name", _name(_arg(action, "to"))),)
    return [_Change("alter_column", table, _name(_arg(action, "this")), schema, (), detail)]


def _alter_column(action: _Node, table: str, schema: str | None) -> list[_Change]:
    """ALTER [COLUMN] c TYPE / SET|DROP NOT NULL / SET|DROP DEFAULT: alter_column."""
    unknown = [k for k, v in action.args.items() if k not in _ALTER_KEYS and _given(v)]
    detail = _column_changes(action)
    if unknown or not detail:
        raise _Unreadable(f"ALTER COLUMN ... {' '.join(unknown)}")
    return [_Change("alter_column", table, _name(_arg(action, "this")), schema, (), detail)]


def _given(value: object) -> bool:
    """True for an argument sqlglot set (it leaves None or False otherwise)."""
    return value is not None and value is not False


def _column_changes(action: _Node) -> Detail:
    """The detail of one ALTER COLUMN: type, nullable, server_default ("None"
    for DROP DEFAULT), comment, new_column_name."""
    allow_null = action.args.get("allow_null")
    dtype, default = _arg(action, "dtype"), _arg(action, "default")
    comment, rename = _arg(action, "comment"), _arg(action, "rename_to")
    detail: Detail = (("type", dtype.sql()),) if dtype is not None else ()
    if allow_null is not None:  # DROP NOT NULL also sets drop=True
        detail += (("nullable", str(bool(allow_null))),)
    if default is not None:
        detail += (("server_default", default.sql()),)
    elif _given(action.args.get("drop")) and allow_null is None:
        detail += (("server_default", "None"),)
    if comment is not None:
        detail += (("comment", comment.name),)
    return detail + ((("new_column_name", _name(rename)),) if rename is not None else ())


def _modify_column(action: _Node, table: str, schema: str | None) -> list[_Change]:
    """MySQL's MODIFY c <definition> / CHANGE old new <definition>: alter_column."""
    column = _arg(action, "this")
    if column is None:
        raise _Unreadable("MODIFY without a column definition")
    new = _name(column)
    old = _label(_arg(action, "rename_from")) or new
    renamed: Detail = (("new_column_name", new),) if old != new else ()
    detail = renamed + _column_type(column) + _nullable(column)
    return [_Change("alter_column", table, old, schema, (), detail)]


def _rename_table(action: _Node, table: str, schema: str | None) -> list[_Change]:
    """RENAME TO u: rename_table (name is the new table name)."""
    return [_Change("rename_table", table, _name(_arg(action, "this")), schema)]


def _add_constraint(action: _Node, table: str, schema: str | None) -> list[_Change]:
    """ADD [CONSTRAINT n] UNIQUE / FOREIGN KEY / CHECK / PRIMARY KEY, MySQL ADD INDEX."""
    return [_constraint(item, table, schema) for item in _args(action, "expressions")]


_ACTIONS: dict[str, Callable[[_Node, str, str | None], list[_Change]]] = {
    "columndef": _add_column,
    "drop": _drop_action,
    "dropprimarykey": _drop_primary_key,
    "renamecolumn": _rename_column,
    "altercolumn": _alter_column,
    "modifycolumn": _modify_column,
    "alterrename": _rename_table,
    "renametable": _rename_table,  # sqlglot < 26
    "addconstraint": _add_constraint,
}
