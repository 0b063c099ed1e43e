"""Static reading of migration files: bytes in, facts out, nothing executed.

``read_module`` is the one entry point for a file's header facts.  It tries the
standard library's ``ast`` first (fast: the whole history goes through it on a
cold cache) and falls back to libcst where ``ast`` cannot parse; ``exact=True``
asks for libcst directly (files being reported on or rewritten).  Both give the
same ``ModuleFacts``.  Where neither can parse a file (Python 2 syntax, a
syntax error), ``parse.header_tokens`` reads its header from tokens when that is
unambiguous, so the revision keeps its place in the graph.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import replace
from pathlib import PurePosixPath

from mergeguard.parse.bounds import TOO_DEEP, check_size
from mergeguard.parse.parallel import Load, in_pieces
from mergeguard.parse.source import UnreadableSource, decode
from mergeguard.parse.values import ModuleFacts

__all__ = [
    "HeaderRead",
    "read_header",
    "read_module",
    "read_scripts",
    "ScriptOrFacts",
]

# A file's facts, and its script as a cache row (``parse.script_rows``) when
# reading the script needs nothing but the file: a header of literals, read
# without problems.  The row does not hold the path (the caller adds it).
HeaderRead = tuple[ModuleFacts, list[object] | None]
# ``read_scripts``'s form of it: the row alone when there is one, else the facts.
ScriptOrFacts = tuple[ModuleFacts | None, list[object] | None]
_ANY_PATH = PurePosixPath("migration.py")


def read_module(data: bytes, *, exact: bool = False) -> ModuleFacts:
    """The facts of one Python module; unreadable input gives ``error`` set
    (and, for a syntax error, the header when the tolerant reader recovers it)."""
    try:
        check_size(data)
        text = decode(data)
    except UnreadableSource as exc:
        return ModuleFacts(error=exc.message, error_span=exc.span)
    try:
        return _read_exact(text) if exact else _read_fast(text)
    except UnreadableSource as exc:
        return _unparsable(text, exc)


def _read_fast(text: str) -> ModuleFacts:
    from mergeguard.parse.header_ast import read_ast

    try:
        return read_ast(text)
    except UnreadableSource as ast_error:
        if ast_error.message.startswith(TOO_DEEP):
            raise  # libcst would crash where ast gave up on the nesting
        try:
            return _read_cst(text)
        except UnreadableSource:
            # ast's messages name the problem better ("Missing parentheses ...").
            raise ast_error from None


def _read_exact(text: str) -> ModuleFacts:
    """libcst's reading; where the text is nested too deeply for libcst, the
    ``ast`` reading (equal facts, and ``ast`` fails safely on any depth)."""
    try:
        return _read_cst(text)  # parse_module checks the nesting first
    except UnreadableSource as exc:
        if exc.message.startswith(TOO_DEEP):
            return _read_fast(text)
        raise


def _read_cst(text: str) -> ModuleFacts:
    from mergeguard.parse.header_cst import read_cst  # libcst only when needed

    return read_cst(text)


def _unparsable(text: str, problem: UnreadableSource) -> ModuleFacts:
    """Facts of a module no parser reads: the problem, plus the header the
    token-level reader recovers when it is unambiguous (else nothing)."""
    from mergeguard.parse.header_tokens import recover_header

    recovered = recover_header(text) or ModuleFacts()
    return replace(recovered, error=problem.message, error_span=problem.span)


def read_header(data: bytes) -> HeaderRead:
    """The whole per-file pipeline: facts, then (when it depends on the file
    alone and has no problems) the script as a row, as ``Reader.script_of``
    would cache it."""
    from mergeguard.parse.header import is_self_contained, read_script
    from mergeguard.parse.script_rows import script_to_row

    facts = read_module(data)
    if not is_self_contained(facts):
        return facts, None  # imported names: resolved by the caller, at its ref
    result = read_script(facts, _ANY_PATH)
    if result.script is None or result.diagnostics:
        return facts, None
    return facts, script_to_row(result.script)


def read_scripts(count: int, load: Load) -> Generator[ScriptOrFacts, None, None]:
    """``read_header`` of ``count`` sources, in order, each as ``(None, row)``
    when it gives a row (its facts then serve nothing more: the script is
    the row) and as ``(facts, None)`` otherwise; given as they are read.

    ``load(start, stop)`` gives the sources ``start:stop``.  A large batch
    is shared with forked children (``parse.parallel``), each loading and
    reading its own chunk.  What crosses back from a child is mostly rows,
    plain lists: pickling the facts (frozen dataclasses) both ways cost
    more than half of what a child saved."""
    for piece in in_pieces(_read_script_chunk, count, load):
        yield from piece


def _read_script_chunk(sources: list[bytes]) -> list[ScriptOrFacts]:
    found: list[ScriptOrFacts] = []
    for data in sources:
        facts, row = read_header(data)
        found.append((facts, None) if row is None else (None, row))
    return found
