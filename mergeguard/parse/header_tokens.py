"""The third header reader: a tolerant token scan for files no parser reads.

A Python 2 migration (``print "x"``, ``except E, e:``, backticks, ``0777``) or
a file with a syntax error further down cannot be parsed by ``ast`` or libcst,
yet its header is usually four plain lines.  Dropping the file would orphan
its children and hide a fork below it, so this reader recovers the header,
but only when there is no doubt about it:

- each of ``revision``, ``down_revision``, ``branch_labels``, ``depends_on``
  is assigned once, by a statement that starts in column 0 (module level),
  plain (``x = ...``) or annotated (``x: T = ...``), and ``revision`` and
  ``down_revision`` both are;
- the value is a literal read in full: strings (implicit concatenation
  included), ``None``, tuples or lists of strings;
- the name appears nowhere else where it could be bound: an indented or
  conditional assignment, unpacking, ``+=``, a walrus, ``for``/``as``/
  ``global``/``del``/``import``/``def`` targets, or a compound header whose
  body is missing right above it.  Doubtful reads count as bindings too
  (``f(revision)``): guessing wrong would put a revision in the wrong place.

Otherwise nothing is recovered.  Bindings made by running code (``exec``,
``globals()[...]``, ``from x import *``) are invisible here, as they are to
the ast and libcst readers.  The scanner is its own rather than
``tokenize`` (whose Python 3.12+ C tokenizer stops at the first Python 2
construct and which raises on bad indentation): one pass in which every step
consumes input, no backtracking patterns, no recursion beyond two brackets, a
bounded value buffer; so it takes linear time and never raises on any text
(unterminated strings and brackets, NUL characters, deep nesting).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from mergeguard.model import Span, frozen
from mergeguard.parse.bounds import string_end
from mergeguard.parse.header_walk import ignore_codes
from mergeguard.parse.values import HEADER_NAMES, Binding, Expr, Lit, ModuleFacts, Seq

_SPACE = re.compile(r"[ \t\f]+")
_NAME = re.compile(r"[^\W\d]\w*")
_NUMBER = re.compile(r"\d\w*(?:\.\w*)?")
_STRING_START = re.compile(r"([A-Za-z]{0,2})('''|\"\"\"|'|\")")
_STR_PREFIXES = frozenset({"", "u", "r", "ur"})  # Python 2's ur"" included; not b"" or f""
_AUGMENTED = frozenset(
    {"+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "@=", "**=", "//=", ">>=", "<<="}
)
_OPERATORS = (
    frozenset({"**=", "//=", ">>=", "<<=", "..."}),
    frozenset(
        {"**", "//", ">>", "<<", "<=", ">=", "==", "!=", "<>", "->", ":="}
        | {op for op in _AUGMENTED if len(op) == 2}
    ),
    frozenset("()[]{}:,;.+-*/%&|^~<>=@!`"),
)
_OPENERS, _CLOSERS = frozenset("([{"), frozenset(")]}")
# Keywords after which a name is being bound (``for revision in``, ``import revision``).
_BINDING_KEYWORDS = frozenset(
    {"as", "for", "global", "nonlocal", "del", "def", "class", "import", "lambda"}
)
# Tokens after a name that may make it a target (``revision, x = ...``, ``(revision) = ``).
_TARGET_FOLLOWERS = frozenset({":=", ",", ")", "]"}) | _AUGMENTED
# A header value is a few dozen tokens; more is not a header literal.
_MAX_VALUE_TOKENS = 512
_MAX_BRACKETS = 2


@frozen
class Token:
    """One token: ``kind`` is name, string, number, op, newline, error or end.

    ``depth`` is the bracket depth before the token; ``starts_line`` marks the
    first token of a logical line; ``end_line`` is the line the token ends on.
    """

    kind: str
    text: str
    line: int
    column: int
    depth: int = 0
    starts_line: bool = False
    end_line: int = 0

    def is_op(self, *texts: str) -> bool:
        return self.kind == "op" and self.text in texts


def recover_header(text: str) -> ModuleFacts | None:
    """The header of ``text`` (bindings, docstring, ignores) when it can be
    read without doubt, else None.  ``error`` is left for the caller to set."""
    survey = _Survey()
    previous = Token("newline", "", 0, 0)
    tokens = scan(text)
    current = next(tokens)
    for following in tokens:
        survey.feed(previous, current, following)
        previous, current = current, following
    survey.feed(previous, current, current)
    return survey.result(text)


# -- the scanner -------------------------------------------------------------------


def scan(text: str) -> Iterator[Token]:
    """The tokens of ``text``, always ending with a newline and an end token.

    Newlines inside brackets and after a ``\\`` join lines, as in Python;
    comments and blank lines give no tokens; anything unknown is one
    ``error`` token, so scanning goes on to the end of the text.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    pos, line, line_start, depth, fresh = 0, 1, 0, 0, True
    while pos < len(text):
        char = text[pos]
        if char == "\n":
            if depth == 0 and not fresh:
                yield Token("newline", "\n", line, pos - line_start + 1, 0, False, line)
                fresh = True
            pos, line, line_start = pos + 1, line + 1, pos + 1
        elif char in " \t\f":
            pos = _match_end(_SPACE, text, pos)
        elif char == "#":
            end = text.find("\n", pos)
            pos = len(text) if end < 0 else end
        elif char == "\\" and text.startswith("\n", pos + 1):
            pos, line, line_start = pos + 2, line + 1, pos + 2
        else:
            kind, end = _token_at(text, pos)
            body = text[pos:end]
            newlines = body.count("\n")
            start_line, column = line, pos - line_start + 1
            if newlines:
                line, line_start = line + newlines, pos + body.rfind("\n") + 1
            yield Token(kind, body, start_line, column, depth, fresh, line)
            fresh, pos = False, end
            if kind == "op" and body in _OPENERS:
                depth += 1
            elif kind == "op" and body in _CLOSERS:
                depth = max(0, depth - 1)
    if not fresh:
        yield Token("newline", "", line, pos - line_start + 1, 0, False, line)
    yield Token("end", "", line, pos - line_start + 1, 0, False, line)


