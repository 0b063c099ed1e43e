"""sqlglot's trees as ``sqlops`` reads them: access, and the pieces that both
CREATE TABLE and ALTER TABLE hold (columns, constraints).

Trees are read through the small ``Node`` protocol and dispatched on each
node's ``key`` (the lower-case class name), so no module here imports sqlglot
at load time, not even for typing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any, Protocol

from mergeguard.model import Operation, Span, frozen

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


Detail = tuple[tuple[str, str], ...]


class Node(Protocol):
    """The part of a sqlglot expression this module reads."""

    @property
    def key(self) -> str: ...

    @property
    def args(self) -> dict[str, Any]: ...

    @property
    def name(self) -> str: ...

    def sql(self) -> str: ...

    def walk(self) -> Iterator[Node]: ...


class Unreadable(Exception):
    """A statement (or part of one) that mergeguard does not map."""


@frozen
class Change:
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


def is_node(value: object) -> bool:
    """True when ``value`` is an expression (not a str, bool, list or None)."""
    return hasattr(value, "args") and hasattr(value, "key")


def child(node: Node | None, key: str) -> Node | None:
    """The child expression ``key`` of ``node`` (None when absent)."""
    value = node.args.get(key) if node is not None else None
    found: Node | None = value if is_node(value) else None
    return found


def children(node: Node | None, key: str) -> list[Node]:
    """The child expressions listed under ``key`` of ``node`` ([] when absent)."""
    values = node.args.get(key) if node is not None else None
    found: list[Node] = [v for v in values if is_node(v)] if isinstance(values, list) else []
    return found


def string_arg(node: Node, key: str) -> str:
    """The plain string argument ``key`` of ``node`` ("" when absent or not a string)."""
    value = node.args.get(key)
    return value if isinstance(value, str) else ""


def name_of(node: Node | None) -> str:
    """The identifier ``node`` names, as written without quotes; raises when empty."""
    if node is None or not node.name:
        raise Unreadable("a name was expected")
    return node.name


def optional_name(node: Node | None) -> str | None:
    """The name of an optional identifier (None when there is none)."""
    return name_of(node) if node is not None else None


def table_of(node: Node | None) -> tuple[str, str | None]:
    """(name, schema) of a possibly schema-qualified table name."""
    return name_of(node), optional_name(child(node, "db"))


def element_name(node: Node) -> str:
    """An index or key element: its column name, or an expression's SQL text."""
    inner = child(node, "this")
    if node.key == "ordered" and inner is not None:
        return element_name(inner)
    return name_of(node) if node.key in ("identifier", "column") else node.sql()


def dropped(node: Node) -> list[Node]:
    """The names a DROP lists (sqlglot < 26 kept a single one as ``this``)."""
    single = child(node, "this")
    return children(node, "tables") or ([single] if single is not None else [])


def if_not_exists(node: Node, changes: list[Change]) -> list[Change]:
    """``CREATE ... IF NOT EXISTS`` / ``ADD COLUMN IF NOT EXISTS``: the first
    change cannot fail as a duplicate (``if_not_exists`` in its detail)."""
    if not node.args.get("exists") or not changes:
        return changes
    first = changes[0]
    return [replace(first, detail=(*first.detail, ("if_not_exists", "True"))), *changes[1:]]


def constraint_change(item: Node, table: str, schema: str | None) -> Change:
    """A table-level constraint (``CONSTRAINT n ...`` or bare) or MySQL
    ``KEY``/``INDEX`` as the change creating it (name None when unnamed)."""
    if item.key == "constraint":
        bodies = [b for b in children(item, "expressions") if b.key in _CONSTRAINT_KINDS]
        if len(bodies) != 1:
            raise Unreadable("a constraint of an unknown kind")
        return replace(constraint_change(bodies[0], table, schema), name=name_of(item))
    kind = _CONSTRAINT_KINDS.get(item.key)
    if kind is None:
        raise Unreadable(item.key)
    detail = _referent(child(item, "reference")) if item.key == "foreignkey" else ()
    return Change(kind, table, _inline_name(item), schema, _key_columns(item), detail)


def _inline_name(item: Node) -> str | None:
    """The name MySQL writes inside the constraint: ``KEY ix (a)``, ``UNIQUE KEY uq (a)``."""
    inner = child(item, "this")
    if item.key == "indexcolumnconstraint":
        return optional_name(inner)
    if item.key == "uniquecolumnconstraint":
        return optional_name(child(inner, "this"))
    return None


def _key_columns(item: Node) -> tuple[str, ...]:
    """The columns a table-level constraint covers (() for CHECK)."""
    if item.key == "uniquecolumnconstraint":
        elements = children(child(item, "this"), "expressions")
    elif item.key == "checkcolumnconstraint":
        elements = []
    else:
        elements = children(item, "expressions")
    return tuple(element_name(e) for e in elements)


def _referent(reference: Node | None) -> Detail:
    """``referent`` (and ``referent_schema`` when qualified) of ``REFERENCES``."""
    target = child(reference, "this")
    if target is not None and target.key == "schema":
        target = child(target, "this")
    table, schema = table_of(target)
    return (("referent", table),) + ((("referent_schema", schema),) if schema else ())


def column_constraints(column: Node, table: str, schema: str | None) -> list[Change]:
    """What a column definition declares besides itself: each named constraint,
    and every foreign key (``REFERENCES``), named or not."""
    found: list[Change] = []
    for constraint in children(column, "constraints"):
        body = child(constraint, "kind")
        kind = _COLUMN_KINDS.get(body.key) if body is not None else None
        name = optional_name(child(constraint, "this"))
        if body is None or kind is None or (name is None and kind != "create_foreign_key"):
            continue
        detail = _referent(body) if kind == "create_foreign_key" else ()
        columns = () if kind == "create_check_constraint" else (name_of(column),)
        found.append(Change(kind, table, name, schema, columns, detail))
    return found


def nullability(column: Node) -> Detail:
    """``nullable`` when the definition says NOT NULL ("False") or NULL ("True")."""
    for constraint in children(column, "constraints"):
        body = child(constraint, "kind")
        if body is not None and body.key == "notnullcolumnconstraint":
            return (("nullable", str(bool(body.args.get("allow_null")))),)
    return ()


def column_type(column: Node) -> Detail:
    """``type`` of a column definition (generic SQL), when it has one."""
    kind = child(column, "kind")
    return (("type", kind.sql()),) if kind is not None else ()
