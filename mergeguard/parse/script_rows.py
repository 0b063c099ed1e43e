"""A ``MigrationScript`` as one flat cache row, and back.

A script whose header is all literals and read without problems depends on
its own bytes only (``mergeguard.parse.header.is_self_contained``), so its
facts can be cached by blob id as one flat row and rebuilt without touching
the reader again (a warm run imports this module, not the reader).  The path
is not part of the row: the same blob may live at several paths.
"""

from __future__ import annotations

import sys
from pathlib import PurePosixPath

from mergeguard.model import MigrationScript, Span, Spans


def _flat_spans(spans: Spans) -> list[int]:
    """The seven spans as fourteen ints (0, 0 for a missing one)."""
    flat: list[int] = []
    for span in (
        spans.revision,
        spans.down_revision,
        spans.branch_labels,
        spans.depends_on,
        spans.docstring,
        spans.doc_revision_id,
        spans.doc_revises,
    ):
        flat.extend((span.line, span.column) if span else (0, 0))
    return flat


# Sizes a cached row may have (``script_from_row(..., bounded=True)``); a row
# beyond them is re-read from its blob (the reader's own limits are lower, so
# a row it wrote always fits).
MAX_ROW_TEXT = 64 * 1024
MAX_ROW_ITEMS = 10_000
MAX_ROW_POSITION = 10_000_000
_UNBOUNDED = sys.maxsize

# flat spans -> (Spans, whether every position is within bounds)
_SPANS: dict[tuple[int, ...], tuple[Spans, bool]] = {}


def _spans_from_flat(flat: object) -> tuple[Spans, bool]:
    """Spans from their flat row, and whether its positions are within
    ``MAX_ROW_POSITION``; files of one template share line numbers, so equal
    Spans are built and checked once per run and shared (they are immutable).
    A row equal to one already checked needs no second check."""
    if type(flat) is not list or len(flat) != 14:
        raise ValueError("bad spans")
    key = tuple(flat)
    found = _SPANS.get(key)
    if found is None:
        for x in flat:
            if type(x) is not int:
                raise ValueError("bad spans")
        pairs = [Span(flat[i], flat[i + 1]) if flat[i] else None for i in range(0, 14, 2)]
        in_bounds = min(flat) >= 0 and max(flat) <= MAX_ROW_POSITION
        found = _SPANS[key] = (Spans(*pairs), in_bounds)
    return found


def script_to_row(script: MigrationScript) -> list[object]:
    return [
        script.revision,
        list(script.down_revisions),
        list(script.branch_labels),
        list(script.depends_on),
        script.message,
        _flat_spans(script.spans),
        script.doc_revision_id,
        None if script.doc_revises is None else list(script.doc_revises),
        list(script.ignores),
        script.complete,
    ]


def _strings(data: object, longest: int) -> tuple[str, ...]:
    """A list of strings as a tuple; each at most ``longest`` characters."""
    if type(data) is not list:
        raise ValueError("bad string list")
    if not data:
        return ()  # most lists of a row are empty
    for x in data:
        if type(x) is not str or len(x) > longest:
            raise ValueError("bad string list")
    return tuple(data)


def script_from_row(
    row: object, path: PurePosixPath, blob: str, *, bounded: bool = False
) -> MigrationScript:
    """Inverse of script_to_row; raises ValueError on a damaged row (the cache
    is untrusted input: every field is type-checked).  ``bounded``: also on a
    row whose sizes and positions no reader could have produced (beyond
    ``MAX_ROW_TEXT``, ``MAX_ROW_ITEMS``, ``MAX_ROW_POSITION``), checked in
    the same pass (a warm run makes thousands)."""
    if type(row) is not list or len(row) != 10:
        raise ValueError("bad row")
    revision, down, labels, deps, message, flat, doc_id, doc_revs, ignores, complete = row
    if (
        type(revision) is not str
        or type(message) is not str
        or type(complete) is not bool
        or not (doc_id is None or type(doc_id) is str)
    ):
        raise ValueError("bad row")
    spans, in_bounds = _spans_from_flat(flat)
    longest = MAX_ROW_TEXT if bounded else _UNBOUNDED
    # by position, in MigrationScript's field order: a warm run makes thousands,
    # and keyword arguments cost a fifth of each
    script = MigrationScript(
        path,
        revision,
        _strings(down, longest),
        _strings(labels, longest),
        _strings(deps, longest),
        message,
        spans,
        doc_id,
        None if doc_revs is None else _strings(doc_revs, _UNBOUNDED),
        _strings(ignores, _UNBOUNDED),
        complete,
        blob,
    )
    if bounded and (
        not in_bounds
        or len(revision) > MAX_ROW_TEXT
        or len(message) > MAX_ROW_TEXT
        or len(script.down_revisions)
        + len(script.branch_labels)
        + len(script.depends_on)
        + len(script.ignores)
        > MAX_ROW_ITEMS
    ):
        raise ValueError("implausible row")
    return script
