"""The arguments of one ``op.<method>(...)`` call, read as literals.

Shared by the walk over ``upgrade()`` (``operations``), the per-method
readers (``opcalls``) and the table definitions they hold (``op_columns``):
a call's arguments bound to Alembic's parameter names, and the literal
values read from them.  Anything not literal raises NotLiteral, and the call
becomes an opaque operation.

The tree is the standard library's ``ast``.  What it does not keep (the
parentheses around an expression, whether ``f"..."`` stood alone, character
columns) is recovered from the text by ``Source``, so that every value read
is the one the libcst reader of earlier releases gave: cached operations stay
valid, and the NotLiteral reasons keep their wording (libcst's node names).
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass

from mergeguard.model import Operation, Span


class NotLiteral(Exception):
    """An argument whose value is only known at run time; ``node`` is the
    f-string whose wording needs the text (``reason``)."""

    def __init__(self, message: str, node: ast.JoinedStr | None = None) -> None:
        super().__init__(message)
        self.node = node

    def reason(self, source: Source) -> str:
        return _joined_name(self.node, source) if self.node is not None else str(self)


# ast spells lines the way the compiler does (only \n, \r\n and \r end one;
# str.splitlines would also split at form feeds and \x1c..\x1e).
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")
# what may stand between an argument's separator (``,``, ``=``, ``*``) and its
# value: blanks, comments, continuations and the value's own ``(``
_GAP = re.compile(r"#[^\r\n]*|[,=*]|\(|\)|[^\s#,=*()]+|\s+")


class Source:
    """The text of one file, for what its ``ast`` does not say."""

    def __init__(self, text: str, uncounted: Sequence[int] = ()) -> None:
        self.text = text
        self._lines: list[str] | None = None
        self._starts: list[int] = []
        self.uncounted = uncounted  # lines libcst did not count (``bare_continuations``)

    @property
    def lines(self) -> list[str]:
        if self._lines is None:
            self._lines = _LINE.findall(self.text)
            offset = 0
            for line in self._lines:
                self._starts.append(offset)
                offset += len(line)
            self._starts.append(offset)
        return self._lines

    def line(self, number: int) -> str:
        lines = self.lines
        return lines[number - 1] if 0 < number <= len(lines) else ""

    def column(self, number: int, byte_offset: int) -> int:
        """0-based character column of a UTF-8 byte offset on line ``number``."""
        line = self.line(number)
        if line.isascii():
            return byte_offset
        return len(line.encode("utf-8")[:byte_offset].decode("utf-8", "replace"))

    def index(self, number: int, byte_offset: int) -> int:
        """The offset into ``text`` of (line, byte offset)."""
        self.lines  # noqa: B018 - fills _starts
        number = min(max(number, 1), len(self._starts) - 1) if len(self._starts) > 1 else 1
        return self._starts[number - 1] + self.column(number, byte_offset)

    def span(self, node: ast.expr | ast.stmt) -> Span:
        """Where ``node`` starts: libcst's (1-based, in characters)."""
        line = node.lineno - bisect_left(self.uncounted, node.lineno)
        return Span(line, self.column(node.lineno, node.col_offset) + 1)

    def code(self, node: ast.expr, within: ast.Call | None = None) -> str:
        """The source of ``node`` with its own parentheses (an argument of the
        call ``within``), blanks collapsed."""
        start = self.index(node.lineno, node.col_offset)
        end = self.index(node.end_lineno or node.lineno, node.end_col_offset or 0)
        lead = _lead(within, node) if within is not None else None
        if lead is not None:
            opened = _parentheses_before(self.text[self.index(*lead) : start])
            if opened:
                start, end = self._widen(start, end, opened)
        return re.sub(r"\s+", " ", self.text[start:end]).strip()

    def _widen(self, start: int, end: int, opened: list[int]) -> tuple[int, int]:
        """(start, end) widened over ``len(opened)`` parenthesis pairs; ``opened``
        holds the offsets of the ``(`` relative to the gap's end."""
        closing = len(opened)
        for match in _GAP.finditer(self.text, end):
            token = match.group()
            if token == ")":
                closing -= 1
                end = match.end()
                if not closing:
                    return start + opened[0], end
            elif not (token.isspace() or token.startswith("#") or token == "\\"):
                break
        return start, end  # unbalanced: keep the bare expression


