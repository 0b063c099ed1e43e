"""A ``MigrationScript`` as one flat cache row, and back.

A script whose header is all literals and read without problems depends on
its own bytes only (``mergeguard.parse.header.is_self_contained``), so its
facts can be cached by blob id as one flat row and rebuilt without touching
the reader again (a warm run imports this module, not the reader).  The path
is not part of the row: the same blob may live at several paths.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sequence
from itertools import chain
from pathlib import PurePosixPath
from typing import TypeVar

from mergeguard.model import MigrationScript, Span, Spans

_V = TypeVar("_V")


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


# --------------------------------------------------------------------------- many rows as columns
#
# An environment record holds the rows of all its scripts (graph.cache_values),
# so a warm run decodes one small file instead of the whole parse cache: as
# columns, one JSON list per field, which decode several times faster than a
# list per script.  The fields that are nearly always the same are kept only
# where they differ: labels, dependencies and waivers where not empty, the
# docstring's ids where they differ from the header's, the rare incomplete
# script.  Spans are a small table (files of one template share them) and
# each script's index into it.


def scripts_to_columns(scripts: Sequence[MigrationScript]) -> dict[str, object]:
    """The rows of ``scripts``, as ``scripts_from_columns`` reads them back."""
    table: dict[tuple[int, ...], int] = {}
    span_of = [table.setdefault(tuple(_flat_spans(s.spans)), len(table)) for s in scripts]
    return {
        "revision": [s.revision for s in scripts],
        "down": [list(s.down_revisions) for s in scripts],
        "message": [s.message for s in scripts],
        "spans": [list(flat) for flat in table],
        "span_of": span_of,
        "labels": _sparse((i, list(s.branch_labels)) for i, s in enumerate(scripts)),
        "depends_on": _sparse((i, list(s.depends_on)) for i, s in enumerate(scripts)),
        "ignores": _sparse((i, list(s.ignores)) for i, s in enumerate(scripts)),
        "doc_id": [
            [i, s.doc_revision_id] for i, s in enumerate(scripts) if s.doc_revision_id != s.revision
        ],
        "doc_revises": [
            [i, None if s.doc_revises is None else list(s.doc_revises)]
            for i, s in enumerate(scripts)
            if s.doc_revises != s.down_revisions
        ],
        "incomplete": [i for i, s in enumerate(scripts) if not s.complete],
    }


def _sparse(items: Iterable[tuple[int, list[str]]]) -> list[list[object]]:
    return [[i, values] for i, values in items if values]


class Columns:
    """The columns of a record's rows, checked in type and size (the cache is
    untrusted input: the same bounds as ``script_from_row(..., bounded=True)``,
    checked a column at a time); ``fill`` builds the scripts.  Raises
    ValueError on anything a reader could not have written."""

    def __init__(self, data: object, count: int) -> None:
        if type(data) is not dict:
            raise ValueError("bad columns")
        self.revision = _texts(data.get("revision"), count, MAX_ROW_TEXT)
        self.message = _texts(data.get("message"), count, MAX_ROW_TEXT)
        self.down = _lists(data.get("down"), count, MAX_ROW_TEXT)
        table = data.get("spans")
        span_of = data.get("span_of")
        if type(table) is not list or len(table) > count + 1 or type(span_of) is not list:
            raise ValueError("bad spans")
        spans = [_spans_from_flat(flat) for flat in table]
        if not all(in_bounds for _, in_bounds in spans):
            raise ValueError("implausible spans")
        if len(span_of) != count or not set(map(type, span_of)) <= _INT:
            raise ValueError("bad spans")
        if span_of and not (0 <= min(span_of) and max(span_of) < len(spans)):
            raise ValueError("bad spans")
        self.spans = [spans[i][0] for i in span_of]
        self.labels = _by_index(data.get("labels"), count, MAX_ROW_TEXT)
        self.depends_on = _by_index(data.get("depends_on"), count, MAX_ROW_TEXT)
        self.ignores = _by_index(data.get("ignores"), count, _UNBOUNDED)
        self.doc_id = _exceptions(data.get("doc_id"), count, _doc_id)
        self.doc_revises = _exceptions(data.get("doc_revises"), count, _doc_revises)
        incomplete = data.get("incomplete")
        if type(incomplete) is not list or not set(map(type, incomplete)) <= _INT:
            raise ValueError("bad columns")
        self.incomplete = frozenset(incomplete)
        for i in {*self.labels, *self.depends_on, *self.ignores}:  # down alone: _lists
            items = len(self.down[i]) + len(self.labels.get(i, ()))
            items += len(self.depends_on.get(i, ())) + len(self.ignores.get(i, ()))
            if items > MAX_ROW_ITEMS:
                raise ValueError("implausible row")

    def fill(
        self,
        found: list[MigrationScript | None],
        entries: Sequence[tuple[str, str]],
        known: dict[tuple[str, str], MigrationScript],
        path_of: Callable[[str], PurePosixPath],
    ) -> list[MigrationScript]:
        """``found`` with each None, the i-th, replaced by the script of the
        i-th listed (path, blob) built from the i-th row (and added to ``known``,
        the run's scripts by (path, blob))."""
        revisions, downs, messages, spans = self.revision, self.down, self.message, self.spans
        labels, depends_on, ignores = self.labels, self.depends_on, self.ignores
        doc_id, doc_revises, incomplete = self.doc_id, self.doc_revises, self.incomplete
        for i, entry in enumerate(entries):
            if found[i] is None:
                revision, down = revisions[i], downs[i]
                found[i] = known[entry] = MigrationScript(  # by position: thousands are made
                    path_of(entry[0]),
                    revision,
                    down,
                    labels.get(i, ()),
                    depends_on.get(i, ()),
                    messages[i],
                    spans[i],
                    doc_id.get(i, revision),
                    doc_revises.get(i, down),
                    ignores.get(i, ()),
                    i not in incomplete,
                    entry[1],
                )
        return found  # type: ignore[return-value]  # each None replaced


_INT = frozenset({int})
_STR = frozenset({str})
_LIST = frozenset({list})


def _texts(data: object, count: int, longest: int) -> list[str]:
    """A column of strings (checked by C loops: it has a value per script)."""
    if type(data) is not list or len(data) != count:
        raise ValueError("bad column")
    if data and (not set(map(type, data)) <= _STR or max(map(len, data)) > longest):
        raise ValueError("bad column")
    return data


def _lists(data: object, count: int, longest: int) -> list[tuple[str, ...]]:
    """A column of string lists, as tuples."""
    if type(data) is not list or len(data) != count:
        raise ValueError("bad column")
    if data and (not set(map(type, data)) <= _LIST or max(map(len, data)) > MAX_ROW_ITEMS):
        raise ValueError("bad column")
    _texts(list(chain.from_iterable(data)), sum(map(len, data)), longest)
    return list(map(tuple, data))


def _by_index(data: object, count: int, longest: int) -> dict[int, tuple[str, ...]]:
    """A sparse column: [index, [strings]] pairs."""
    return _exceptions(data, count, lambda value: _strings(value, longest))


def _exceptions(data: object, count: int, check: Callable[[object], _V]) -> dict[int, _V]:
    """Index -> value of the scripts where a column differs from its default."""
    if type(data) is not list or len(data) > count:
        raise ValueError("bad column")
    found: dict[int, _V] = {}
    for item in data:
        if type(item) is not list or len(item) != 2 or type(item[0]) is not int:
            raise ValueError("bad column")
        if not 0 <= item[0] < count or item[0] in found:
            raise ValueError("bad column")
        found[item[0]] = check(item[1])
    return found


def _doc_id(value: object) -> str | None:
    if value is None or type(value) is str:
        return value
    raise ValueError("bad docstring id")


def _doc_revises(value: object) -> tuple[str, ...] | None:
    return None if value is None else _strings(value, _UNBOUNDED)
