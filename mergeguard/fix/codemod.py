"""Re-point a migration's ``down_revision``: the codemod behind ``fix --rebase``.

``repoint`` changes the value of the ``down_revision`` assignment the reader
read (``fix.assignment``) and the docstring's ``Revises:`` line, and nothing
else: quote style, annotation, the spacing around ``=``, trailing comments,
line endings, encoding (PEP 263 cookie, BOM) and a missing final newline all
stay.  libcst finds the nodes and renders the new value; the rest of the file
is libcst's exact round trip of the original text, re-encoded in the file's
own encoding (checked to give back the original bytes first).
"""

from __future__ import annotations

import codecs
import io
import re
import tokenize
from collections.abc import Iterable, Iterator, Sequence

import libcst as cst
from libcst import CSTNodeT

from mergeguard.fix.assignment import NAME, TargetError, assignment_at
from mergeguard.model import Span, Spans, frozen
from mergeguard.parse.header_cst import parse_module
from mergeguard.parse.reading import read_module
from mergeguard.parse.source import UnreadableSource, decode

# The docstring line that header.py's ``_REVISES`` reads, in the literal's
# source text; it ends at a line break or at an escape (``\n`` spelled out).
_REVISES_LINE = re.compile(r"^([ \t]*)Revises:[^\r\n\\]*", re.MULTILINE)
# Characters a revision id may not hold: they would need escaping in a literal
# or break the comma-separated ``Revises:`` line.
_BAD_ID_CHARS = frozenset("'\"\\,")
_KEPT_PREFIX = frozenset("uUrR")


class CodemodError(ValueError):
    """The file cannot be rewritten safely; the message says what and why."""


@frozen
class _Style:
    """How a string literal is written: its kept prefix and its quote."""

    prefix: str = ""
    quote: str = "'"

    def literal(self, value: str) -> cst.SimpleString:
        return cst.SimpleString(f"{self.prefix}{self.quote}{value}{self.quote}")


def repoint(source: bytes, new_down: tuple[str, ...], read: Spans | None = None) -> bytes:
    """``source`` with ``down_revision`` (and the docstring's ``Revises:``
    line) pointing at ``new_down``; every other byte is kept.

    The assignment edited is the one the reader finds in ``source``; ``read``
    are the spans ``check`` recorded for the file (``MigrationScript.spans``),
    and the reader must find ``down_revision`` at the same place in these
    bytes, or nothing is edited.  One id becomes a string, several a tuple,
    none ``None``.  Raises CodemodError when the file has no module-level
    literal to rewrite.
    """
    ids = _check_ids(new_down)
    encoding, text = _decode_exactly(source)
    try:
        module = parse_module(text)
    except UnreadableSource as exc:
        raise CodemodError(f"this file cannot be parsed ({exc.message})") from exc
    try:
        assignment = assignment_at(module, text, _read_span(source, read))
    except TargetError as exc:
        raise CodemodError(str(exc)) from None
    old = assignment.value
    assert old is not None  # assignment_at only returns assignments with a value
    if not _is_literal(old):
        raise CodemodError(f"{NAME} in this file is not a literal; rewrite it by hand")
    replacer = _Replacer()
    replacer.add(old, _new_value(old, ids, module))
    docstring = _docstring_part(module)
    if docstring is not None:
        replacer.add(docstring, docstring.with_changes(value=_rewrite_revises_in(docstring, ids)))
    try:
        return module.visit(replacer).code.encode(encoding)
    except UnicodeEncodeError as exc:
        raise CodemodError(
            f"the revision ids cannot be written in this file's encoding ({encoding})"
        ) from exc


def rewrite_revises(docstring_line: str, ids: Sequence[str]) -> str:
    """One ``Revises:`` line re-pointed at ``ids`` in Alembic's format
    (``Revises: a, b``), keeping its indentation and its line ending."""
    match = _REVISES_LINE.match(docstring_line)
    if match is None:
        raise ValueError(f"not a Revises: line: {docstring_line!r}")
    return match.group(1) + "Revises: " + ", ".join(ids) + docstring_line[match.end() :]


class _Replacer(cst.CSTTransformer):
    """Swaps given nodes (by identity) for new ones in one pass."""

    def __init__(self) -> None:
        super().__init__()
        self.swaps: dict[int, tuple[cst.CSTNode, cst.CSTNode]] = {}

    def add(self, before: cst.CSTNode, after: cst.CSTNode) -> None:
        self.swaps[id(before)] = (before, after)

    def on_leave(
        self, original_node: CSTNodeT, updated_node: CSTNodeT
    ) -> CSTNodeT | cst.RemovalSentinel | cst.FlattenSentinel[CSTNodeT]:
        swap = self.swaps.get(id(original_node))
        if swap is not None and swap[0] is original_node:
            return swap[1]  # type: ignore[return-value]  # a value for a value
        return updated_node


# -- inputs ------------------------------------------------------------------------


def _check_ids(ids: Iterable[str]) -> tuple[str, ...]:
    checked = tuple(ids)
    for rev in checked:
        if (
            not isinstance(rev, str)
            or not rev
            or not rev.isprintable()
            or any(c.isspace() or c in _BAD_ID_CHARS for c in rev)
        ):
            raise CodemodError(f"{rev!r} cannot be written as a revision id")
    return checked