_BARE_LINE = re.compile(r"[ \t\f]*\\(?:\r\n|\r|\n)")
_OUTSIDE_STATEMENTS = frozenset({tokenize.NL, tokenize.COMMENT, tokenize.DEDENT})


def bare_continuations(source: Source) -> tuple[list[int], bool]:
    """libcst's reading of a line holding only a ``\\`` before a statement:
    (the numbers of those lines, which libcst does not count in the lines
    after them; whether one opens an indented block, which libcst refuses to
    parse).  Other bare continuations (inside brackets, joining a line to a
    blank one) it counts as ``ast`` does."""
    bare = {n for n, line in enumerate(source.lines, 1) if _BARE_LINE.fullmatch(line)}
    uncounted: list[int] = []
    refused = False
    at_start, indented = True, False
    try:
        for token in tokenize.generate_tokens(io.StringIO(source.text).readline):
            if token.type in _OUTSIDE_STATEMENTS:
                continue
            if token.type in (tokenize.NEWLINE, tokenize.INDENT):
                at_start, indented = True, token.type == tokenize.INDENT
                continue
            if at_start and token.start[0] - 1 in bare:
                uncounted.append(token.start[0] - 1)
                refused = refused or indented
            at_start = indented = False
    except (tokenize.TokenError, SyntaxError):
        pass  # ast parsed the text; a tokenizer complaint changes nothing here
    return uncounted, refused


def has_bare_continuation(text: str) -> bool:
    return _BARE_SEARCH.search(text) is not None


_BARE_SEARCH = re.compile(r"^[ \t\f]*\\\r?$", re.MULTILINE)


def _parentheses_before(gap: str) -> list[int]:
    """Offsets (negative, from the gap's end) of the ``(`` that open the value
    itself; a gap without a separator begins with the call's own ``(``."""
    opened: list[int] = []
    separated = False
    for match in _GAP.finditer(gap):
        token = match.group()
        if token == "(":
            opened.append(match.start() - len(gap))
        elif token in (",", "=", "*"):
            separated, opened = True, []
        elif not (token.isspace() or token.startswith("#") or token == "\\"):
            opened = []
    return opened if separated else opened[1:]


def _lead(call: ast.Call, node: ast.expr) -> tuple[int, int] | None:
    """Where the text before argument ``node`` of ``call`` starts: the end of
    the previous argument, or of the called function."""
    previous: ast.expr | ast.keyword = call.func
    for _, _, value, whole in call_args(call):
        if value is node:
            return previous.end_lineno or 1, previous.end_col_offset or 0
        previous = whole
    return None


def call_args(call: ast.Call) -> list[tuple[str | None, str, ast.expr, ast.expr | ast.keyword]]:
    """(keyword, star, value, node) of every argument in source order, as
    libcst lists them: ``*x`` has star ``"*"``, ``**x`` star ``"**"``."""
    found: list[tuple[int, int, str | None, str, ast.expr, ast.expr | ast.keyword]] = []
    for arg in call.args:
        if isinstance(arg, ast.Starred):
            found.append((arg.lineno, arg.col_offset, None, "*", arg.value, arg))
        else:
            found.append((arg.lineno, arg.col_offset, None, "", arg, arg))
    for keyword in call.keywords:
        star = "" if keyword.arg is not None else "**"
        found.append(
            (keyword.lineno, keyword.col_offset, keyword.arg, star, keyword.value, keyword)
        )
    if call.args and call.keywords:
        found.sort(key=lambda item: (item[0], item[1]))
    return [(k, s, v, n) for _, _, k, s, v, n in found]


def positional(call: ast.Call) -> list[ast.expr]:
    """Values of the arguments without a keyword (``*x`` and ``**x`` too)."""
    return [value for keyword, _, value, _ in call_args(call) if keyword is None]


def keywords(call: ast.Call) -> dict[str, ast.expr]:
    return {k.arg: k.value for k in call.keywords if k.arg is not None}


