"""The header reader's short cut: ``ast`` for the statements above the first
top-level ``def``, a syntax-only check for the rest.

Most of a migration's text is the bodies of ``upgrade()`` and ``downgrade()``,
and nothing in them can change the module's facts; yet building their
``ast`` objects is a third of a file's cost.  ``split_point`` finds the first
line that starts with ``def``/``class``; the text above it (the *head*) is
parsed with ``ast`` as usual, the rest (the *tail*) by the standard library's
``symtable``, which runs the same parser but builds no Python objects, only
the module's table of names.  The short cut is taken only when it is sure to
give the facts of the full parse; otherwise the caller parses the whole file.

Why the facts are the same (the argument the tests and the differential fuzz
hold):

- The head is a prefix of the text, so its statements, lines and columns are
  those of the full parse.  If the split line were not the start of a
  top-level statement (inside a string, brackets, a backslash continuation,
  or a decorator's ``def``), the head would end in the middle of a statement
  and fail to parse: no short cut.
- Python's parser reads a file as a sequence of top-level statements, and a
  ``def``/``class`` line cannot continue the statement before it (no
  ``else``/``except`` starts with ``def``); so the file parses exactly when the
  head and the tail each do.  ``symtable`` checks more than the parser
  (future imports, ``nonlocal`` at module level): any error is no short cut.
- The tail's statements add facts only by binding module-level names (the
  reader's events are imports, assignments, ``del``, ``+=``, names bound in
  compound statements and defs of header names; a name anywhere in an
  assignment target counts as bound, ``d[revision] = 1`` too, where symtable
  sees a reference).  ``symtable`` lists every name the tail binds or refers
  to at module level; the short cut requires each to be a
  ``def``/``class`` of a name that is not a header name and is spelled exactly
  once in the tail, on its own ``def`` line, so no other statement binds it
  (a top-level ``def`` of another name yields no event).  Identifiers are
  compared as spelled, so text that is not ASCII (NFKC-equal spellings) takes
  the full parse.
- The docstring is the first statement: in the head when the head has any.

Only ``from __future__ import barry_as_FLUFL`` changes how later code parses;
a file naming it takes the full parse.
"""

from __future__ import annotations

import ast
import re
import symtable

from mergeguard.parse.values import HEADER_NAMES

# A top-level definition: at the start of a line, so not indented.  Each
# pattern starts with a literal newline, which the regex engine finds fast.
_DEFINITION = re.compile(r"\n(?:async[ \t]+)?(?:def|class)[ \t]")
_DEFINED_NAME = re.compile(r"\n(?:async[ \t]+)?(?:def|class)[ \t]+([A-Za-z_][A-Za-z0-9_]*)")
_IDENTIFIER_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
# Below this many characters of tail the two parses cost more than one.
_MIN_TAIL = 200


def split_point(text: str) -> int | None:
    """Offset of the first top-level ``def``/``class`` line, when the short
    cut may be tried there (else None: the full parse)."""
    if not text.isascii() or "barry_as_FLUFL" in text:
        return None
    match = _DEFINITION.search(text)
    if match is None or len(text) - match.start() < _MIN_TAIL:
        return None  # (a file that starts with ``def`` has no header: no gain)
    return match.start() + 1


def parse_head(text: str, split: int) -> ast.Module | None:
    """The ``ast`` of the head and the tail checked, or None when the short
    cut cannot be sure (then parse the whole text)."""
    head = text[:split]
    try:
        module = ast.parse(head)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None  # the full parse reports it, with its own wording
    # Blank lines in place of the head keep line numbers (and so any
    # SyntaxWarning the parser prints) as in the full parse.
    if not tail_is_definitions(head.count("\n") * "\n" + text[split:]):
        return None
    return module


def tail_is_definitions(tail: str) -> bool:
    """True when ``tail`` parses and binds no module-level name other than
    its top-level ``def``/``class`` statements of non-header names."""
    try:
        table = symtable.symtable(tail, "<unknown>", "exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    defined = set(_DEFINED_NAME.findall(tail))  # the tail starts after a newline
    for symbol in table.get_symbols():
        # every module-level name counts, referenced ones too: the full reader
        # treats a name inside an assignment target (``d[revision] = 1``) as
        # rebound, where symtable sees only a reference
        name = symbol.get_name()
        if name in HEADER_NAMES or name not in defined or _spellings(name, tail) != 1:
            return False
    return True


def _spellings(name: str, text: str) -> int:
    """How often the identifier ``name`` occurs in ``text`` as a whole word."""
    count = 0
    at = text.find(name)
    while at >= 0:
        end = at + len(name)
        before = text[at - 1] if at else " "
        after = text[end] if end < len(text) else " "
        if before not in _IDENTIFIER_CHARS and after not in _IDENTIFIER_CHARS:
            count += 1
        at = text.find(name, end)
    return count
