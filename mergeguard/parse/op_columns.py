"""What a table definition creates besides the table.

``op.create_table(name, sa.Column(...), sa.UniqueConstraint(...), ...)`` and
``op.add_column(table, sa.Column(...))``: each column, and what comes with it
(an ``index=True`` index, a ``ForeignKey``, a named enum type), and the
inline constraints and indexes of the table.
"""

from __future__ import annotations

import ast

from mergeguard.model import Operation
from mergeguard.parse.op_args import (
    NotLiteral,
    OpCall,
    Source,
    call_args,
    code_of,
    column_names,
    dotted,
    keywords,
    literal,
    literal_flag,
    make_operation,
    optional_text,
    positional,
    text_value,
)


def column(
    call: OpCall, node: ast.expr, table: str, schema: str | None, source: Source
) -> tuple[str, tuple[Operation, ...]]:
    """The name of a ``sa.Column(...)`` and what it creates besides itself
    (an ``index=True`` index, named enum types, foreign keys)."""
    if not isinstance(node, ast.Call) or not (dotted(node.func) or "").endswith("Column"):
        raise NotLiteral("a sa.Column(...) was expected")
    given = positional(node)
    named = keywords(node)
    name = text_value(named.get("name", given[0] if given else None))
    extra: list[Operation] = []
    type_node = named.get("type_")
    for value in given[1:]:
        callee = dotted(value.func) if isinstance(value, ast.Call) else None
        if callee and callee.endswith("ForeignKey"):
            assert isinstance(value, ast.Call)
            first = call_args(value)
            target = text_value(first[0][2]) if first else ""
            extra.append(
                make_operation(
                    call,
                    "create_foreign_key",
                    table,
                    None,
                    schema=schema,
                    columns=(name,),
                    detail={"referent": target.rpartition(".")[0]},
                )
            )
        elif type_node is None:
            type_node = value
    if literal_flag(named.get("index")):
        extra.append(
            make_operation(
                call, "create_index", table, f"ix_{table}_{name}", schema=schema, columns=(name,)
            )
        )
    extra.extend(enums(call, type_node, schema))
    detail = {"type": code_of(source, type_node, node)} if type_node is not None else {}
    if "nullable" in named:
        detail["nullable"] = str(literal(named["nullable"]))
    return name, (
        make_operation(call, "add_column", table, name, schema=schema, detail=detail),
        *extra,
    )


def enums(call: OpCall, node: ast.expr | None, schema: str | None) -> list[Operation]:
    """Named enum types a column type creates (a schema object on PostgreSQL)."""
    found: list[Operation] = []
    if not isinstance(node, ast.Call):
        return found
    callee = dotted(node.func) or ""
    named = keywords(node)
    if callee.rpartition(".")[2] in ("Enum", "ENUM") and "name" in named:
        if named.get("create_type") is None or literal(named["create_type"]) is not False:
            found.append(
                make_operation(
                    call,
                    "create_enum",
                    None,
                    text_value(named["name"]),
                    schema=optional_text(named.get("schema")) or schema,
                )
            )
    for _, _, value, _ in call_args(node):  # e.g. sa.ARRAY(sa.Enum(...))
        found.extend(enums(call, value, schema))
    return found


_CONSTRAINTS = {
    "UniqueConstraint": "create_unique_constraint",
    "PrimaryKeyConstraint": "create_primary_key",
    "CheckConstraint": "create_check_constraint",
    "ForeignKeyConstraint": "create_foreign_key",
    "Index": "create_index",
}


def table_item(
    call: OpCall, node: ast.expr, callee: str, table: str, schema: str | None
) -> list[Operation]:
    """An inline constraint or index of ``create_table``."""
    kind = _CONSTRAINTS.get(callee.rpartition(".")[2])
    if kind is None or not isinstance(node, ast.Call):
        raise NotLiteral(f"{callee or 'an expression'} in create_table")
    given = positional(node)
    named = keywords(node)
    if kind == "create_index":
        name: str | None = text_value(given[0]) if given else None
        columns = tuple(c for p in given[1:] for c in column_names(p))
        return [make_operation(call, kind, table, name, schema=schema, columns=columns)]
    name = optional_text(named.get("name"))
    if kind == "create_check_constraint":
        return [make_operation(call, kind, table, name, schema=schema)] if name else []
    if kind == "create_foreign_key":
        local = column_names(given[0]) if given else ()
        remote = column_names(given[1]) if len(given) > 1 else ()
        referent = remote[0].rpartition(".")[0] if remote else ""
        return [
            make_operation(
                call, kind, table, name, schema=schema, columns=local, detail={"referent": referent}
            )
        ]
    columns = tuple(c for p in given for c in column_names(p))
    return [make_operation(call, kind, table, name, schema=schema, columns=columns)] if name else []
