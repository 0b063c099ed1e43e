"""ALTER TABLE read into changes, action by action (``sqlops``'s statements)."""

from __future__ import annotations

from collections.abc import Callable

from mergeguard.parse.sql_tree import (
    Change,
    Detail,
    Node,
    Unreadable,
    child,
    children,
    column_constraints,
    column_type,
    constraint_change,
    dropped,
    if_not_exists,
    name_of,
    nullability,
    optional_name,
    string_arg,
    table_of,
)

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


def alter_table(node: Node) -> list[Change]:
    """ALTER TABLE: the changes of each of its actions, in order."""
    if node.key == "alter" and string_arg(node, "kind").upper() != "TABLE":
        raise Unreadable(f"ALTER {string_arg(node, 'kind')}")
    table, schema = table_of(child(node, "this"))
    actions = children(node, "actions")
    if not actions:
        raise Unreadable("ALTER TABLE without an action")
    return [change for action in actions for change in _action(action, table, schema)]


def _action(action: Node, table: str, schema: str | None) -> list[Change]:
    """The changes one ALTER TABLE action makes; raises Unreadable when unmapped."""
    reader = _ACTIONS.get(action.key)
    if reader is None:
        raise Unreadable(action.key)
    return reader(action, table, schema)


def _add_column(column: Node, table: str, schema: str | None) -> list[Change]:
    """ADD [COLUMN]: add_column (type, nullable) plus its constraints."""
    detail = column_type(column) + nullability(column)
    added = Change("add_column", table, name_of(column), schema, (), detail)
    return if_not_exists(column, [added, *column_constraints(column, table, schema)])


def _drop_action(action: Node, table: str, schema: str | None) -> list[Change]:
    """DROP COLUMN / CONSTRAINT / FOREIGN KEY / CHECK / INDEX inside ALTER TABLE."""
    kind = string_arg(action, "kind").upper()
    if kind not in _DROPPED:
        raise Unreadable(f"DROP {kind}")
    op, constraint_type = _DROPPED[kind]
    detail = (("type", constraint_type),) if constraint_type else ()
    names = [name_of(t) for t in dropped(action)]
    if not names:
        raise Unreadable("DROP without a name")
    return [Change(op, table, name, schema, (), detail) for name in names]


def _drop_primary_key(action: Node, table: str, schema: str | None) -> list[Change]:
    """MySQL's DROP PRIMARY KEY: an unnamed drop_constraint of type primary."""
    return [Change("drop_constraint", table, None, schema, (), (("type", "primary"),))]


def _rename_column(action: Node, table: str, schema: str | None) -> list[Change]:
    """RENAME COLUMN a TO b: alter_column a with new_column_name b."""
    detail = (("new_column_name", name_of(child(action, "to"))),)
    return [Change("alter_column", table, name_of(child(action, "this")), schema, (), detail)]


def _alter_column(action: Node, table: str, schema: str | None) -> list[Change]:
    """ALTER [COLUMN] c TYPE / SET|DROP NOT NULL / SET|DROP DEFAULT: alter_column."""
    unknown = [k for k, v in action.args.items() if k not in _ALTER_KEYS and _given(v)]
    detail = _column_changes(action)
    if unknown or not detail:
        raise Unreadable(f"ALTER COLUMN ... {' '.join(unknown)}")
    return [Change("alter_column", table, name_of(child(action, "this")), schema, (), detail)]


def _given(value: object) -> bool:
    """True for an argument sqlglot set (it leaves None or False otherwise)."""
    return value is not None and value is not False


def _column_changes(action: Node) -> Detail:
    """The detail of one ALTER COLUMN: type, nullable, server_default ("None"
    for DROP DEFAULT), comment, new_column_name."""
    allow_null = action.args.get("allow_null")
    dtype, default = child(action, "dtype"), child(action, "default")
    comment, rename = child(action, "comment"), child(action, "rename_to")
    detail: Detail = (("type", dtype.sql()),) if dtype is not None else ()
    if allow_null is not None:  # DROP NOT NULL also sets drop=True
        detail += (("nullable", str(bool(allow_null))),)
    if default is not None:
        detail += (("server_default", default.sql()),)
    elif _given(action.args.get("drop")) and allow_null is None:
        detail += (("server_default", "None"),)
    if comment is not None:
        detail += (("comment", comment.name),)
    return detail + ((("new_column_name", name_of(rename)),) if rename is not None else ())


def _modify_column(action: Node, table: str, schema: str | None) -> list[Change]:
    """MySQL's MODIFY c <definition> / CHANGE old new <definition>: alter_column."""
    column = child(action, "this")
    if column is None:
        raise Unreadable("MODIFY without a column definition")
    new = name_of(column)
    old = optional_name(child(action, "rename_from")) or new
    renamed: Detail = (("new_column_name", new),) if old != new else ()
    detail = renamed + column_type(column) + nullability(column)
    return [Change("alter_column", table, old, schema, (), detail)]


def _rename_table(action: Node, table: str, schema: str | None) -> list[Change]:
    """RENAME TO u: rename_table (name is the new table name)."""
    return [Change("rename_table", table, name_of(child(action, "this")), schema)]


def _add_constraint(action: Node, table: str, schema: str | None) -> list[Change]:
    """ADD [CONSTRAINT n] UNIQUE / FOREIGN KEY / CHECK / PRIMARY KEY, MySQL ADD INDEX."""
    return [constraint_change(item, table, schema) for item in children(action, "expressions")]


_ACTIONS: dict[str, Callable[[Node, str, str | None], list[Change]]] = {
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