def _match_end(pattern: re.Pattern[str], text: str, pos: int) -> int:
    match = pattern.match(text, pos)
    return match.end() if match else pos + 1


def _token_at(text: str, pos: int) -> tuple[str, int]:
    """(kind, end) of the token starting at ``pos``; it is never empty."""
    string = _STRING_START.match(text, pos)
    if string is not None:
        closed, end = string_end(text, string.end(), string.group(2))
        return ("string" if closed else "error"), end
    for kind, pattern in (("name", _NAME), ("number", _NUMBER)):
        match = pattern.match(text, pos)
        if match is not None:
            return kind, match.end()
    for size, operators in zip((3, 2, 1), _OPERATORS, strict=True):
        if text[pos : pos + size] in operators:
            return "op", pos + size
    return "error", pos + 1


# -- the survey of the tokens --------------------------------------------------------


@frozen
class _Assignment:
    name: str
    value: Expr | None  # None: not a literal this reader reads in full
    span: Span
    end_line: int


class _Survey:
    """Collects the column-0 header assignments and every doubt about them."""

    def __init__(self) -> None:
        self.found: dict[str, list[_Assignment]] = {name: [] for name in HEADER_NAMES}
        self.doubtful: set[str] = set()
        self.target: Token | None = None  # header name whose ``=`` is awaited
        self.value: list[Token] | None = None  # tokens of the value being read
        self.overflow = False
        self.opened_block = False  # the previous logical line ended with ``:``
        self.doc_parts: list[Token] | None = []  # None once the docstring is settled
        self.docstring: tuple[str, Span] | None = None

    def feed(self, previous: Token, token: Token, following: Token) -> None:
        ends_statement = token.kind in ("newline", "end") or (token.is_op(";") and token.depth == 0)
        self.track_docstring(token, ends_statement)
        if self.value is not None:
            if ends_statement:
                self.finish_value(previous)
            elif len(self.value) < _MAX_VALUE_TOKENS:
                self.value.append(token)
            else:
                self.overflow = True
        elif self.target is not None:
            if token.is_op("=") and token.depth == 0:
                self.value, self.overflow = [], False
            elif ends_statement:
                self.target = None  # a bare annotation binds nothing
        if token.kind == "name" and token.text in HEADER_NAMES and not previous.is_op("."):
            self.header_name(previous, token, following)
        if token.kind == "newline":
            self.opened_block = previous.is_op(":") and previous.depth == 0

    def header_name(self, previous: Token, token: Token, following: Token) -> None:
        """Sort one occurrence of a header name: an assignment, a doubt, or a read."""
        if token.starts_line and token.column == 1 and not self.opened_block:
            if following.is_op("=", ":") and self.target is None and self.value is None:
                self.target = token
            elif following.kind == "op" and following.text not in ("(", "[", "."):
                self.doubtful.add(token.text)  # ``revision, x = ...``, ``revision += 'x'``
        elif _may_bind(previous, token, following):
            self.doubtful.add(token.text)

    def finish_value(self, last: Token) -> None:
        target, tokens = self.target, self.value or []
        self.target, self.value = None, None
        if target is None:
            return
        value = None if self.overflow else _literal(tokens)
        end_line = last.end_line if tokens else target.line
        self.found[target.text].append(
            _Assignment(target.text, value, Span(target.line, 1), end_line)
        )

    def track_docstring(self, token: Token, ends_statement: bool) -> None:
        """The docstring: a first statement made of string literals only."""
        parts = self.doc_parts
        if parts is None:
            return
        if token.kind == "string":
            parts.append(token)
            return
        self.doc_parts = None
        if ends_statement and parts:
            texts = [_string_value(part.text) for part in parts]
            values = [text for text in texts if text is not None]
            if len(values) == len(texts):
                self.docstring = "".join(values), Span(parts[0].line, parts[0].column)

    def result(self, text: str) -> ModuleFacts | None:
        bindings: list[Binding] = []
        ignores: tuple[str, ...] = ()
        for name, assignments in self.found.items():
            if name in self.doubtful or len(assignments) > 1:
                return None
            if not assignments:
                if name in ("revision", "down_revision"):
                    return None
                continue
            [assignment] = assignments
            if assignment.value is None:
                return None
            bindings.append(Binding(name, assignment.value, assignment.span))
            if name == "down_revision":
                lines = _lines(text)
                ignores = ignore_codes(lines, assignment.span.line, assignment.end_line)
        return ModuleFacts(
            docstring=self.docstring[0] if self.docstring else None,
            docstring_span=self.docstring[1] if self.docstring else None,
            bindings=tuple(sorted(bindings, key=lambda b: b.name)),
            ignores=ignores,
        )