def _decode_exactly(source: bytes) -> tuple[str, str]:
    """(encoding, text) of ``source`` per PEP 263, where encoding the text
    again gives back exactly ``source`` (else nothing could be kept byte for byte)."""
    try:
        text = decode(source)
        encoding, _ = tokenize.detect_encoding(io.BytesIO(source).readline)
    except UnreadableSource as exc:
        raise CodemodError(f"this file cannot be read ({exc.message})") from exc
    encoding = codecs.lookup(encoding).name
    try:
        same = text.encode(encoding) == source
    except UnicodeEncodeError:
        same = False
    if not same:
        raise CodemodError(
            f"this file's bytes do not round-trip through {encoding}; rewrite it by hand"
        )
    return encoding, text


def _read_span(source: bytes, read: Spans | None) -> Span | None:
    """Where the reader, as ``check`` runs it, finds ``down_revision`` in
    ``source``; it must be where ``read`` says ``check`` found it."""
    facts = read_module(source)
    if facts.error is not None:
        raise CodemodError(f"this file cannot be parsed ({facts.error})")
    binding = facts.binding(NAME)
    span = binding.span if binding is not None else None
    if read is not None and span != read.down_revision:
        raise CodemodError(
            f"this file changed since mergeguard read it ({NAME} was read at "
            f"{_where(read.down_revision)}, the file now sets it at {_where(span)}); "
            "run mergeguard again"
        )
    return span


def _where(span: Span | None) -> str:
    return "no line" if span is None else f"line {span.line}, column {span.column}"


# -- the value ---------------------------------------------------------------------


def _is_string(node: cst.BaseExpression) -> bool:
    if isinstance(node, cst.SimpleString):
        return not set(node.prefix) - _KEPT_PREFIX
    if isinstance(node, cst.ConcatenatedString):
        return _is_string(node.left) and _is_string(node.right)
    return False


def _is_literal(node: cst.BaseExpression) -> bool:
    """A value Alembic accepts written as a literal: a string, None, or a
    tuple/list of strings."""
    if isinstance(node, cst.Name):
        return node.value == "None"
    if isinstance(node, (cst.Tuple, cst.List)):
        return all(isinstance(e, cst.Element) and _is_string(e.value) for e in node.elements)
    return _is_string(node)


def _first_string(node: cst.CSTNode) -> cst.SimpleString | None:
    if isinstance(node, cst.SimpleString):
        return node
    if isinstance(node, cst.ConcatenatedString):
        return _first_string(node.left)
    if isinstance(node, (cst.Tuple, cst.List)):
        for element in node.elements:
            found = _first_string(element.value)
            if found is not None:
                return found
    return None


def _style_of(node: cst.CSTNode) -> _Style | None:
    string = _first_string(node)
    if string is None:
        return None
    return _Style("".join(c for c in string.prefix if c in _KEPT_PREFIX), string.quote)


def _revision_style(module: cst.Module) -> _Style | None:
    """The quote style of the last module-level ``revision`` string."""
    style = None
    for statement in module.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if isinstance(small, cst.Assign):
                targets = [t.target for t in small.targets]
            elif isinstance(small, cst.AnnAssign) and small.value is not None:
                targets = [small.target]
            else:
                continue
            if any(isinstance(t, cst.Name) and t.value == "revision" for t in targets):
                assert small.value is not None
                style = _style_of(small.value) or style
    return style


def _new_value(old: cst.BaseExpression, ids: tuple[str, ...], module: cst.Module) -> cst.CSTNode:
    style = _style_of(old) or _revision_style(module) or _Style()
    if len(ids) <= 1:
        scalar: cst.BaseExpression = style.literal(ids[0]) if ids else cst.Name("None")
        if isinstance(old, (cst.Tuple, cst.List)):
            return scalar
        # A parenthesised string or None keeps its parentheses and their layout.
        return scalar.with_changes(lpar=old.lpar, rpar=old.rpar)
    elements = [cst.Element(style.literal(rev)) for rev in ids]
    if isinstance(old, cst.List):
        return cst.List(elements)
    if isinstance(old, cst.Tuple) and not old.lpar:
        return cst.Tuple(elements, lpar=[], rpar=[])
    return cst.Tuple(elements)


# -- the docstring -----------------------------------------------------------------


def _docstring_part(module: cst.Module) -> cst.SimpleString | None:
    """The part of the module docstring holding the first ``Revises:`` line."""
    if not module.body or not isinstance(module.body[0], cst.SimpleStatementLine):
        return None
    first = module.body[0].body[0]
    if not isinstance(first, cst.Expr) or not _is_string(first.value):
        return None
    for part in _parts(first.value):
        if _REVISES_LINE.search(_body(part)):
            return part
    return None


def _parts(node: cst.BaseExpression) -> Iterator[cst.SimpleString]:
    if isinstance(node, cst.SimpleString):
        yield node
    elif isinstance(node, cst.ConcatenatedString):
        yield from _parts(node.left)
        yield from _parts(node.right)


def _body(string: cst.SimpleString) -> str:
    start = len(string.prefix) + len(string.quote)
    return string.value[start : len(string.value) - len(string.quote)]


def _rewrite_revises_in(string: cst.SimpleString, ids: tuple[str, ...]) -> str:
    body = _body(string)
    match = _REVISES_LINE.search(body)
    assert match is not None
    line = rewrite_revises(match.group(0), ids)
    opening = string.prefix + string.quote
    return opening + body[: match.start()] + line + body[match.end() :] + string.quote
