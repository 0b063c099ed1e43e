"""Static reading of migration files: bytes in, facts out, nothing executed.

``read_module`` is the one entry point for a file's header facts.  It tries the
standard library's ``ast`` first (fast: the whole history goes through it on a
cold cache) and falls back to libcst where ``ast`` cannot parse; ``exact=True``
asks for libcst directly (files being reported on or rewritten).  Both give the
same ``ModuleFacts``.
"""

from __future__ import annotations

from mergeguard.parse.reader import READER_VERSION, UnreadableSource, decode
from mergeguard.parse.values import ModuleFacts

__all__ = ["READER_VERSION", "read_module"]


def read_module(data: bytes, *, exact: bool = False) -> ModuleFacts:
    """The facts of one Python module; unreadable input gives ``error`` set."""
    try:
        text = decode(data)
    except UnreadableSource as exc:
        return ModuleFacts(error=exc.message, error_span=exc.span)
    if exact:
        return _read_cst(text)
    from mergeguard.parse.read_ast import read_ast

    try:
        return read_ast(text)
    except UnreadableSource as ast_error:
        facts = _read_cst(text)
        if facts.error is not None:
            # ast's messages name the problem better ("Missing parentheses ...").
            return ModuleFacts(error=ast_error.message, error_span=ast_error.span)
        return facts


def _read_cst(text: str) -> ModuleFacts:
    from mergeguard.parse.read_cst import read_cst  # libcst only when needed

    try:
        return read_cst(text)
    except UnreadableSource as exc:
        return ModuleFacts(error=exc.message, error_span=exc.span)