def _lines(text: str) -> list[str]:
    """The lines as the scanner counts them (Python's newlines only)."""
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _may_bind(previous: Token, token: Token, following: Token) -> bool:
    """True when this occurrence of a name (not a column-0 assignment) could
    bind it, or is too close to a binding form to tell."""
    if previous.kind == "name" and previous.text in _BINDING_KEYWORDS:
        return True
    if previous.is_op(",", "*", "**"):
        return True  # ``import a, revision``, ``*revision, = x``
    if following.kind == "op" and following.text in _TARGET_FOLLOWERS:
        return True
    if following.is_op("=", ":") and token.depth == 0:
        return True  # an indented or conditional assignment, ``except E, revision:``
    return following.kind == "name" and following.text == "in"  # ``for x, revision in``


# -- literal values ------------------------------------------------------------------


def _literal(tokens: list[Token]) -> Expr | None:
    """The value of a header assignment, or None when it is not a literal of
    strings, None and one level of tuple or list."""
    reader = _ValueReader(tokens)
    items, comma = reader.items(closer=None, brackets=0)
    if items is None or not reader.at_end():
        return None
    if comma:
        return _flat(items)
    return items[0] if len(items) == 1 else None


def _flat(items: list[Expr]) -> Expr | None:
    """A tuple or list value: only strings are Alembic ids."""
    if all(isinstance(item, Lit) and item.value is not None for item in items):
        return Seq(tuple(items))
    return None


class _ValueReader:
    """Reads one value's tokens left to right (brackets at most two deep)."""

    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.at = 0

    def peek(self) -> Token | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def at_end(self) -> bool:
        return self.at == len(self.tokens)

    def items(self, closer: str | None, brackets: int) -> tuple[list[Expr] | None, bool]:
        """Comma-separated items up to ``closer`` (not consumed), and whether a
        comma was seen; (None, False) on anything that is not a literal."""
        items: list[Expr] = []
        comma = False
        while True:
            token = self.peek()
            if token is None or (closer is not None and token.is_op(closer)):
                return items, comma
            item = self.item(brackets)
            if item is None:
                return None, False
            items.append(item)
            token = self.peek()
            if token is None or not token.is_op(","):
                return items, comma
            self.at += 1
            comma = True

    def item(self, brackets: int) -> Expr | None:
        token = self.peek()
        if token is None:
            return None
        if token.kind == "string":
            return self.strings()
        if token.kind == "name" and token.text == "None":
            self.at += 1
            return Lit(None)
        if token.is_op("(", "[") and brackets < _MAX_BRACKETS:
            return self.bracketed(token.text, brackets + 1)
        return None

    def strings(self) -> Expr | None:
        """Adjacent string literals, joined as Python joins them."""
        parts: list[str] = []
        while (token := self.peek()) is not None and token.kind == "string":
            value = _string_value(token.text)
            if value is None:
                return None
            parts.append(value)
            self.at += 1
        return Lit("".join(parts))

    def bracketed(self, opener: str, brackets: int) -> Expr | None:
        self.at += 1
        closer = ")" if opener == "(" else "]"
        items, comma = self.items(closer, brackets)
        token = self.peek()
        if items is None or token is None or not token.is_op(closer):
            return None
        self.at += 1
        if opener == "(" and len(items) == 1 and not comma:
            return items[0]  # parentheses around one value
        return _flat(items)


def _string_value(literal: str) -> str | None:
    """The text of a closed string token, when Python 2 and 3 agree on it:
    a str prefix (``u``, ``r``, ``ur``) and no backslash escapes."""
    start = _STRING_START.match(literal)
    if start is None or start.group(1).lower() not in _STR_PREFIXES:
        return None
    body = literal[start.end() : len(literal) - len(start.group(2))]
    return None if "\\" in body else body
