"""Static reading of migration files: bytes in, facts out, nothing executed.

``read_module`` is the one entry point for a file's header facts.  It tries the
standard library's ``ast`` first (fast: the whole history goes through it on a
cold cache) and falls back to libcst where ``ast`` cannot parse; ``exact=True``
asks for libcst directly (files being reported on or rewritten).  Both give the
same ``ModuleFacts``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from mergeguard.parse.reader import READER_VERSION, UnreadableSource, decode
from mergeguard.parse.values import ModuleFacts

__all__ = ["READER_VERSION", "read_module", "read_modules"]

# Below this many files a second process costs more than it saves.
PARALLEL_THRESHOLD = 400


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


def read_modules(sources: Sequence[bytes]) -> list[ModuleFacts]:
    """``read_module`` of each source, in order; large batches (a cold cache)
    are split between this process and forked workers, one per extra core."""
    workers = _usable_cores() - 1
    if len(sources) < PARALLEL_THRESHOLD or workers < 1 or sys.platform != "linux":
        return [read_module(data) for data in sources]
    import multiprocessing

    size = -(-len(sources) // (workers + 1))
    chunks = [list(sources[i : i + size]) for i in range(0, len(sources), size)]
    with multiprocessing.get_context("fork").Pool(processes=len(chunks) - 1) as pool:
        pending = pool.map_async(_read_chunk, chunks[1:])
        mine = _read_chunk(chunks[0])
        theirs = pending.get()
    return mine + [facts for chunk in theirs for facts in chunk]


def _read_chunk(sources: list[bytes]) -> list[ModuleFacts]:
    return [read_module(data) for data in sources]


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1
