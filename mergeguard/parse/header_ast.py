"""The fast header reader: the standard library's ``ast``.

Used for the header index of the whole history (thousands of files per run on
a cold cache).  It must agree exactly with ``read_cst``; where ``ast`` cannot
parse a file the caller falls back to libcst.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from mergeguard.model import Span
from mergeguard.parse.bounds import TOO_DEEP, nesting
from mergeguard.parse.header_split import parse_head, split_point
from mergeguard.parse.header_walk import (
    AssignEvent,
    DeleteEvent,
    Event,
    ImportEvent,
    NameResolver,
    OpaqueEvent,
    assemble,
    char_column,
    relative_target,
    source_lines,
    token_span,
)
from mergeguard.parse.source import UnreadableSource, syntax_message
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

_COMPOUND = {
    ast.If: "an if block",
    ast.Try: "a try block",
    ast.For: "a for loop",
    ast.AsyncFor: "a for loop",
    ast.While: "a while loop",
    ast.With: "a with block",
    ast.AsyncWith: "a with block",
}


def read_ast(text: str, *, short_cut: bool = True) -> ModuleFacts:
    """ModuleFacts of ``text``; raises UnreadableSource on a syntax error.
    ``short_cut=False`` parses the whole text (``header_split``'s reference)."""
    split = split_point(text) if short_cut else None
    module = None if split is None else parse_head(text, split)
    if module is None:
        module = _parse(text)
    lines = source_lines(text)
    events = list(_events(module.body, lines))
    return assemble(text, events, _convert, _docstring(module), lines)


def _parse(text: str) -> ast.Module:
    try:
        return ast.parse(text)
    except SyntaxError as exc:
        line = exc.lineno or 1
        if "too many nested" in exc.msg:  # parentheses, or f-strings
            raise UnreadableSource(f"{TOO_DEEP} ({exc.msg})", Span(line)) from exc
        raise UnreadableSource(syntax_message(exc), Span(line, exc.offset or 1)) from exc
    except (RecursionError, MemoryError) as exc:
        # CPython's parser gives up on deep chains (``- - - 1``, ``a.b.c...``)
        _, line = nesting(text)  # where it is deepest, for the message
        raise UnreadableSource(f"{TOO_DEEP} (Python's parser gives up on it)", Span(line)) from exc
    except ValueError as exc:
        raise UnreadableSource(f"cannot parse: {exc}", Span(1)) from exc


def _docstring(module: ast.Module) -> tuple[str, Span] | None:
    doc = ast.get_docstring(module, clean=False)
    if doc is None:
        return None
    return doc, Span(module.body[0].lineno, module.body[0].col_offset + 1)


def _span(node: ast.stmt, lines: list[str]) -> Span:
    line = lines[node.lineno - 1] if node.lineno <= len(lines) else ""
    return token_span(lines, node.lineno, char_column(line, node.col_offset))


_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _events(body: list[ast.stmt], lines: list[str]) -> Iterator[Event]:
    # Most statements (defs, expressions) need no span: it is made only when used.
    for node in body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            yield from _assign_events(node, lines)
        elif isinstance(node, ast.Import):
            yield ImportEvent(tuple(_import_alias(a) for a in node.names))
        elif isinstance(node, ast.ImportFrom):
            yield ImportEvent(
                tuple(
                    (a.asname or a.name, relative_target(node.level, node.module, a.name))
                    for a in node.names
                    if a.name != "*"
                )
            )
        elif isinstance(node, _DEFINITIONS):
            if node.name in HEADER_NAMES:  # upgrade()/downgrade() are not worth a binding
                yield OpaqueEvent(
                    (node.name,), "a function or class definition", _span(node, lines)
                )
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            yield OpaqueEvent((node.target.id,), "an augmented assignment (+=)", _span(node, lines))
        elif isinstance(node, ast.Delete):
            yield DeleteEvent(tuple(t.id for t in node.targets if isinstance(t, ast.Name)))
        elif type(node) in _COMPOUND:
            what = _COMPOUND[type(node)]
            yield from _compound_events(node, what, _span(node, lines), lines)


def _import_alias(alias: ast.alias) -> tuple[str, str]:
    if alias.asname:
        return alias.asname, alias.name
    head = alias.name.split(".", 1)[0]
    return head, head


def _assign_events(node: ast.Assign | ast.AnnAssign, lines: list[str]) -> Iterator[Event]:
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    if node.value is None:
        return
    names = tuple(t.id for t in targets if isinstance(t, ast.Name))
    unpacked = tuple(
        n.id for t in targets if isinstance(t, (ast.Tuple, ast.List)) for n in _names_in(t)
    )
    if not names and not unpacked:
        return
    span = _span(node, lines)
    if names:
        yield AssignEvent(names, node.value, span, node.end_lineno or node.lineno)
    if unpacked:
        yield OpaqueEvent(unpacked, "an unpacking assignment", span)


def _names_in(target: ast.expr) -> Iterator[ast.Name]:
    for node in ast.walk(target):
        if isinstance(node, ast.Name):
            yield node


def _compound_events(node: ast.stmt, what: str, span: Span, lines: list[str]) -> Iterator[Event]:
    """Names assigned anywhere inside a module-level compound statement are
    opaque; imports inside it still count (``try: import x`` is common)."""
    assigned: list[str] = []
    for child in _walk_statements(node):
        if isinstance(child, (ast.Import, ast.ImportFrom)):
            yield from _events([child], lines)
        elif isinstance(child, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = child.targets if isinstance(child, ast.Assign) else [child.target]
            assigned.extend(n.id for t in targets for n in _names_in(t))
        elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            assigned.append(child.name)
    if isinstance(node, (ast.For, ast.AsyncFor)):
        assigned.extend(n.id for n in _names_in(node.target))
    if assigned:
        yield OpaqueEvent(tuple(dict.fromkeys(assigned)), f"assigned inside {what}", span)


def _walk_statements(node: ast.stmt) -> Iterator[ast.stmt]:
    """Statements nested in ``node`` in source order, not entering def/class."""
    for field in ("body", "orelse", "finalbody", "handlers"):
        for child in getattr(node, field, ()):
            if isinstance(child, ast.ExceptHandler):
                yield from _walk_statements(child)  # type: ignore[arg-type]
                continue
            yield child
            if not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                yield from _walk_statements(child)


def _convert(node: object, resolve: NameResolver) -> Expr:
    assert isinstance(node, ast.expr)
    return _expr(node, resolve, 1)


def _expr(node: ast.expr, resolve: NameResolver, depth: int) -> Expr:
    if depth > MAX_VALUE_DEPTH:  # as read_cst, so both build the same tree
        return Dyn(TOO_DEEP_VALUE)
    if isinstance(node, ast.Constant):
        return _constant(node.value)
    if isinstance(node, (ast.Tuple, ast.List)):
        if any(isinstance(e, ast.Starred) for e in node.elts):
            return Dyn("a starred expression")
        return Seq(tuple(_expr(e, resolve, depth + 1) for e in node.elts))
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _expr(node.left, resolve, depth + 1), _expr(node.right, resolve, depth + 1)
        return concat_values([left, right])
    if isinstance(node, (ast.Name, ast.Attribute)):
        dotted = _dotted(node)
        return resolve(dotted) if dotted else Dyn("an attribute of an expression")
    if isinstance(node, ast.JoinedStr):
        return Dyn("an f-string")
    if isinstance(node, ast.Call):
        callee = _dotted(node.func)
        return Dyn(f"a call to {callee}()" if callee else "a call")
    return Dyn("an expression that is not a literal")


def _constant(value: object) -> Expr:
    if value is None or isinstance(value, str):
        return Lit(value)
    if isinstance(value, bool):
        return Dyn(f"the value {value}")
    if isinstance(value, bytes):
        return Dyn("a bytes literal")
    if isinstance(value, (int, float, complex)):
        return Dyn("a number")
    return Dyn("an expression that is not a literal")


def _dotted(node: ast.expr) -> str | None:
    """``a.b.c`` of a name or attribute chain (a loop: ``ast`` accepts chains
    longer than Python's recursion limit)."""
    attributes: list[str] = []
    while isinstance(node, ast.Attribute):
        attributes.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([node.id, *reversed(attributes)])
