"""Reading one ``op.<method>(...)`` call into Operations, method by method.

Parameter names follow Alembic's signatures (``op.create_index(index_name,
table_name, columns, ...)``); a ``batch_alter_table`` alias drops the table
argument.  Every value read must be literal (``literal`` raises NotLiteral
otherwise, and the call becomes an opaque operation).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

import libcst as cst

from mergeguard.model import Operation
from mergeguard.parse.operations import (
    NotLiteral,
    OpCall,
    dotted,
    literal,
    optional_text,
    text_value,
)

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

Reader = Callable[[OpCall, dict[str, cst.BaseExpression], cst.Module], tuple[Operation, ...]]


def operations_of(call: OpCall, batch: bool, module: cst.Module) -> tuple[Operation, ...]:
    """The operations one call performs; raises NotLiteral / KeyError."""
    if call.method not in SIGNATURES:
        return (
            _op(
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
        args["table_name"] = cst.SimpleString(repr(call.table))
    found = READERS[call.method](call, args, module)
    if found and literal_flag(args.get("if_not_exists")):
        found = (guarded(found[0]), *found[1:])
    return found


def guarded(operation: Operation) -> Operation:
    """A creation that does nothing when its object exists (``if_not_exists=True``,
    ``IF NOT EXISTS``): it cannot fail as a duplicate."""
    detail = dict(operation.detail) | {"if_not_exists": "True"}
    return replace(operation, detail=tuple(sorted(detail.items())))


def _op(
    call: OpCall,
    kind: str,
    table: str | None,
    name: str | None,
    *,
    schema: str | None = None,
    columns: tuple[str, ...] = (),
    detail: dict[str, str] | None = None,
    opaque: bool = False,
    reason: str = "",
) -> Operation:
    return Operation(
        kind,
        table,
        name,
        schema if schema is not None else call.schema,
        call.span,
        opaque,
        columns,
        tuple(sorted((detail or {}).items())),
        reason,
    )


def _schema(args: dict[str, cst.BaseExpression], key: str = "schema") -> str | None:
    return optional_text(args.get(key))


def _names(node: cst.BaseExpression | None) -> tuple[str, ...]:
    value = literal(node)
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(v for v in value if isinstance(v, str))
    raise NotLiteral("a list of column names was expected")


def _code(module: cst.Module, node: cst.BaseExpression | None) -> str:
    return re.sub(r"\s+", " ", module.code_for_node(node)).strip() if node is not None else ""


# -- columns (sa.Column(...)) ------------------------------------------------------


def _column(
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
                _op(
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
            _op(call, "create_index", table, f"ix_{table}_{name}", schema=schema, columns=(name,))
        )
    extra.extend(_enums(call, type_node, schema))
    detail = {"type": _code(module, type_node)} if type_node is not None else {}
    if "nullable" in keywords:
        detail["nullable"] = str(literal(keywords["nullable"]))
    return name, (_op(call, "add_column", table, name, schema=schema, detail=detail), *extra)


def literal_flag(node: cst.BaseExpression | None) -> bool:
    return node is not None and literal(node) is True


def _enums(call: OpCall, node: cst.BaseExpression | None, schema: str | None) -> list[Operation]:
    """Named enum types a column type creates (a schema object on PostgreSQL)."""
    found: list[Operation] = []
    if not isinstance(node, cst.Call):
        return found
    callee = dotted(node.func) or ""
    keywords = {a.keyword.value: a.value for a in node.args if a.keyword is not None}
    if callee.rpartition(".")[2] in ("Enum", "ENUM") and "name" in keywords:
        if keywords.get("create_type") is None or literal(keywords["create_type"]) is not False:
            found.append(
                _op(
                    call,
                    "create_enum",
                    None,
                    text_value(keywords["name"]),
                    schema=optional_text(keywords.get("schema")) or schema,
                )
            )
    for arg in node.args:  # e.g. sa.ARRAY(sa.Enum(...))
        found.extend(_enums(call, arg.value, schema))
    return found


# -- the readers -------------------------------------------------------------------


def _add_column(
    call: OpCall, args: dict[str, cst.BaseExpression], module: cst.Module
) -> tuple[Operation, ...]:
    table = text_value(args["table_name"])
    return _column(call, args["column"], table, _schema(args) or call.schema, module)[1]


def _drop_column(
    call: OpCall, args: dict[str, cst.BaseExpression], module: cst.Module
) -> tuple[Operation, ...]:
    return (
        _op(
            call,
            "drop_column",
            text_value(args["table_name"]),
            text_value(args["column_name"]),
            schema=_schema(args),
        ),
    )


def _alter_column(
    call: OpCall, args: dict[str, cst.BaseExpression], module: cst.Module
) -> tuple[Operation, ...]:
    detail: dict[str, str] = {}
    if "new_column_name" in args:
        detail["new_column_name"] = text_value(args["new_column_name"])
    if "type_" in args:
        detail["type"] = _code(module, args["type_"])
    if "nullable" in args:
        detail["nullable"] = str(literal(args["nullable"]))
    if "server_default" in args:
        detail["server_default"] = _code(module, args["server_default"])
    operation = _op(
        call,
        "alter_column",
        text_value(args["table_name"]),
        text_value(args["column_name"]),
        schema=_schema(args),
        detail=detail,
    )
    return (operation, *_enums(call, args.get("type_"), _schema(args) or call.schema))


def _create_table(
    call: OpCall, args: dict[str, cst.BaseExpression], module: cst.Module
) -> tuple[Operation, ...]:
    table, schema = text_value(args["table_name"]), _schema(args) or call.schema
    columns: list[str] = []
    extra: list[Operation] = []
    for key in sorted((k for k in args if k.startswith("*")), key=lambda k: int(k[1:])):
        node = args[key]
        callee = (dotted(node.func) if isinstance(node, cst.Call) else None) or ""
        if callee.endswith("Column"):
            name, operations = _column(call, node, table, schema, module)
            columns.append(name)
            extra.extend(operations[1:])
        else:
            extra.extend(_table_item(call, node, callee, table, schema))
    created = _op(call, "create_table", table, table, schema=schema, columns=tuple(columns))
    return (created, *extra)


_CONSTRAINTS = {
    "UniqueConstraint": "create_unique_constraint",
    "PrimaryKeyConstraint": "create_primary_key",
    "CheckConstraint": "create_check_constraint",
    "ForeignKeyConstraint": "create_foreign_key",
    "Index": "create_index",
}


def _table_item(
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
        columns = tuple(c for p in positional[1:] for c in _names(p))
        return [_op(call, kind, table, name, schema=schema, columns=columns)]
    name = optional_text(keywords.get("name"))
    if kind == "create_check_constraint":
        return [_op(call, kind, table, name, schema=schema)] if name else []
    if kind == "create_foreign_key":
        local = _names(positional[0]) if positional else ()
        remote = _names(positional[1]) if len(positional) > 1 else ()
        referent = remote[0].rpartition(".")[0] if remote else ""
        return [
            _op(
                call, kind, table, name, schema=schema, columns=local, detail={"referent": referent}
            )
        ]
    columns = tuple(c for p in positional for c in _names(p))
    return [_op(call, kind, table, name, schema=schema, columns=columns)] if name else []


def _drop_table(
    call: OpCall, args: dict[str, cst.BaseExpression], module: cst.Module
) -> tuple[Operation, ...]:
    table = text_value(args["table_name"])
    return (_op(call, "drop_table", table, table, schema=_schema(args)),)


def _rename_table(
    call: OpCall, args: dict[str, cst.BaseExpression], module: cst.Module
) -> tuple[Operation, ...]:
    return (
        _op(
            call,
            "rename_table",
            text_value(args["old_table_name"]),
            text_value(args["new_table_name"]),
            schema=_schema(args),
        ),
    )


def _create_index(
    call: OpCall, args: dict[str, cst.BaseExpression], module: cst.Module
) -> tuple[Operation, ...]:
    detail = {"unique": "True"} if literal_flag(args.get("unique")) else {}
    columns = tuple(c for c in _index_columns(args["columns"]))
    return (
        _op(
            call,
            "create_index",
            text_value(args["table_name"]),
            text_value(args["index_name"]),
            schema=_schema(args),
            columns=columns,
            detail=detail,
        ),
    )


def _index_columns(node: cst.BaseExpression) -> list[str]:
    """Index columns; expressions (``sa.text('lower(email)')``) count by their text."""
    if isinstance(node, (cst.List, cst.Tuple)):
        return [str(literal(e.value)) for e in node.elements]
    return [str(literal(node))]


def _drop_index(
    call: OpCall, args: dict[str, cst.BaseExpression], module: cst.Module
) -> tuple[Operation, ...]:
    return (
        _op(
            call,
            "drop_index",
            optional_text(args.get("table_name")),
            text_value(args["index_name"]),
            schema=_schema(args),
        ),
    )


def _named_constraint(kind: str) -> Reader:
    def read(
        call: OpCall, args: dict[str, cst.BaseExpression], module: cst.Module
    ) -> tuple[Operation, ...]:
        columns = _names(args["columns"]) if "columns" in args else ()
        return (
            _op(
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
    call: OpCall, args: dict[str, cst.BaseExpression], module: cst.Module
) -> tuple[Operation, ...]:
    source = text_value(args["source_table"] if "source_table" in args else args["table_name"])
    return (
        _op(
            call,
            "create_foreign_key",
            source,
            optional_text(args["constraint_name"]),
            schema=_schema(args, "source_schema"),
            columns=_names(args["local_cols"]),
            detail={"referent": text_value(args["referent_table"])},
        ),
    )


def _drop_constraint(
    call: OpCall, args: dict[str, cst.BaseExpression], module: cst.Module
) -> tuple[Operation, ...]:
    detail = {"type": str(literal(args["type_"]))} if "type_" in args else {}
    return (
        _op(
            call,
            "drop_constraint",
            text_value(args["table_name"]),
            text_value(args["constraint_name"]),
            schema=_schema(args),
            detail=detail,
        ),
    )


def _table_comment(kind: str) -> Reader:
    def read(
        call: OpCall, args: dict[str, cst.BaseExpression], module: cst.Module
    ) -> tuple[Operation, ...]:
        table = text_value(args["table_name"])
        return (_op(call, kind, table, table, schema=_schema(args)),)

    return read


def _execute(
    call: OpCall, args: dict[str, cst.BaseExpression], module: cst.Module
) -> tuple[Operation, ...]:
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