@dataclass
class OpCall:
    """One call's arguments bound to parameter names (positional first)."""

    method: str
    node: ast.Call
    table: str | None  # from a batch alias
    schema: str | None
    span: Span
    why: str  # non-empty: recorded as opaque for this reason

    def args(self, names: Sequence[str]) -> dict[str, ast.expr]:
        if any(isinstance(a, ast.Starred) for a in self.node.args) or any(
            k.arg is None for k in self.node.keywords
        ):
            raise NotLiteral("*args")
        bound: dict[str, ast.expr] = {}
        given = self.node.args
        for name, value in zip(names, given, strict=False):
            bound[name] = value
        for index, value in enumerate(given[len(names) :]):
            bound[f"*{index}"] = value
        for keyword in self.node.keywords:
            bound[str(keyword.arg)] = keyword.value
        return bound


_CONSTANTS = {"None": None, "True": True, "False": False}


def dotted(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    if isinstance(node, ast.Constant) and (node.value is None or isinstance(node.value, bool)):
        return str(node.value)  # names to libcst
    return None


def text_value(node: ast.expr | None) -> str:
    """A literal string argument (``op.f('x')`` and ``sa.text('...')`` too)."""
    value = literal(node)
    if not isinstance(value, str):
        raise NotLiteral("a string was expected")
    return value


def optional_text(node: ast.expr | None) -> str | None:
    if node is None:
        return None
    value = literal(node)
    if value is not None and not isinstance(value, str):
        raise NotLiteral("a string or None was expected")
    return value


Literal = str | bool | None | list["Literal"]
_TEXT_CALLS = ("op.f", "f", "sa.text", "text", "sqlalchemy.text")
_F_STRING_PARTS = "a bytes or f-string value"


def literal(node: ast.expr | None) -> Literal:
    """The value of a literal argument; raises NotLiteral for anything else."""
    if node is None:
        return None
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, str) or value is None or isinstance(value, bool):
            return value
        if isinstance(value, bytes):
            raise NotLiteral(_F_STRING_PARTS)
        raise NotLiteral(_CONSTANT_NAMES.get(type(value), type(value).__name__))
    if isinstance(node, (ast.List, ast.Tuple)):
        return [literal(_unstarred(e)) for e in node.elts]
    if isinstance(node, ast.Call) and dotted(node.func) in _TEXT_CALLS:
        given = call_args(node)
        if len(given) == 1:
            return literal(given[0][2])
    if isinstance(node, ast.JoinedStr):
        raise NotLiteral("FormattedString", node)
    raise NotLiteral(_NODE_NAMES.get(type(node), type(node).__name__))


def _unstarred(node: ast.expr) -> ast.expr:
    return node.value if isinstance(node, ast.Starred) else node


def _joined_name(node: ast.JoinedStr, source: Source) -> str:
    """libcst's word for an f-string: one ``f"..."`` is a FormattedString,
    several string pieces side by side a concatenation holding one."""
    start = source.index(node.lineno, node.col_offset)
    end = source.index(node.end_lineno or node.lineno, node.end_col_offset or 0)
    text = source.text[start:end]
    try:
        strings = [
            t
            for t in tokenize.generate_tokens(io.StringIO(f"({text})").readline)
            if t.type == tokenize.STRING or t.type == getattr(tokenize, "FSTRING_START", -1)
        ]
    except (tokenize.TokenError, SyntaxError):
        return "FormattedString"
    return "FormattedString" if len(strings) == 1 else _F_STRING_PARTS


_CONSTANT_NAMES: dict[type, str] = {
    int: "Integer",
    float: "Float",
    complex: "Imaginary",
    type(...): "Ellipsis",
}
# ast's node classes by libcst's names, which the reasons have always used
_NODE_NAMES: dict[type, str] = {
    ast.BinOp: "BinaryOperation",
    ast.UnaryOp: "UnaryOperation",
    ast.BoolOp: "BooleanOperation",
    ast.Compare: "Comparison",
    ast.YieldFrom: "Yield",
    ast.Starred: "StarredElement",
}


def literal_flag(node: ast.expr | None) -> bool:
    return node is not None and literal(node) is True


def column_names(node: ast.expr | None) -> tuple[str, ...]:
    value = literal(node)
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(v for v in value if isinstance(v, str))
    raise NotLiteral("a list of column names was expected")


def code_of(source: Source, node: ast.expr | None, within: ast.Call | None = None) -> str:
    return source.code(node, within) if node is not None else ""


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
