"""The libcst header reader: exact positions, and the parser the fixes use.

Produces the same ``ModuleFacts`` as ``read_ast`` (a test holds both to every
fixture).  It is the reader for the files a run reports on or rewrites, and the
fallback wherever ``ast`` cannot parse a file.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider

from mergeguard.model import Span
from mergeguard.parse.bounds import TOO_DEEP, check_nesting
from mergeguard.parse.header_walk import (
    AssignEvent,
    DeleteEvent,
    Event,
    ImportEvent,
    NameResolver,
    OpaqueEvent,
    assemble,
    relative_target,
    token_span,
)
from mergeguard.parse.source import UnreadableSource
from mergeguard.parse.values import (
    HEADER_NAMES,
    MAX_VALUE_DEPTH,
    TOO_DEEP_VALUE,
    Dyn,
    Expr,
    Lit,
    ModuleFacts,
    Seq,
    concat_values,
)

_COMPOUND: dict[type[cst.CSTNode], str] = {
    cst.If: "an if block",
    cst.Try: "a try block",
    cst.For: "a for loop",
    cst.While: "a while loop",
    cst.With: "a with block",
}


class Positions:
    """libcst's positions of one module, plus its lines to report token spans."""

    def __init__(self, ranges: dict[cst.CSTNode, CodeRange], lines: list[str]) -> None:
        self.ranges = ranges
        self.lines = lines

    def __getitem__(self, node: cst.CSTNode) -> CodeRange:
        return self.ranges[node]

    def start(self, node: cst.CSTNode) -> Span:
        start = self.ranges[node].start
        return token_span(self.lines, start.line, start.column + 1)


def parse_module(text: str) -> cst.Module:
    """libcst's Module for ``text``; raises UnreadableSource on a syntax error,
    and on text nested deeper than libcst survives (checked first: its native
    parser overflows the C stack on it)."""
    check_nesting(text)
    try:
        return cst.parse_module(text)
    except cst.ParserSyntaxError as exc:
        message = f"syntax error: {exc.message}"
        raise UnreadableSource(message, Span(exc.raw_line, exc.raw_column + 1)) from exc
    except (RecursionError, MemoryError, ValueError) as exc:
        raise UnreadableSource(f"cannot parse: {exc}", Span(1)) from exc


def read_cst(text: str) -> ModuleFacts:
    """ModuleFacts of ``text``; raises UnreadableSource on a syntax error."""
    wrapper = MetadataWrapper(parse_module(text), unsafe_skip_copy=True)
    try:
        ranges = dict(wrapper.resolve(PositionProvider))
    except RecursionError as exc:  # a margin below MAX_NESTING that did not hold
        raise UnreadableSource(TOO_DEEP, Span(1)) from exc
    positions = Positions(ranges, text.splitlines())
    module = wrapper.module
    events = list(_events(module.body, positions))
    return assemble(text, events, _convert, _docstring(module, positions))


def _docstring(module: cst.Module, positions: Positions) -> tuple[str, Span] | None:
    if not module.body or not isinstance(module.body[0], cst.SimpleStatementLine):
        return None
    first = module.body[0].body[0]
    if not isinstance(first, cst.Expr):
        return None
    value = _string_value(first.value)
    if not isinstance(value, str):
        return None
    return value, positions.start(first)


def _string_value(node: cst.BaseExpression) -> str | bytes | None:
    """The value of a plain (possibly implicitly concatenated) string literal."""
    if isinstance(node, cst.SimpleString):
        return node.evaluated_value
    if isinstance(node, cst.ConcatenatedString):
        left, right = _string_value(node.left), _string_value(node.right)
        if isinstance(left, str) and isinstance(right, str):
            return left + right
        if isinstance(left, bytes) and isinstance(right, bytes):
            return left + right
    return None


def _events(body: Sequence[cst.CSTNode], positions: Positions) -> Iterator[Event]:
    for statement in body:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                yield from _small_events(small, positions)
        elif isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
            if statement.name.value in HEADER_NAMES:  # as read_ast: only header names
                line = positions[statement.name].start.line
                yield OpaqueEvent(
                    (statement.name.value,), "a function or class definition", Span(line)
                )
        elif type(statement) in _COMPOUND:
            yield from _compound_events(statement, _COMPOUND[type(statement)], positions)


def _small_events(small: cst.CSTNode, positions: Positions) -> Iterator[Event]:
    span = positions.start(small)
    if isinstance(small, cst.Import):
        yield ImportEvent(tuple(_import_alias(a) for a in small.names))
    elif isinstance(small, cst.ImportFrom) and not isinstance(small.names, cst.ImportStar):
        module = _dotted(small.module) if small.module else None
        yield ImportEvent(
            tuple(
                (
                    _alias_name(a) or _dotted_req(a.name),
                    relative_target(len(small.relative), module, _dotted_req(a.name)),
                )
                for a in small.names
            )
        )
    elif isinstance(small, (cst.Assign, cst.AnnAssign)):
        yield from _assign_events(small, span, positions[small].end.line)
    elif isinstance(small, cst.AugAssign) and isinstance(small.target, cst.Name):
        yield OpaqueEvent((small.target.value,), "an augmented assignment (+=)", span)
    elif isinstance(small, cst.Del):
        target = small.target
        names = target.elements if isinstance(target, (cst.Tuple, cst.List)) else ()
        direct = (target.value,) if isinstance(target, cst.Name) else ()
        yield DeleteEvent(
            direct + tuple(e.value.value for e in names if isinstance(e.value, cst.Name))
        )


def _alias_name(alias: cst.ImportAlias) -> str | None:
    if alias.asname is None:
        return None
    name = alias.asname.name
    return name.value if isinstance(name, cst.Name) else None


