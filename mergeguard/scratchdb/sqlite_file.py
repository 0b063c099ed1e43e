"""Scratch databases in SQLite files: a new file mergeguard owns, or the user's empty one.

A file the user brought is checked through a read-only connection, so a
refused file is not written to at all (not even a journal).  A file mergeguard
created is deleted when dropped; a file the user brought (empty) is emptied
again and kept.

sqlalchemy is imported inside functions only: importing this module is cheap.
"""

from __future__ import annotations

import sqlite3
import urllib.parse
from pathlib import Path
from typing import TYPE_CHECKING

from mergeguard.errors import MergeguardError
from mergeguard.scratchdb.urls import mask

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

SQLITE_SIDECARS = ("-journal", "-wal", "-shm")
NEW_OR_EMPTY_HINT = "pass a new file or an empty database"


class SqliteFile:
    """A SQLite file: deleted if mergeguard created it, else only emptied."""

    def __init__(self, path: Path, owned: bool) -> None:
        self.path = path
        self.owned = owned

    def reset(self) -> None:
        if self.owned:
            self._delete()
            claim(self.path)
        else:
            empty_sqlite(self.path)

    def drop(self) -> None:
        if self.owned:
            self._delete()
        elif self.path.exists():
            empty_sqlite(self.path)

    def _delete(self) -> None:
        for suffix in ("", *SQLITE_SIDECARS):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)


def sqlite_path(parsed: URL, url: str) -> Path:
    """The absolute file a SQLite URL names (the worker runs elsewhere); refuses memory."""
    database = parsed.database or ""
    if database in ("", ":memory:") or parsed.query.get("mode") == "memory":
        raise MergeguardError(
            f"{mask(url)} is an in-memory SQLite database; the migrations run in another process",
            hint="pass a file: sqlite:///path/to/scratch.sqlite",
        )
    if database.startswith("file:") or "uri" in parsed.query:
        raise MergeguardError(
            f"{mask(url)}: SQLite URI filenames are not supported",
            hint="pass a plain file: sqlite:///path/to/scratch.sqlite",
        )
    return Path(database).expanduser().resolve()


def sqlite_url(drivername: str, path: Path) -> str:
    from sqlalchemy.engine import URL

    return URL.create(drivername, database=str(path)).render_as_string(hide_password=False)


def check_new_or_empty(path: Path) -> bool:
    """True when ``path`` does not exist (mergeguard will own it); refuses one with tables."""
    if not path.exists():
        if not path.parent.is_dir():
            raise MergeguardError(f"{path.parent} is not a directory", hint=NEW_OR_EMPTY_HINT)
        return True
    if not path.is_file():
        raise MergeguardError(f"{path} is not a file", hint=NEW_OR_EMPTY_HINT)
    tables = sqlite_tables(path)
    if tables:
        shown = ", ".join(tables[:5]) + (", ..." if len(tables) > 5 else "")
        raise MergeguardError(
            f"{path} holds {len(tables)} table(s) ({shown}); mergeguard never writes to it",
            hint=NEW_OR_EMPTY_HINT,
        )
    return False


def sqlite_tables(path: Path) -> list[str]:
    """Names of the tables and views in ``path``, read through a read-only connection."""
    uri = f"file:{urllib.parse.quote(str(path))}?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True)
        try:
            rows = conn.execute(
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')"
                " AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
            ).fetchall()
        finally:
            conn.close()
    except sqlite3.Error as error:
        raise MergeguardError(
            f"cannot read {path} as a SQLite database: {error}", hint=NEW_OR_EMPTY_HINT
        ) from None
    return [str(name) for (name,) in rows]


def empty_sqlite(path: Path) -> None:
    """Drop every view, table and trigger in the user's file, leaving the file itself."""
    conn = sqlite3.connect(str(path), isolation_level=None)
    try:
        conn.execute("PRAGMA foreign_keys = OFF")
        objects = conn.execute(
            "SELECT type, name FROM sqlite_master WHERE type IN ('view', 'table', 'trigger')"
            " AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY type = 'table'"
        ).fetchall()
        for kind, name in objects:
            quoted = '"' + str(name).replace('"', '""') + '"'
            conn.execute(f"DROP {str(kind).upper()} IF EXISTS {quoted}")
        if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'").fetchone():
            conn.execute("DELETE FROM sqlite_sequence")
        conn.execute("VACUUM")
    finally:
        conn.close()


def claim(path: Path) -> None:
    """Create ``path`` as an empty file (an empty SQLite database); fails if it exists."""
    try:
        with open(path, "xb"):
            pass
    except OSError as error:
        raise MergeguardError(
            f"cannot create {path}: {error.strerror}", hint=NEW_OR_EMPTY_HINT
        ) from None
