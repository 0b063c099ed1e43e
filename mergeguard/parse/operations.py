"""What ``upgrade()`` / ``downgrade()`` do to the schema, read with libcst.

Each ``op.*`` call (and each call on a ``with op.batch_alter_table(...) as b:``
alias) becomes an ``Operation`` with its file position.  Only literal
arguments are read: a value computed at run time, a call inside a loop or a
conditional, and a call to a helper function are recorded as *opaque*
operations with the reason, never guessed.  Literal SQL in ``op.execute`` is
handed to ``sqlops`` (a real SQL parser).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from mergeguard.model import Operation, Span
from mergeguard.parse.bounds import TOO_DEEP, TOO_LARGE, check_size
from mergeguard.parse.header_cst import parse_module
from mergeguard.parse.op_args import NotLiteral, OpCall, dotted, optional_text, text_value
from mergeguard.parse.opcalls import operations_of
from mergeguard.parse.source import UnreadableSource, decode

# op methods that do not change the schema (or only move data)
_NOT_SCHEMA = frozenset(
    {
        "get_bind",
        "get_context",
        "f",
        "inline_literal",
        "bulk_insert",
        "invoke",
        "run_async",
        "impl",
        "migration_context",
    }
)
# plain calls that print or log, and change nothing
_HARMLESS = ("print", "logger.", "log.", "logging.", "LOG.", "warnings.warn")


@dataclass(frozen=True, slots=True)
class _Batch:
    """A ``batch_alter_table`` alias: the table its calls apply to."""

    table: str | None
    schema: str | None


def read_operations(data: bytes) -> tuple[Operation, ...]:
    """Every operation of ``upgrade*()`` and ``downgrade*()`` in source order
    (empty when the file cannot be parsed: MG001 reports that; one opaque
    operation when it is past the reader's limits)."""
    try:
        check_size(data)
        module = parse_module(decode(data))
    except UnreadableSource as exc:
        return _past_limits(exc.message, exc.span)
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    try:
        positions = wrapper.resolve(PositionProvider)
    except RecursionError:  # below the nesting limit, but deeper than the stack
        return _past_limits(TOO_DEEP, None)
    found: list[Operation] = []
    for statement in wrapper.module.body:
        if isinstance(statement, cst.FunctionDef):
            function = _direction(statement.name.value)
            if function:
                walker = _Walker(function, lambda n: _span(positions, n), wrapper.module)
                walker.block(statement.body, {}, "")
                found.extend(walker.found)
    return tuple(found)


def _past_limits(message: str, span: Span | None) -> tuple[Operation, ...]:
    """One opaque operation for a file past the reader's limits (``ast`` may
    read its header, so no MG001 says it): the schema rules then note that
    this branch has operations they could not read.  Nothing for a syntax
    error, which is MG001."""
    if not message.startswith((TOO_DEEP, TOO_LARGE)):
        return ()
    return (Operation("opaque", None, None, None, span or Span(1), True, reason=message),)


def _direction(name: str) -> str | None:
    """``upgrade`` / ``downgrade`` (also multi-database ``upgrade_engine1``)."""
    for direction in ("upgrade", "downgrade"):
        if name == direction or name.startswith(direction + "_"):
            return direction
    return None


def _span(positions: object, node: cst.CSTNode) -> Span:
    start = positions[node].start  # type: ignore[index]
    return Span(start.line, start.column + 1)


class _Walker:
    """Walks one function body, collecting operations."""

    def __init__(
        self, function: str, span: Callable[[cst.CSTNode], Span], module: cst.Module
    ) -> None:
        self.function = function
        self.span = span
        self.module = module
        self.found: list[Operation] = []

    def block(self, body: cst.BaseSuite, aliases: dict[str, _Batch], why: str) -> None:
        statements = (
            body.body if isinstance(body, (cst.IndentedBlock, cst.SimpleStatementSuite)) else ()
        )
        for statement in statements:
            self.statement(statement, aliases, why)

    def statement(self, node: cst.CSTNode, aliases: dict[str, _Batch], why: str) -> None:
        if isinstance(node, cst.SimpleStatementLine):
            for small in node.body:
                call = _called(small)
                if call is not None:
                    self.call(call, aliases, why)
        elif isinstance(node, cst.SimpleStatementSuite):
            for small in node.body:
                call = _called(small)
                if call is not None:
                    self.call(call, aliases, why)
        elif isinstance(node, cst.With):
            self.with_block(node, aliases, why)
        elif isinstance(node, (cst.For, cst.While)):
            self.nested(node, aliases, why or "inside a loop")
        elif isinstance(node, (cst.If, cst.Try)):
            self.nested(node, aliases, why or "inside a conditional")

    def nested(self, node: cst.CSTNode, aliases: dict[str, _Batch], why: str) -> None:
        suites: list[cst.BaseSuite] = [node.body]  # type: ignore[attr-defined]
        orelse = getattr(node, "orelse", None)
        while isinstance(orelse, cst.If):
            suites.append(orelse.body)
            orelse = orelse.orelse
        if orelse is not None:
            suites.append(orelse.body)
        suites += [h.body for h in getattr(node, "handlers", ())]
        final = getattr(node, "finalbody", None)
        if final is not None:
            suites.append(final.body)
        for suite in suites:
            self.block(suite, aliases, why)

    def with_block(self, node: cst.With, aliases: dict[str, _Batch], why: str) -> None:
        inner = dict(aliases)
        for item in node.items:
            call = item.item
            if isinstance(call, cst.Call) and dotted(call.func) == "op.batch_alter_table":
                batch = self.batch(call)
                if item.asname is not None and isinstance(item.asname.name, cst.Name):
                    inner[item.asname.name.value] = batch
        self.block(node.body, inner, why)

    def batch(self, call: cst.Call) -> _Batch:
        bound = OpCall("batch_alter_table", call, None, None, self.span(call), "")
        try:
            args = bound.args(["table_name"])
            return _Batch(text_value(args["table_name"]), optional_text(args.get("schema")))
        except (NotLiteral, KeyError):
            return _Batch(None, None)

    def call(self, node: cst.Call, aliases: dict[str, _Batch], why: str) -> None:
        callee = dotted(node.func) or ""
        owner, _, method = callee.rpartition(".")
        span = self.span(node)
        if owner == "op" or owner in aliases:
            batch = aliases.get(owner)
            if method in _NOT_SCHEMA:
                return
            table = batch.table if batch else None
            schema = batch.schema if batch else None
            if batch is not None and batch.table is None:
                why = why or "a batch_alter_table whose table is not a literal"
            self.record(OpCall(method, node, table, schema, span, why), batch is not None)
        elif not callee.startswith(_HARMLESS) and not _is_dispatch(node):
            name = f"{callee}()" if callee else "a computed function"
            self.found.append(
                Operation(
                    "opaque",
                    None,
                    None,
                    None,
                    span,
                    True,
                    reason=f"a call to {name}",
                    function=self.function,
                )
            )

    def record(self, call: OpCall, batch: bool) -> None:
        try:
            operations = operations_of(call, batch, self.module)
        except (NotLiteral, KeyError, ValueError) as exc:
            reason = f"op.{call.method}() with an argument that is not a literal ({exc})"
            operations = (
                Operation("opaque", call.table, None, call.schema, call.span, True, reason=reason),
            )
        for operation in operations:
            if call.why:
                operation = replace(operation, opaque=True, reason=call.why)
            self.found.append(replace(operation, function=self.function))


def _called(small: cst.CSTNode) -> cst.Call | None:
    """The call a small statement makes: ``op.x(...)``, ``t = op.create_table(...)``."""
    value = getattr(small, "value", None)
    return value if isinstance(value, cst.Call) else None


def _is_dispatch(node: cst.Call) -> bool:
    """Alembic's multi-database template: ``globals()["upgrade_%s" % name]()``."""
    func = node.func
    return (
        isinstance(func, cst.Subscript) and dotted(getattr(func.value, "func", func)) == "globals"
    )