def _import_alias(alias: cst.ImportAlias) -> tuple[str, str]:
    dotted = _dotted_req(alias.name)
    asname = _alias_name(alias)
    if asname:
        return asname, dotted
    head = dotted.split(".", 1)[0]
    return head, head


def _assign_events(node: cst.Assign | cst.AnnAssign, span: Span, end: int) -> Iterator[Event]:
    if node.value is None:
        return
    targets = [t.target for t in node.targets] if isinstance(node, cst.Assign) else [node.target]
    names = tuple(t.value for t in targets if isinstance(t, cst.Name))
    unpacked = tuple(
        n for t in targets if isinstance(t, (cst.Tuple, cst.List)) for n in _names_in(t)
    )
    if names:
        yield AssignEvent(names, node.value, span, end)
    if unpacked:
        yield OpaqueEvent(unpacked, "an unpacking assignment", span)


def _names_in(target: cst.CSTNode) -> Iterator[str]:
    if isinstance(target, cst.Name):
        yield target.value
    elif isinstance(target, (cst.Tuple, cst.List)):
        for element in target.elements:
            yield from _names_in(element.value)
    elif isinstance(target, cst.StarredElement):
        yield from _names_in(target.value)


def _compound_events(node: cst.CSTNode, what: str, positions: Positions) -> Iterator[Event]:
    """Mirror of header_ast._compound_events (same order, same names)."""
    assigned: list[str] = []
    for child in _walk_statements(node):
        if isinstance(child, (cst.Import, cst.ImportFrom)):
            yield from _small_events(child, positions)
        elif isinstance(child, (cst.Assign, cst.AnnAssign, cst.AugAssign)):
            targets = (
                [t.target for t in child.targets]
                if isinstance(child, cst.Assign)
                else [child.target]
            )
            assigned.extend(n for t in targets for n in _names_in(t))
        elif isinstance(child, (cst.FunctionDef, cst.ClassDef)):
            assigned.append(child.name.value)
    if isinstance(node, cst.For):
        assigned.extend(_names_in(node.target))
    if assigned:
        span = Span(positions[node].start.line, 1)
        yield OpaqueEvent(tuple(dict.fromkeys(assigned)), f"assigned inside {what}", span)


def _blocks(node: cst.CSTNode) -> list[cst.CSTNode]:
    """The child suites of a compound statement in ast's field order
    (body, orelse, finalbody, handlers)."""
    blocks: list[cst.CSTNode] = [node.body]  # type: ignore[attr-defined]
    orelse = getattr(node, "orelse", None)
    if isinstance(orelse, cst.If):
        blocks.append(orelse)
    elif orelse is not None:
        blocks.append(orelse.body)
    final = getattr(node, "finalbody", None)
    if final is not None:
        blocks.append(final.body)
    blocks.extend(h.body for h in getattr(node, "handlers", ()))
    return blocks


def _walk_statements(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """Small and compound statements nested in ``node``, not entering def/class."""
    for block in _blocks(node):
        if isinstance(block, cst.If):
            yield block
            yield from _walk_statements(block)
            continue
        for statement in getattr(block, "body", ()):
            if isinstance(statement, cst.SimpleStatementLine):
                yield from statement.body
            elif isinstance(block, cst.SimpleStatementSuite):
                yield statement
            else:
                yield statement
                if not isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
                    yield from _walk_statements(statement)


def _convert(node: object, resolve: NameResolver) -> Expr:
    assert isinstance(node, cst.BaseExpression)
    return _expr(node, resolve, 1)


def _expr(node: cst.BaseExpression, resolve: NameResolver, depth: int) -> Expr:
    if depth > MAX_VALUE_DEPTH:  # as read_ast, so both build the same tree
        return Dyn(TOO_DEEP_VALUE)
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
        return _string(node)
    if isinstance(node, cst.Name) and node.value in ("None", "True", "False"):
        return Lit(None) if node.value == "None" else Dyn(f"the value {node.value}")
    if isinstance(node, (cst.Tuple, cst.List)):
        if any(isinstance(e, cst.StarredElement) for e in node.elements):
            return Dyn("a starred expression")
        return Seq(tuple(_expr(e.value, resolve, depth + 1) for e in node.elements))
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
        left, right = _expr(node.left, resolve, depth + 1), _expr(node.right, resolve, depth + 1)
        return concat_values([left, right])
    if isinstance(node, (cst.Name, cst.Attribute)):
        dotted = _dotted(node)
        return resolve(dotted) if dotted else Dyn("an attribute of an expression")
    if isinstance(node, cst.FormattedString):
        return Dyn("an f-string")
    if isinstance(node, cst.Call):
        callee = _dotted(node.func)
        return Dyn(f"a call to {callee}()" if callee else "a call")
    if isinstance(node, (cst.Integer, cst.Float, cst.Imaginary)):
        return Dyn("a number")
    return Dyn("an expression that is not a literal")


def _string(node: cst.SimpleString | cst.ConcatenatedString) -> Expr:
    value = _string_value(node)
    if isinstance(value, str):
        return Lit(value)
    if isinstance(value, bytes):
        return Dyn("a bytes literal")
    return Dyn("an f-string")


def _dotted(node: cst.BaseExpression) -> str | None:
    """``a.b.c`` of a name or attribute chain (a loop, as in read_ast)."""
    attributes: list[str] = []
    while isinstance(node, cst.Attribute):
        attributes.append(node.attr.value)
        node = node.value
    if not isinstance(node, cst.Name):
        return None
    return ".".join([node.value, *reversed(attributes)])


def _dotted_req(node: cst.BaseExpression) -> str:
    return _dotted(node) or ""
