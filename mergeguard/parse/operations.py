"""What ``upgrade()`` / ``downgrade()`` do to the schema, read with ``ast``.

Each ``op.*`` call (and each call on a ``with op.batch_alter_table(...) as b:``
alias) becomes an ``Operation`` with its file position.  Only literal
arguments are read: a value computed at run time, a call inside a loop or a
conditional, and a call to a helper function are recorded as *opaque*
operations with the reason, never guessed.  Literal SQL in ``op.execute`` is
handed to ``sqlops`` (a real SQL parser).

Earlier releases read these files with libcst; the values (positions in
characters, the source text of types, the reasons) are the ones it gave, so
cached operations stay valid.  That includes what libcst's reader made of a
body written on the line of its colon (``if x: op.f()``, a *simple statement
suite*): nothing is read from it.
"""

from __future__ import annotations

import ast
import re
from dataclasses import replace

from mergeguard.model import Operation, Span, frozen
from mergeguard.parse.bounds import STRING_STOP, TOO_DEEP, TOO_LARGE, check_nesting, check_size
from mergeguard.parse.op_args import (
    NotLiteral,
    OpCall,
    Source,
    bare_continuations,
    dotted,
    has_bare_continuation,
    optional_text,
    text_value,
)
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


@frozen
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
        text = decode(data)
        check_nesting(text)  # the limit the header readers keep
        module = ast.parse(text)
    except UnreadableSource as exc:
        return _past_limits(exc.message, exc.span)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return ()  # MG001 from the header reader
    source = Source(text)
    if has_bare_continuation(text):  # a line of only "\\": rare, and read as libcst did
        uncounted, refused = bare_continuations(source)
        if refused:
            return ()
        source = Source(text, uncounted)
    found: list[Operation] = []
    try:
        for statement in module.body:
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
                function = _direction(statement.name)
                if function:
                    walker = _Walker(function, source)
                    walker.block(statement.body, {}, "")
                    found.extend(walker.found)
    except RecursionError:  # below the nesting limit, but deeper than the stack
        return _past_limits(TOO_DEEP, None)
    return tuple(found)


def _past_limits(message: str, span: Span | None) -> tuple[Operation, ...]:
    """One opaque operation for a file past the reader's limits (the header
    reader may still read its header, so no MG001 says it): the schema rules
    then note that this branch has operations they could not read.  Nothing
    for a syntax error, which is MG001."""
    if not message.startswith((TOO_DEEP, TOO_LARGE)):
        return ()
    return (Operation("opaque", None, None, None, span or Span(1), True, reason=message),)


def _direction(name: str) -> str | None:
    """``upgrade`` / ``downgrade`` (also multi-database ``upgrade_engine1``)."""
    for direction in ("upgrade", "downgrade"):
        if name == direction or name.startswith(direction + "_"):
            return direction
    return None


_LOOPS = (ast.For, ast.AsyncFor, ast.While)
_WITH = (ast.With, ast.AsyncWith)
# the statements whose ``value`` may be the call: ``op.x(...)``, ``t = op.x(...)``
_SIMPLE = (ast.Expr, ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Return)


class _Walker:
    """Walks one function body, collecting operations."""

    def __init__(self, function: str, source: Source) -> None:
        self.function = function
        self.source = source
        self.found: list[Operation] = []

    def block(self, body: list[ast.stmt], aliases: dict[str, _Batch], why: str) -> None:
        if not body or _on_colon_line(self.source, body[0]):
            return  # a simple statement suite, where libcst's reader read nothing
        for statement in body:
            self.statement(statement, aliases, why)

    def statement(self, node: ast.stmt, aliases: dict[str, _Batch], why: str) -> None:
        if isinstance(node, _SIMPLE):
            if isinstance(node.value, ast.Call):
                self.call(node.value, aliases, why)
        elif isinstance(node, _WITH):
            self.with_block(node, aliases, why)
        elif isinstance(node, _LOOPS):
            self.nested([node.body, node.orelse], aliases, why or "inside a loop")
        elif isinstance(node, ast.If):
            # an ``elif`` is an ``if`` alone in ``orelse``: read as a nested one
            self.nested([node.body, node.orelse], aliases, why or "inside a conditional")
        elif isinstance(node, ast.Try):
            # libcst's reader took the ``else`` before the handlers
            suites = [node.body, node.orelse, *(h.body for h in node.handlers), node.finalbody]
            self.nested(suites, aliases, why or "inside a conditional")

    def nested(self, suites: list[list[ast.stmt]], aliases: dict[str, _Batch], why: str) -> None:
        for suite in suites:
            self.block(suite, aliases, why)

    def with_block(
        self, node: ast.With | ast.AsyncWith, aliases: dict[str, _Batch], why: str
    ) -> None:
        inner = dict(aliases)
        for item in node.items:
            call = item.context_expr
            if isinstance(call, ast.Call) and dotted(call.func) == "op.batch_alter_table":
                batch = self.batch(call)
                if isinstance(item.optional_vars, ast.Name):
                    inner[item.optional_vars.id] = batch
        self.block(node.body, inner, why)

    def batch(self, call: ast.Call) -> _Batch:
        bound = OpCall("batch_alter_table", call, None, None, Span(call.lineno), "")
        try:
            args = bound.args(["table_name"])
            return _Batch(text_value(args["table_name"]), optional_text(args.get("schema")))
        except (NotLiteral, KeyError):
            return _Batch(None, None)

    def call(self, node: ast.Call, aliases: dict[str, _Batch], why: str) -> None:
        callee = dotted(node.func) or ""
        owner, _, method = callee.rpartition(".")
        span = self.source.span(node)
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
            operations = operations_of(call, batch, self.source)
        except (NotLiteral, KeyError, ValueError) as exc:
            detail = exc.reason(self.source) if isinstance(exc, NotLiteral) else str(exc)
            reason = f"op.{call.method}() with an argument that is not a literal ({detail})"
            operations = (
                Operation("opaque", call.table, None, call.schema, call.span, True, reason=reason),
            )
        for operation in operations:
            if call.why:
                operation = replace(operation, opaque=True, reason=call.why)
            self.found.append(replace(operation, function=self.function))


def _is_dispatch(node: ast.Call) -> bool:
    """Alembic's multi-database template: ``globals()["upgrade_%s" % name]()``."""
    func = node.func
    return (
        isinstance(func, ast.Subscript) and dotted(getattr(func.value, "func", func)) == "globals"
    )


# a comment, or the quote of a string to step over while looking for one
_COMMENT_OR_QUOTE = re.compile(r"#|'''|\"\"\"|'|\"")


def _on_colon_line(source: Source, first: ast.stmt) -> bool:
    """Whether a block's first statement follows its ``:`` on the same logical
    line (``if x: op.f()``, or after a ``\\`` continuation), not a line of its own."""
    prefix = source.line(first.lineno)[: source.column(first.lineno, first.col_offset)]
    if prefix.strip(" \t\f"):
        return True
    above = source.line(first.lineno - 1).rstrip("\r\n")
    return above.endswith("\\") and not _has_comment(above)


def _has_comment(line: str) -> bool:
    """Whether ``line`` holds a comment (a ``#`` outside its strings)."""
    pos = 0
    while (match := _COMMENT_OR_QUOTE.search(line, pos)) is not None:
        if match.group() == "#":
            return True
        stop = STRING_STOP[match.group()]
        pos = match.end()
        while (end := stop.search(line, pos)) is not None and end.group() == "\\":
            pos = end.end() + 1
        if end is None:
            return False
        pos = end.end()
    return False
