"""What a table definition creates besides the table.

``op.create_table(name, sa.Column(...), sa.UniqueConstraint(...), ...)`` and
``op.add_column(table, sa.Column(...))``: each column, and what comes with it
(an ``index=True`` index, a ``ForeignKey``, a named enum type), and the
inline constraints and indexes of the table.
"""

from __future__ import annotations

import libcst as cst

from mergeguard.model import Operation
from mergeguard.parse.op_args import (
    NotLiteral,
    OpCall,
    code_of,
    column_names,
    dotted,
    literal,
    literal_flag,
    make_operation,
    optional_text,
    text_value,
)


def column(
    call: OpCall, node: cst.BaseExpression, table: str, schema: str | None, module: cst.Module
) -> tuple[str, tuple[Operation, ...]]:
    """The name of a ``sa.Column(...)`` and what it creates besides itself
    (an ``index=True`` index, named enum types, foreign keys)."""
    if not isinstance(node, cst.Call) or not (dotted(node.func) or "").endswith("Column"):
        raise NotLiteral("a sa.Column(...) was expected")
    positional = [a.value for a in node.args if a.keyword is None]
    keywords = {a.keyword.value: a.value for a in node.args if a.keyword is not None}
    name = text_value(keywords.get("name", positional[0] if positional else None))
    extra: list[Operation] = []
    type_node = keywords.get("type_")
    for value in positional[1:]:
        callee = dotted(value.func) if isinstance(value, cst.Call) else None
        if callee and callee.endswith("ForeignKey"):
            target = text_value(value.args[0].value) if value.args else ""  # type: ignore[attr-defined]
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
    if literal_flag(keywords.get("index")):
        extra.append(
            make_operation(
                call, "create_index", table, f"ix_{table}_{name}", schema=schema, columns=(name,)
            )
        )
    extra.extend(enums(call, type_node, schema))
    detail = {"type": code_of(module, type_node)} if type_node is not None else {}
    if "nullable" in keywords:
        detail["nullable"] = str(literal(keywords["nullable"]))
    return name, (
        make_operation(call, "add_column", table, name, schema=schema, detail=detail),
        *extra,
    )


def enums(call: OpCall, node: cst.BaseExpression | None, schema: str | None) -> list[Operation]:
    """Named enum types a column type creates (a schema object on PostgreSQL)."""
    found: list[Operation] = []
    if not isinstance(node, cst.Call):
        return found
    callee = dotted(node.func) or ""
    keywords = {a.keyword.value: a.value for a in node.args if a.keyword is not None}
    if callee.rpartition(".")[2] in ("Enum", "ENUM") and "name" in keywords:
        if keywords.get("create_type") is None or literal(keywords["create_type"]) is not False:
            found.append(
                make_operation(
                    call,
                    "create_enum",
                    None,
                    text_value(keywords["name"]),
                    schema=optional_text(keywords.get("schema")) or schema,
                )
            )
    for arg in node.args:  # e.g. sa.ARRAY(sa.Enum(...))
        found.extend(enums(call, arg.value, schema))
    return found


_CONSTRAINTS = {
    "UniqueConstraint": "create_unique_constraint",
    "PrimaryKeyConstraint": "create_primary_key",
    "CheckConstraint": "create_check_constraint",
    "ForeignKeyConstraint": "create_foreign_key",
    "Index": "create_index",
}


def table_item(
    call: OpCall, node: cst.BaseExpression, callee: str, table: str, schema: str | None
) -> list[Operation]:
    """An inline constraint or index of ``create_table``."""
    kind = _CONSTRAINTS.get(callee.rpartition(".")[2])
    if kind is None or not isinstance(node, cst.Call):
        raise NotLiteral(f"{callee or 'an expression'} in create_table")
    positional = [a.value for a in node.args if a.keyword is None]
    keywords = {a.keyword.value: a.value for a in node.args if a.keyword is not None}
    if kind == "create_index":
        name: str | None = text_value(positional[0]) if positional else None
        columns = tuple(c for p in positional[1:] for c in column_names(p))
        return [make_operation(call, kind, table, name, schema=schema, columns=columns)]
    name = optional_text(keywords.get("name"))
    if kind == "create_check_constraint":
        return [make_operation(call, kind, table, name, schema=schema)] if name else []
    if kind == "create_foreign_key":
        local = column_names(positional[0]) if positional else ()
        remote = column_names(positional[1]) if len(positional) > 1 else ()
        referent = remote[0].rpartition(".")[0] if remote else ""
        return [
            make_operation(
                call, kind, table, name, schema=schema, columns=local, detail={"referent": referent}
            )
        ]
    columns = tuple(c for p in positional for c in column_names(p))
    return [make_operation(call, kind, table, name, schema=schema, columns=columns)] if name else []
