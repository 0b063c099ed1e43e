"""Reading one ``op.<method>(...)`` call into Operations, method by method.

Parameter names follow Alembic's signatures (``op.create_index(index_name,
table_name, columns, ...)``); a ``batch_alter_table`` alias drops the table
argument.  Every value read must be literal (``op_args.literal`` raises
NotLiteral otherwise, and the call becomes an opaque operation); the columns
and inline constraints of a table definition are read in ``op_columns``.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import replace

from mergeguard.model import Operation
from mergeguard.parse.op_args import (
    OpCall,
    Source,
    code_of,
    column_names,
    dotted,
    literal,
    literal_flag,
    make_operation,
    optional_text,
    text_value,
)
from mergeguard.parse.op_columns import column, enums, table_item

# (parameters with op.*, parameters on a batch alias)
SIGNATURES: dict[str, tuple[list[str], list[str]]] = {
    "add_column": (["table_name", "column"], ["column"]),
    "drop_column": (["table_name", "column_name"], ["column_name"]),
    "alter_column": (["table_name", "column_name"], ["column_name"]),
    "create_table": (["table_name"], ["table_name"]),
    "drop_table": (["table_name"], ["table_name"]),
    "rename_table": (["old_table_name", "new_table_name"], ["old_table_name", "new_table_name"]),
    "create_index": (["index_name", "table_name", "columns"], ["index_name", "columns"]),
    "drop_index": (["index_name", "table_name"], ["index_name"]),
    "create_unique_constraint": (
        ["constraint_name", "table_name", "columns"],
        ["constraint_name", "columns"],
    ),
    "create_foreign_key": (
        ["constraint_name", "source_table", "referent_table", "local_cols", "remote_cols"],
        ["constraint_name", "referent_table", "local_cols", "remote_cols"],
    ),
    "create_check_constraint": (
        ["constraint_name", "table_name", "condition"],
        ["constraint_name", "condition"],
    ),
    "create_primary_key": (
        ["constraint_name", "table_name", "columns"],
        ["constraint_name", "columns"],
    ),
    "drop_constraint": (["constraint_name", "table_name"], ["constraint_name"]),
    "create_table_comment": (["table_name", "comment"], ["comment"]),
    "drop_table_comment": (["table_name"], []),
    "execute": (["sqltext"], ["sqltext"]),
}
# keyword spellings of older Alembic releases
_ALIASES = {
    "name": "constraint_name",
    "source": "source_table",
    "referent": "referent_table",
    "tablename": "table_name",
    "table": "table_name",
    "sql": "sqltext",
}

Reader = Callable[[OpCall, dict[str, ast.expr], Source], tuple[Operation, ...]]


def operations_of(call: OpCall, batch: bool, source: Source) -> tuple[Operation, ...]:
    """The operations one call performs; raises NotLiteral / KeyError."""
    if call.method not in SIGNATURES:
        return (
            make_operation(
                call,
                "opaque",
                call.table,
                None,
                opaque=True,
                reason=f"op.{call.method}() is not analysed by mergeguard",
            ),
        )
    names = SIGNATURES[call.method][1 if batch else 0]
    args = {_ALIASES.get(k, k): v for k, v in call.args(names).items()}
    if batch and "table_name" not in args and call.table is not None:
        args["table_name"] = ast.Constant(call.table)
    found = READERS[call.method](call, args, source)
    if found and literal_flag(args.get("if_not_exists")):
        found = (guarded(found[0]), *found[1:])
    return found


def guarded(operation: Operation) -> Operation:
    """A creation that does nothing when its object exists (``if_not_exists=True``,
    ``IF NOT EXISTS``): it cannot fail as a duplicate."""
    detail = dict(operation.detail) | {"if_not_exists": "True"}
    return replace(operation, detail=tuple(sorted(detail.items())))


def _schema(args: dict[str, ast.expr], key: str = "schema") -> str | None:
    return optional_text(args.get(key))


# -- the readers -------------------------------------------------------------------


def _add_column(call: OpCall, args: dict[str, ast.expr], source: Source) -> tuple[Operation, ...]:
    table = text_value(args["table_name"])
    return column(call, args["column"], table, _schema(args) or call.schema, source)[1]


def _drop_column(call: OpCall, args: dict[str, ast.expr], source: Source) -> tuple[Operation, ...]:
    return (
        make_operation(
            call,
            "drop_column",
            text_value(args["table_name"]),
            text_value(args["column_name"]),
            schema=_schema(args),
        ),
    )


def _alter_column(call: OpCall, args: dict[str, ast.expr], source: Source) -> tuple[Operation, ...]:
    detail: dict[str, str] = {}
    if "new_column_name" in args:
        detail["new_column_name"] = text_value(args["new_column_name"])
    if "type_" in args:
        detail["type"] = code_of(source, args["type_"], call.node)
    if "nullable" in args:
        detail["nullable"] = str(literal(args["nullable"]))
    if "server_default" in args:
        detail["server_default"] = code_of(source, args["server_default"], call.node)
    operation = make_operation(
        call,
        "alter_column",
        text_value(args["table_name"]),
        text_value(args["column_name"]),
        schema=_schema(args),
        detail=detail,
    )
    return (operation, *enums(call, args.get("type_"), _schema(args) or call.schema))


def _create_table(call: OpCall, args: dict[str, ast.expr], source: Source) -> tuple[Operation, ...]:
    table, schema = text_value(args["table_name"]), _schema(args) or call.schema
    columns: list[str] = []
    extra: list[Operation] = []
    for key in sorted((k for k in args if k.startswith("*")), key=lambda k: int(k[1:])):
        node = args[key]
        callee = (dotted(node.func) if isinstance(node, ast.Call) else None) or ""
        if callee.endswith("Column"):
            name, operations = column(call, node, table, schema, source)
            columns.append(name)
            extra.extend(operations[1:])
        else:
            extra.extend(table_item(call, node, callee, table, schema))
    created = make_operation(
        call, "create_table", table, table, schema=schema, columns=tuple(columns)
    )
    return (created, *extra)


def _drop_table(call: OpCall, args: dict[str, ast.expr], source: Source) -> tuple[Operation, ...]:
    table = text_value(args["table_name"])
    return (make_operation(call, "drop_table", table, table, schema=_schema(args)),)


def _rename_table(call: OpCall, args: dict[str, ast.expr], source: Source) -> tuple[Operation, ...]:
    return (
        make_operation(
            call,
            "rename_table",
            text_value(args["old_table_name"]),
            text_value(args["new_table_name"]),
            schema=_schema(args),
        ),
    )


def _create_index(call: OpCall, args: dict[str, ast.expr], source: Source) -> tuple[Operation, ...]:
    detail = {"unique": "True"} if literal_flag(args.get("unique")) else {}
    columns = tuple(c for c in _index_columns(args["columns"]))
    return (
        make_operation(
            call,
            "create_index",
            text_value(args["table_name"]),
            text_value(args["index_name"]),
            schema=_schema(args),
            columns=columns,
            detail=detail,
        ),
    )


def _index_columns(node: ast.expr) -> list[str]:
    """Index columns; expressions (``sa.text('lower(email)')``) count by their text."""
    if isinstance(node, (ast.List, ast.Tuple)):
        return [str(literal(e.value if isinstance(e, ast.Starred) else e)) for e in node.elts]
    return [str(literal(node))]


def _drop_index(call: OpCall, args: dict[str, ast.expr], source: Source) -> tuple[Operation, ...]:
    return (
        make_operation(
            call,
            "drop_index",
            optional_text(args.get("table_name")),
            text_value(args["index_name"]),
            schema=_schema(args),
        ),
    )


def _named_constraint(kind: str) -> Reader:
    def read(call: OpCall, args: dict[str, ast.expr], source: Source) -> tuple[Operation, ...]:
        columns = column_names(args["columns"]) if "columns" in args else ()
        return (
            make_operation(
                call,
                kind,
                text_value(args["table_name"]),
                optional_text(args["constraint_name"]),
                schema=_schema(args),
                columns=columns,
            ),
        )

    return read


def _create_foreign_key(
    call: OpCall, args: dict[str, ast.expr], source: Source
) -> tuple[Operation, ...]:
    table = text_value(args["source_table"] if "source_table" in args else args["table_name"])
    return (
        make_operation(
            call,
            "create_foreign_key",
            table,
            optional_text(args["constraint_name"]),
            schema=_schema(args, "source_schema"),
            columns=column_names(args["local_cols"]),
            detail={"referent": text_value(args["referent_table"])},
        ),
    )


def _drop_constraint(
    call: OpCall, args: dict[str, ast.expr], source: Source
) -> tuple[Operation, ...]:
    detail = {"type": str(literal(args["type_"]))} if "type_" in args else {}
    return (
        make_operation(
            call,
            "drop_constraint",
            text_value(args["table_name"]),
            text_value(args["constraint_name"]),
            schema=_schema(args),
            detail=detail,
        ),
    )


def _table_comment(kind: str) -> Reader:
    def read(call: OpCall, args: dict[str, ast.expr], source: Source) -> tuple[Operation, ...]:
        table = text_value(args["table_name"])
        return (make_operation(call, kind, table, table, schema=_schema(args)),)

    return read


def _execute(call: OpCall, args: dict[str, ast.expr], source: Source) -> tuple[Operation, ...]:
    from mergeguard.parse.sqlops import sql_operations

    return sql_operations(text_value(args["sqltext"]), call.span)


READERS: dict[str, Reader] = {
    "add_column": _add_column,
    "drop_column": _drop_column,
    "alter_column": _alter_column,
    "create_table": _create_table,
    "drop_table": _drop_table,
    "rename_table": _rename_table,
    "create_index": _create_index,
    "drop_index": _drop_index,
    "create_unique_constraint": _named_constraint("create_unique_constraint"),
    "create_foreign_key": _create_foreign_key,
    "create_check_constraint": _named_constraint("create_check_constraint"),
    "create_primary_key": _named_constraint("create_primary_key"),
    "drop_constraint": _drop_constraint,
    "create_table_comment": _table_comment("create_table_comment"),
    "drop_table_comment": _table_comment("drop_table_comment"),
    "execute": _execute,
}
