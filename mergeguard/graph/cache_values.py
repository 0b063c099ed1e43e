"""What the parse cache holds for the reader, and the checks before a value is trusted.

Three kinds of value keyed by blob id: a script's row (``s:``), a module's
facts (``f:``) and a file's operations with its upgrade digest (``o3:``); and
the record of an environment read, keyed by a digest of its listing
(``EnvironmentRecord``, one file each: ``mergeguard.graph.cache_records``).
``mergeguard.graph.cache`` checks the file and the envelope of each row; the
value inside is checked here, in size and shape, before anything recursive
reads it: a value that fails is re-read from its blob, never trusted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import PurePosixPath

from mergeguard.codes import MG001, MG002, MG003, MG004, MG005, MG006, MG007, MG008
from mergeguard.model import Diagnostic, FileOperations, Location, Operation, Span, frozen
from mergeguard.parse.script_rows import MAX_ROW_ITEMS, MAX_ROW_POSITION, MAX_ROW_TEXT

ROW_KIND = "s:"
FACTS_KIND = "f:"
OPS_KIND = "o3:"  # o3: operations (read with ast since issue 12) and the upgrade digest

# Sizes a cached value may have; anything beyond them is re-read from its blob
# (the reader's own limits are lower, so a row it wrote always fits).  A
# script's row is checked against them where it is decoded
# (``script_from_row(..., bounded=True)``), in the same pass as its types.
MAX_FILE_TEXT = 16 * 1024 * 1024  # a docstring is at most a whole file
MAX_DIGEST = 128


MAX_FACTS_DEPTH = 100
MAX_FACTS_NODES = 100_000


def bounded_json(data: object) -> bool:
    """True when ``data`` nests at most ``MAX_FACTS_DEPTH`` levels and holds
    at most ``MAX_FACTS_NODES`` values, each string within ``MAX_FILE_TEXT``:
    checked without recursion, before anything recursive reads it."""
    todo: list[tuple[object, int]] = [(data, 0)]
    nodes = 0
    while todo:
        value, depth = todo.pop()
        nodes += 1
        if nodes > MAX_FACTS_NODES or depth > MAX_FACTS_DEPTH:
            return False
        if isinstance(value, str) and len(value) > MAX_FILE_TEXT:
            return False
        if isinstance(value, dict):
            todo.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list):
            todo.extend((item, depth + 1) for item in value)
    return True


def file_operations_to_json(read: FileOperations) -> dict[str, object]:
    return {"operations": operations_to_json(read.operations), "digest": read.upgrade_digest}


def file_operations_from_json(data: object) -> FileOperations:
    """Inverse of file_operations_to_json; raises ValueError on anything malformed."""
    digest = data.get("digest") if isinstance(data, dict) else None
    if not isinstance(data, dict) or not isinstance(digest, str) or len(digest) > MAX_DIGEST:
        raise ValueError("bad file operations")
    return FileOperations(operations_from_json(data.get("operations")), data["digest"])


def operations_to_json(operations: Sequence[Operation]) -> list[object]:
    return [
        [
            o.kind,
            o.table,
            o.name,
            o.schema,
            o.span.line,
            o.span.column,
            o.opaque,
            list(o.columns),
            [list(pair) for pair in o.detail],
            o.reason,
            o.function,
        ]
        for o in operations
    ]


def operations_from_json(data: object) -> tuple[Operation, ...]:
    """Inverse of operations_to_json; raises ValueError on anything malformed."""
    if not isinstance(data, list) or len(data) > MAX_ROW_ITEMS:
        raise ValueError("bad operations")
    found = []
    for row in data:
        kind, table, name, schema, line, column, opaque, columns, detail, reason, function = row
        texts = (kind, reason, function)
        optional = (table, name, schema)
        if (
            not all(isinstance(t, str) for t in texts)
            or not all(t is None or isinstance(t, str) for t in optional)
            or type(line) is not int
            or type(column) is not int
            or type(opaque) is not bool
            or not kind.isidentifier()
            or not function.isidentifier()
            or not function.startswith(("upgrade", "downgrade"))
            or not 0 < line <= MAX_ROW_POSITION
            or not 0 <= column <= MAX_ROW_POSITION
        ):
            raise ValueError("bad operation")
        pairs = tuple((str(k), str(v)) for k, v in detail)
        found.append(
            Operation(
                kind,
                table,
                name,
                schema,
                Span(line, column),
                opaque,
                tuple(str(c) for c in columns),
                pairs,
                reason,
                function,
            )
        )
    return tuple(found)


# --------------------------------------------------------------------------- environment records

MAX_RECORD_PROBLEMS = 10_000
_SEVERITIES = ("error", "warning")
# the codes a read of the files can report (the graph's are worked out anew)
_READ_CODES = {c.code: c for c in (MG001, MG002, MG003, MG004, MG005, MG006, MG007, MG008)}


@frozen
class EnvironmentRecord:
    """An environment read, by position in its listing (the concatenated
    (path, blob) entries of its version locations, which the record's key
    digests, so positions name the same files whenever the key matches).

    ``positions`` are the scripts' files in load order.  A script read with
    problems carries its row inline (``rows``, by position); the rows of all
    the others are ``columns``, in the order of their positions
    (``mergeguard.parse.script_rows.Columns`` checks and reads them), so a
    warm read decodes this record alone, not the parse cache's rows of every
    blob it ever saw.  ``problems`` are the read problems, without the
    environment name.
    """

    files: int  # how many version files were read
    positions: tuple[int, ...]
    rows: Mapping[int, object]
    problems: tuple[Diagnostic, ...]
    columns: Mapping[str, object]


def record_to_json(record: EnvironmentRecord) -> dict[str, object]:
    rows = record.rows
    return {
        "files": record.files,
        "scripts": [[pos, rows[pos]] if pos in rows else pos for pos in record.positions],
        "problems": [_diagnostic_to_json(d) for d in record.problems],
        "columns": record.columns,
    }


def record_from_json(data: object, listed: int) -> EnvironmentRecord:
    """Inverse of record_to_json for a listing of ``listed`` entries; raises
    ValueError on anything malformed (positions out of range or repeated)."""
    if type(data) is not dict:
        raise ValueError("bad record")
    files, scripts, problems = data.get("files"), data.get("scripts"), data.get("problems")
    columns = data.get("columns")
    if (
        type(columns) is not dict  # also a record of the positions only (before issue 12's end)
        or type(files) is not int
        or not 0 <= files <= listed
        or type(scripts) is not list
        or len(scripts) > files
        or type(problems) is not list
        or len(problems) > MAX_RECORD_PROBLEMS
    ):
        raise ValueError("bad record")
    rows: dict[int, object] = {}
    if set(map(type, scripts)) <= {int}:  # the common record: positions only
        positions = tuple(scripts)
    else:
        positions = tuple(_position(item, rows) for item in scripts)
    if positions and not (0 <= min(positions) and max(positions) < listed):
        raise ValueError("bad record position")
    if len(set(positions)) != len(positions):
        raise ValueError("repeated record position")
    problems_read = tuple(map(_diagnostic_from_json, problems))
    return EnvironmentRecord(files, positions, rows, problems_read, columns)


def _position(item: object, rows: dict[int, object]) -> int:
    """The position of one script of a record; an inline row goes to ``rows``."""
    if type(item) is int:
        return item
    pos, row = _inline(item)
    rows[pos] = row
    return pos


def _inline(item: object) -> tuple[int, object]:
    if type(item) is not list or len(item) != 2 or type(item[0]) is not int or item[1] is None:
        raise ValueError("bad record script")
    return item[0], item[1]


def _location_to_json(location: Location) -> list[object]:
    return [str(location.path), location.line, location.column]


def _location_from_json(data: object) -> Location:
    if (
        type(data) is not list
        or len(data) != 3
        or type(data[0]) is not str
        or not 0 < len(data[0]) <= MAX_ROW_TEXT
        or any(type(n) is not int or not 0 <= n <= MAX_ROW_POSITION for n in data[1:])
    ):
        raise ValueError("bad location")
    return Location(PurePosixPath(data[0]), data[1], data[2])


def _diagnostic_to_json(d: Diagnostic) -> list[object]:
    return [
        d.code,
        d.name,
        d.severity,
        d.message,
        None if d.location is None else _location_to_json(d.location),
        d.hint,
        list(d.revisions),
        [_location_to_json(r) for r in d.related],
    ]


def _diagnostic_from_json(data: object) -> Diagnostic:
    if type(data) is not list or len(data) != 8:
        raise ValueError("bad problem")
    code, name, severity, message, location, hint, revisions, related = data
    texts = (code, name, message) + (() if hint is None else (hint,))
    known = _READ_CODES.get(code) if type(code) is str else None
    if (
        not all(type(t) is str and len(t) <= MAX_FILE_TEXT for t in texts)
        or known is None
        or name != known.name  # a record names only the reader's own codes
        or severity not in _SEVERITIES
        or type(revisions) is not list
        or not all(type(r) is str and len(r) <= MAX_ROW_TEXT for r in revisions)
        or type(related) is not list
        or len(revisions) + len(related) > MAX_ROW_ITEMS
    ):
        raise ValueError("bad problem")
    return Diagnostic(
        code,
        name,
        "error" if severity == "error" else "warning",
        message,
        None if location is None else _location_from_json(location),
        hint,
        tuple(revisions),
        "",
        tuple(map(_location_from_json, related)),
    )
