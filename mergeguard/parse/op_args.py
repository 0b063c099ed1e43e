"""The arguments of one ``op.<method>(...)`` call, read as literals.

Shared by the walk over ``upgrade()`` (``operations``), the per-method
readers (``opcalls``) and the table definitions they hold (``op_columns``):
a call's arguments bound to Alembic's parameter names, and the literal
values read from them.  Anything not literal raises NotLiteral, and the call
becomes an opaque operation.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import libcst as cst

from mergeguard.model import Operation, Span


class NotLiteral(Exception):
    """An argument whose value is only known at run time."""


@dataclass
class OpCall:
    """One call's arguments bound to parameter names (positional first)."""

    method: str
    node: cst.Call
    table: str | None  # from a batch alias
    schema: str | None
    span: Span
    why: str  # non-empty: recorded as opaque for this reason

    def args(self, names: Sequence[str]) -> dict[str, cst.BaseExpression]:
        bound: dict[str, cst.BaseExpression] = {}
        positional = [a for a in self.node.args if a.keyword is None and not a.star]
        for name, arg in zip(names, positional, strict=False):
            bound[name] = arg.value
        for index, arg in enumerate(positional[len(names) :]):
            bound[f"*{index}"] = arg.value
        for arg in self.node.args:
            if arg.keyword is not None:
                bound[arg.keyword.value] = arg.value
            elif arg.star:
                raise NotLiteral("*args")
        return bound


def dotted(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr.value}" if base else None
    return None


def text_value(node: cst.BaseExpression | None) -> str:
    """A literal string argument (``op.f('x')`` and ``sa.text('...')`` too)."""
    value = literal(node)
    if not isinstance(value, str):
        raise NotLiteral("a string was expected")
    return value


def optional_text(node: cst.BaseExpression | None) -> str | None:
    if node is None:
        return None
    value = literal(node)
    if value is not None and not isinstance(value, str):
        raise NotLiteral("a string or None was expected")
    return value


Literal = str | bool | None | list["Literal"]


def literal(node: cst.BaseExpression | None) -> Literal:
    """The value of a literal argument; raises NotLiteral for anything else."""
    if node is None:
        return None
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
        value = node.evaluated_value
        if isinstance(value, str):
            return value
        raise NotLiteral("a bytes or f-string value")
    if isinstance(node, cst.Name) and node.value in ("None", "True", "False"):
        return {"None": None, "True": True, "False": False}[node.value]
    if isinstance(node, (cst.List, cst.Tuple)):
        return [literal(e.value) for e in node.elements]
    if isinstance(node, cst.Call) and dotted(node.func) in (
        "op.f",
        "f",
        "sa.text",
        "text",
        "sqlalchemy.text",
    ):
        if len(node.args) == 1:
            return literal(node.args[0].value)
    raise NotLiteral(type(node).__name__)


def literal_flag(node: cst.BaseExpression | None) -> bool:
    return node is not None and literal(node) is True


def column_names(node: cst.BaseExpression | None) -> tuple[str, ...]:
    value = literal(node)
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(v for v in value if isinstance(v, str))
    raise NotLiteral("a list of column names was expected")


def code_of(module: cst.Module, node: cst.BaseExpression | None) -> str:
    return re.sub(r"\s+", " ", module.code_for_node(node)).strip() if node is not None else ""


def make_operation(
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
