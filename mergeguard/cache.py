"""Parse results keyed by content (a git blob id plus whatever the caller adds).

One JSON file per repository, under its common git directory, shared by all
worktrees.  The file is untrusted input: it is read with ``json`` only (never
pickle or marshal), and anything unexpected in it (not JSON, another format
or namespace, the wrong shape) makes the cache start empty and be rewritten on
the next save.  The cache is an optimisation: failing to read or write it is
never an error.

``namespace`` versions the stored values (e.g. the header reader's version):
values written by another reader are ignored rather than misread.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

FORMAT = 1
MAX_ENTRIES = 200_000
NO_CACHE_ENV = "MERGEGUARD_NO_CACHE"


def default_cache_path(common_dir: Path) -> Path:
    """Where a repository keeps its cache: ``<common git dir>/mergeguard/cache-v1.json``.

    Under the common directory so linked worktrees share one cache.
    """
    return common_dir / "mergeguard" / "cache-v1.json"


def cache_disabled() -> bool:
    """True when ``MERGEGUARD_NO_CACHE`` asks for no on-disk cache (benchmarks)."""
    return os.environ.get(NO_CACHE_ENV, "").strip() not in ("", "0")


class ParseCache:
    """A content-keyed store of JSON-compatible values, loaded lazily, saved atomically.

    ``path=None`` (or ``MERGEGUARD_NO_CACHE=1``) keeps it in memory only.
    Values come back from ``get`` as JSON gives them on a later run (tuples
    become lists), so callers should store lists, dicts, strings, numbers,
    booleans; a stored ``null`` reads as a miss.
    """

    def __init__(self, path: Path | None, namespace: str) -> None:
        self.path = None if cache_disabled() else path
        self.namespace = namespace
        self._entries: dict[str, object] | None = None
        self._touched: set[str] = set()
        self._dirty = False

    def __len__(self) -> int:
        return len(self._load())

    def get(self, key: str) -> object | None:
        """The value stored under ``key``, or None on a miss."""
        value = self._load().get(key)
        if value is not None:
            self._touched.add(key)
        return value

    def put(self, key: str, value: object) -> None:
        """Store ``value`` (JSON-compatible) under ``key``; saved by ``save()``."""
        entries = self._load()
        self._touched.add(key)
        if entries.get(key) != value:
            entries[key] = value
            self._dirty = True

    def save(self) -> None:
        """Write the cache atomically when it changed; any OS failure is ignored.

        Beyond ``MAX_ENTRIES`` only the entries used in this run are kept, so
        the file stays bounded however many histories pass through it.
        """
        if self.path is None or not self._dirty or self._entries is None:
            return
        entries = self._entries
        if len(entries) > MAX_ENTRIES:
            entries = {k: v for k, v in entries.items() if k in self._touched}
        document = {"format": FORMAT, "namespace": self.namespace, "entries": entries}
        text = json.dumps(document, separators=(",", ":"))
        if _write_atomically(self.path, text):
            self._entries = entries
            self._dirty = False

    def _load(self) -> dict[str, object]:
        """The entries, read from disk on first use (empty if absent or untrusted)."""
        if self._entries is None:
            self._entries, self._dirty = _read_entries(self.path, self.namespace)
        return self._entries


def _read_entries(path: Path | None, namespace: str) -> tuple[dict[str, object], bool]:
    """The entries of the cache file and whether it must be rewritten.

    A missing file is simply empty; a file that exists but is not a cache of
    this format and namespace is empty too, and marked for rewriting.
    """
    if path is None:
        return {}, False
    try:
        raw = path.read_bytes()
    except OSError:
        return {}, False
    try:
        document = json.loads(raw)
    except (ValueError, RecursionError):
        return {}, True
    entries = _valid_entries(document, namespace)
    return (entries, False) if entries is not None else ({}, True)


def _valid_entries(document: object, namespace: str) -> dict[str, object] | None:
    """The ``entries`` mapping when ``document`` is a cache of ours, else None."""
    if not isinstance(document, dict):
        return None
    if document.get("format") != FORMAT or document.get("namespace") != namespace:
        return None
    entries = document.get("entries")
    return entries if isinstance(entries, dict) else None


def _write_atomically(path: Path, text: str) -> bool:
    """True when ``text`` replaced ``path`` whole (temp file + rename); False on failure."""
    tmp_name: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp_name, path)
        return True
    except OSError:
        if tmp_name is not None:
            try:
                os.unlink(tmp_name)
            except OSError:
                pass
        return False
